// C-ABI edge cases: the module's C ABI contract and bugs other allocators shipped, each as its own
// named test, run on every build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  BUILDS, C_ABI_BUILDS, C_ONLY_BUILDS, PAGE, EINVAL, ENOMEM, SBRK_FAIL, STATS_SIZE, STATS_VERSION,
  buildPath, createInstance, Rng, hex, fillPattern, findPatternMismatch,
  warmPages,
} from './lib/instance.js';
import { Shadow } from './lib/shadow.js';

const GiB4 = 2 ** 32;
const SENTINEL = 0xdeadbeef;

/** Requests no wasm32 heap that starts at or above 64 KiB can ever meet (even with a 4 GiB memory). */
const NEAR_4G = [
  0xffffffff, 0xfffffffe, 0xfffffffc, 0xfffffff8, 0xfffffff1, 0xfffffff0, 0xffffffef, 0xffffffe0,
  0xffffff00, 0xfffff000, 0xffff0001, 0xffff0000,
];
/** Requests beyond a memory capped at 256 pages (16 MiB), including ones that overflow when rounded. */
const BEYOND_16M = [
  ...NEAR_4G, 0xfffeffff, 0xfffe0001, 0xf0000000, 0x80000001, 0x80000000, 0x7fffffff, 0x7ffffff0,
  0x40000000, 0x10000000, 0x01000001, 0x01000000,
];

function assertCheck(r, ctx) {
  const code = r.check();
  assert.equal(code, 0, `ralloc_check() returned ${code} ${ctx}`);
}

/** Assert a no-throw, no-growth call; returns its result. */
function noGrow(r, what, fn) {
  const before = r.memBytes();
  let res;
  try {
    res = fn();
  } catch (e) {
    assert.fail(`${what} trapped: ${e.message}`);
  }
  assert.equal(r.memBytes(), before, `${what} grew memory from ${before} to ${r.memBytes()} bytes`);
  return res;
}

/** Start the heap (its first claim of memory) so that later no-growth checks see a running heap. */
function warm(r) {
  r.free(r.malloc(1));
  return r;
}

/** Blocks sorted by address must not overlap (extent = usable size, at least 1). */
function assertDisjoint(r, ptrs, ctx = '') {
  const spans = ptrs.map((p) => [p, p + Math.max(1, r.usableSize(p))]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    assert.ok(spans[i - 1][1] <= spans[i][0], `blocks ${hex(spans[i - 1][0])} and ${hex(spans[i][0])} overlap ${ctx}`);
}

/** A deterministic mixed workload over a shadow model; returns the shadow with what is still live. */
function workload(r, seed, ops, { maxSize = 5000, shadow = new Shadow(r), keepAtEnd = true } = {}) {
  const rng = new Rng(seed);
  for (let i = 0; i < ops; i++) {
    const k = rng.below(10);
    if (shadow.count > 0 && k < 4) {
      const b = shadow.randomLive(rng);
      shadow.remove(b.ptr);
      r.free(b.ptr);
    } else if (shadow.count > 0 && k < 6) {
      const b = shadow.randomLive(rng);
      const n = rng.range(1, maxSize);
      shadow.verify(b, 'before realloc');
      const q = r.realloc(b.ptr, n);
      assert.notEqual(q, 0, `realloc(${hex(b.ptr)}, ${n}) failed in a workload with room to grow`);
      shadow.moved(b, q, n);
    } else if (k < 7) {
      const n = rng.range(0, maxSize);
      shadow.add(r.calloc(1, n), n, 16, { zeroed: true, what: 'calloc' });
    } else if (k < 8) {
      const a = 1 << rng.range(4, 12);
      const n = rng.range(1, maxSize);
      shadow.add(r.alignedAlloc(a, n), n, a, { what: 'aligned_alloc' });
    } else {
      const n = rng.range(0, maxSize);
      shadow.add(r.malloc(n), n, 16, { what: 'malloc' });
    }
  }
  shadow.verifyAll('end of workload');
  if (!keepAtEnd) {
    for (const p of [...shadow.sorted]) {
      shadow.remove(p);
      r.free(p);
    }
  }
  return shadow;
}

for (const build of C_ABI_BUILDS) {
  describe(`C ABI edge cases: ${build}`, () => {
    if (!existsSync(buildPath(build))) {
      it(`build/${build}.wasm exists (run node scripts/build.js)`, () => assert.fail(`missing ${buildPath(build)}`));
      return;
    }
    const mk = (opts = {}) => createInstance(build, { initial: 1, maximum: 256, ...opts });

    // ---- the module's shape ------------------------------------------------------------------
    describe('module shape', () => {
      it('exports the whole C ABI and ralloc_init/check/stats as functions', () => {
        const r = mk();
        for (const name of ['malloc', 'free', 'realloc', 'calloc', 'aligned_alloc', 'posix_memalign', 'memalign',
          'malloc_usable_size', 'sbrk', 'ralloc_init', 'ralloc_check', 'ralloc_stats'])
          assert.equal(typeof r.exports[name], 'function', `export ${name}`);
      });

      it('imports env.memory and nothing but optional function hooks', () => {
        const r = mk();
        const imps = WebAssembly.Module.imports(r.module);
        assert.ok(imps.some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory'), 'env.memory import');
        for (const i of imps) if (!(i.module === 'env' && i.name === 'memory')) assert.equal(i.kind, 'function', `${i.module}.${i.name}`);
      });

      it('links against a memory of 0 pages (env.memory declares minimum 0)', () => {
        const r = mk({ initial: 0 });
        assert.equal(r.memBytes(), 0);
      });

      it('writes nothing into memory at instantiation (no data segments, no start side effects)', () => {
        const memory = new WebAssembly.Memory({ initial: 2, maximum: 16 });
        const u8 = new Uint8Array(memory.buffer);
        for (let i = 0; i < u8.length; i++) u8[i] = (i * 7 + 3) & 0xff;
        createInstance(build, { memory });
        const after = new Uint8Array(memory.buffer);
        assert.equal(after.length, 2 * PAGE, 'memory size changed at instantiation');
        for (let i = 0; i < after.length; i++) if (after[i] !== ((i * 7 + 3) & 0xff)) assert.fail(`byte ${hex(i)} changed at instantiation`);
      });
    });

    // ---- malloc(0), free(0), realloc ----------------------------------------------------------
    describe('malloc / free / realloc', () => {
      it('malloc(0) returns unique, 16-aligned, non-null pointers that can be freed', () => {
        const r = mk();
        const ps = [];
        for (let i = 0; i < 200; i++) ps.push(r.malloc(0));
        for (const p of ps) {
          assert.notEqual(p, 0, 'malloc(0) returned null');
          assert.equal(p % 16, 0, `malloc(0) -> ${hex(p)} not 16-aligned`);
        }
        assert.equal(new Set(ps).size, ps.length, 'malloc(0) returned the same pointer twice while live');
        assertDisjoint(r, ps, 'among malloc(0) blocks');
        const s0 = r.stats();
        assert.equal(s0.liveBlocks, 200, 'live_blocks counts malloc(0) blocks');
        for (const p of ps) r.free(p);
        assertCheck(r, 'after freeing 200 malloc(0) blocks');
        assert.equal(r.stats().liveBlocks, 0);
        assert.equal(r.stats().bytesInUse, 0);
      });

      it('free(0) does nothing', () => {
        const r = mk();
        const keep = r.malloc(100);
        fillPattern(r, keep, 100, 7);
        const before = r.stats();
        const mem = r.memBytes();
        for (let i = 0; i < 10; i++) r.free(0);
        const after = r.stats();
        assert.equal(after.bytesInUse, before.bytesInUse);
        assert.equal(after.liveBlocks, before.liveBlocks);
        assert.equal(r.memBytes(), mem);
        assert.equal(findPatternMismatch(r, keep, 100, 7), -1, 'free(0) changed a live block');
        assertCheck(r, 'after free(0)');
        assert.notEqual(r.malloc(10), 0, 'malloc after free(0)');
      });

      it('realloc(0, n) behaves as malloc(n)', () => {
        const r = mk();
        const sh = new Shadow(r);
        for (const n of [1, 16, 100, 1000, 70000]) {
          const live = r.stats().liveBlocks;
          const p = r.realloc(0, n);
          sh.add(p, n, 16, { what: 'realloc(0, n)' });
          assert.equal(r.stats().liveBlocks, live + 1, `realloc(0, ${n}) did not create a live block`);
        }
        sh.verifyAll();
        for (const p of [...sh.sorted]) { sh.remove(p); r.free(p); }
        assertCheck(r, 'after freeing realloc(0, n) blocks');
      });

      it('realloc(0, 0) does not trap and gives a freeable result', () => {
        const r = mk();
        const p = r.realloc(0, 0);
        if (p !== 0) {
          assert.equal(p % 16, 0);
          r.free(p);
        }
        assertCheck(r, 'after realloc(0, 0)');
      });

      it('realloc(p, 0) frees p and returns 0', () => {
        const r = mk();
        const base = r.stats();
        const p = r.malloc(100);
        assert.equal(r.realloc(p, 0), 0, 'realloc(p, 0) must return 0');
        const s = r.stats();
        assert.equal(s.liveBlocks, base.liveBlocks, 'realloc(p, 0) left p live');
        assert.equal(s.bytesInUse, base.bytesInUse, 'realloc(p, 0) left bytes in use');
        assertCheck(r, 'after realloc(p, 0)');
      });

      it('realloc(p, 0) makes the block reusable: 20000 rounds of malloc + realloc(p, 0) do not grow memory', () => {
        const r = mk({ maximum: 64 });
        for (const n of [24, 200, 3000, 100000]) {
          r.realloc(r.malloc(n), 0);
          const mem = r.memBytes();
          for (let i = 0; i < 5000; i++) {
            const p = r.malloc(n);
            assert.notEqual(p, 0, `malloc(${n}) failed at round ${i}: realloc(p, 0) leaked`);
            assert.equal(r.realloc(p, 0), 0);
          }
          assert.equal(r.memBytes(), mem, `memory grew while cycling malloc(${n}) / realloc(p, 0)`);
        }
        assertCheck(r, 'after realloc(p, 0) cycles');
      });

      it('a failed realloc returns 0 and leaves p live, in place and unchanged', () => {
        const r = mk({ maximum: 4 });
        for (const n of [1000, 40, 30000]) {
          const p = r.malloc(n);
          const fence = r.malloc(64); // keeps p from growing in place into the top of the heap
          fillPattern(r, p, n, n);
          const usable = r.usableSize(p);
          for (const big of [5 * PAGE, 4 * PAGE, 0x7fffffff, 0xfffffff0, 0xffffffff]) {
            const q = noGrow(r, `realloc(p, ${hex(big)}) on a 4-page memory`, () => r.realloc(p, big));
            assert.equal(q, 0, `realloc(p, ${hex(big)}) must fail on a 4-page memory`);
            assert.equal(findPatternMismatch(r, p, n, n), -1, `contents of p changed by a failed realloc to ${hex(big)}`);
            assert.equal(r.usableSize(p), usable, 'usable size of p changed by a failed realloc');
            assertCheck(r, `after failed realloc(${hex(p)}, ${hex(big)})`);
          }
          const q = r.realloc(p, n + 16);
          assert.notEqual(q, 0, 'p still reallocs after a failed realloc');
          assert.equal(findPatternMismatch(r, q, n, n), -1);
          r.free(q);
          r.free(fence);
        }
        assertCheck(r, 'end');
        assert.equal(r.stats().liveBlocks, 0);
      });

      it('realloc keeps contents when growing, shrinking and moving', () => {
        const r = mk({ maximum: 512 });
        const sh = new Shadow(r);
        const rng = new Rng(5);
        for (let i = 0; i < 40; i++) {
          const n = rng.range(1, 300);
          sh.add(r.malloc(n), n);
        }
        for (let round = 0; round < 400; round++) {
          const b = sh.randomLive(rng);
          const n = rng.chance(0.5) ? rng.range(1, 400) : rng.range(1, 200000);
          sh.verify(b, 'before realloc');
          const q = r.realloc(b.ptr, n);
          sh.moved(b, q, n);
          if (round % 50 === 0) assertCheck(r, `after realloc round ${round}`);
        }
        sh.verifyAll();
        assertCheck(r, 'end');
      });
    });

    // ---- calloc ------------------------------------------------------------------------------
    describe('calloc', () => {
      it('calloc memory reads zero on a fresh heap', () => {
        const r = mk();
        const sh = new Shadow(r);
        for (const [n, s] of [[1, 1], [10, 10], [3, 333], [1, 4096], [100, 1000], [1, 300000]])
          sh.add(r.calloc(n, s), n * s, 16, { zeroed: true, what: `calloc(${n}, ${s})` });
      });

      it('calloc zeroes reused dirty memory', () => {
        const r = mk({ maximum: 512 });
        const sizes = [1, 8, 12, 13, 16, 24, 100, 256, 1000, 1024, 4000, 65536, 70000, 300000];
        for (let round = 0; round < 6; round++) {
          const ps = sizes.map((n) => r.malloc(n));
          ps.forEach((p, i) => r.fill(p, r.usableSize(p), 0xff));
          for (const p of ps) r.free(p);
          const sh = new Shadow(r);
          for (const n of sizes) sh.add(r.calloc(1, n), n, 16, { zeroed: true, what: 'calloc after dirty free' });
          for (const n of sizes) sh.add(r.calloc(n, 1), n, 16, { zeroed: true, what: 'calloc(n, 1) after dirty free' });
          for (const p of [...sh.sorted]) { sh.remove(p); r.fill(p, r.usableSize(p), 0xa5); r.free(p); }
        }
        assertCheck(r, 'end');
      });

      it('calloc with n * size overflowing 32 bits returns 0 (and never the wrapped size)', () => {
        const r = warm(mk());
        // each product wraps to a small number a naive allocator would happily serve
        const cases = [[0x10000, 0x10001], [0x10001, 0x10000], [0x40000001, 4], [4, 0x40000001], [0x80000001, 2],
          [2, 0x80000001], [0x20000000, 8], [0xffffffff, 0xffffffff], [0xffffffff, 2], [65537, 65537], [0x100000, 0x1001]];
        for (const [n, s] of cases) {
          const p = noGrow(r, `calloc(${hex(n)}, ${hex(s)})`, () => r.calloc(n, s));
          assert.equal(p, 0, `calloc(${hex(n)}, ${hex(s)}) overflows and must return 0, got ${hex(p)}`);
        }
        assertCheck(r, 'after overflowing callocs');
      });

      it('calloc(0, n) and calloc(n, 0) do not trap and return unique freeable pointers', () => {
        const r = mk();
        const ps = [r.calloc(0, 16), r.calloc(16, 0), r.calloc(0, 0), r.calloc(0, 0xffffffff), r.calloc(0xffffffff, 0)];
        const nonNull = ps.filter((p) => p !== 0);
        assert.equal(nonNull.length, ps.length, `calloc with a zero factor returned null (${ps.map(hex)}); malloc(0) is non-null so calloc(0, n) should be too`);
        assert.equal(new Set(nonNull).size, nonNull.length, 'calloc with a zero factor returned a live pointer twice');
        for (const p of nonNull) r.free(p);
        assertCheck(r, 'end');
      });
    });

    // ---- impossible sizes -------------------------------------------------------------------
    describe('sizes that cannot be met', () => {
      it('sizes near 4 GiB return 0 from every entry point, without growing memory or trapping (no maximum)', () => {
        const r = createInstance(build, { initial: 1, maximum: null });
        const p = r.malloc(100); // a live block to realloc; the heap is started
        const out = r.scratch;
        for (const n of NEAR_4G) {
          for (const [what, fn] of [
            ['malloc', () => r.malloc(n)],
            ['calloc(1, n)', () => r.calloc(1, n)],
            ['calloc(n, 1)', () => r.calloc(n, 1)],
            ['realloc(0, n)', () => r.realloc(0, n)],
            ['realloc(p, n)', () => r.realloc(p, n)],
            ['aligned_alloc(16, n)', () => r.alignedAlloc(16, n)],
            ['aligned_alloc(4096, n)', () => r.alignedAlloc(4096, n)],
            ['memalign(64, n)', () => r.memalign(64, n)],
          ]) {
            assert.equal(noGrow(r, `${what} with n=${hex(n)}`, fn), 0, `${what} with n=${hex(n)} must return 0`);
          }
          r.writeU32(out, SENTINEL);
          assert.equal(noGrow(r, `posix_memalign(out, 16, ${hex(n)})`, () => r.posixMemalign(out, 16, n)), ENOMEM, `posix_memalign(out, 16, ${hex(n)})`);
          assert.equal(r.readU32(out), SENTINEL, '*out written by a failing posix_memalign');
        }
        assert.notEqual(r.usableSize(p), 0);
        assertCheck(r, 'after near-4GiB requests');
        r.free(p);
      });

      it('an impossible first request returns 0 without growing memory (the heap need not start for it)', () => {
        for (const [what, fn] of [
          ['malloc(0xffffffff)', (r) => r.malloc(0xffffffff)],
          ['calloc(0x10000, 0x10001)', (r) => r.calloc(0x10000, 0x10001)],
          ['aligned_alloc(3, 16)', (r) => r.alignedAlloc(3, 16)],
          ['malloc(2 MiB) with maximum 16 pages', (r) => r.malloc(2 << 20)],
          ['sbrk(0x7fffffff)', (r) => (r.sbrk(0x7fffffff) === SBRK_FAIL ? 0 : 1)],
        ]) {
          const r = mk({ maximum: 16 });
          assert.equal(noGrow(r, `${what} as the first call`, () => fn(r)), 0, what);
          assertCheck(r, `after ${what} as the first call`);
        }
      });

      it('sizes beyond the memory maximum (256 pages) return 0 without growing memory', () => {
        const r = mk({ maximum: 256 });
        const keep = r.malloc(1000);
        for (const n of [...BEYOND_16M, 256 * PAGE, 256 * PAGE - 16, 255 * PAGE + 1, 300 * PAGE]) {
          assert.equal(noGrow(r, `malloc(${hex(n)})`, () => r.malloc(n)), 0, `malloc(${hex(n)}) on a 256-page memory`);
          assert.equal(noGrow(r, `realloc(keep, ${hex(n)})`, () => r.realloc(keep, n)), 0);
          assert.equal(noGrow(r, `calloc(${hex(n)}, 1)`, () => r.calloc(n, 1)), 0);
          assert.equal(noGrow(r, `aligned_alloc(256, ${hex(n)})`, () => r.alignedAlloc(256, n)), 0);
        }
        assertCheck(r, 'after requests beyond the maximum');
        const p = r.malloc(200 * PAGE);
        assert.notEqual(p, 0, 'a 200-page request still fits in a 256-page memory after the failures');
        r.bytes()[p + 200 * PAGE - 1] = 1;
        r.free(p);
        r.free(keep);
        assertCheck(r, 'end');
      });

      it('address 0 is never returned, even on a 0-page memory without ralloc_init', () => {
        const r = mk({ initial: 0, maximum: 16 });
        const ps = [];
        for (let i = 0; i < 64; i++) {
          const p = r.malloc(i % 3 === 0 ? 0 : i);
          assert.notEqual(p, 0, `malloc #${i} on a growable 0-page memory returned 0`);
          ps.push(p);
        }
        assertDisjoint(r, ps);
        assertCheck(r, 'end');
      });

      it('address 0 is never returned after ralloc_init(0)', () => {
        const r = mk({ initial: 1, heapBase: 0, scratch: null });
        for (let i = 0; i < 64; i++) {
          const p = r.malloc(i & 7);
          assert.notEqual(p, 0, `malloc #${i} after ralloc_init(0) returned 0`);
        }
        assertCheck(r, 'end');
      });
    });

    // ---- alignment ---------------------------------------------------------------------------
    describe('aligned allocation', () => {
      it('aligned_alloc with alignment 0 returns 0 without trapping (peer bug 9: division by zero)', () => {
        const r = mk();
        warm(r);
        for (const n of [0, 1, 16, 100]) assert.equal(noGrow(r, `aligned_alloc(0, ${n})`, () => r.alignedAlloc(0, n)), 0);
        assertCheck(r, 'end');
      });

      it('aligned_alloc with a non-power-of-two alignment returns 0', () => {
        const r = warm(mk());
        for (const a of [3, 5, 6, 7, 12, 24, 48, 100, 0x3000, 0x80000001, 0xffffffff, 0xfffffff0])
          assert.equal(noGrow(r, `aligned_alloc(${hex(a)}, 64)`, () => r.alignedAlloc(a, 64)), 0, `aligned_alloc(${hex(a)}, 64)`);
        assertCheck(r, 'end');
      });

      it('aligned_alloc with alignment 2^31 (or 2^30) returns 0 on a memory capped at 256 pages', () => {
        const r = warm(mk({ maximum: 256 }));
        for (const a of [0x80000000, 0x40000000])
          for (const n of [1, 16, 4096])
            assert.equal(noGrow(r, `aligned_alloc(${hex(a)}, ${n})`, () => r.alignedAlloc(a, n)), 0);
        assertCheck(r, 'end');
      });

      it('aligned_alloc with alignment 2^31 on an uncapped memory returns 0 or a 2^31-aligned block, never traps', () => {
        const r = createInstance(build, { initial: 1, maximum: null });
        const p = r.alignedAlloc(0x80000000, 16);
        if (p !== 0) {
          assert.equal(p % 0x80000000, 0, `aligned_alloc(2^31) -> ${hex(p)}`);
          r.free(p);
        }
        assertCheck(r, 'end');
      });

      it('aligned_alloc with every power-of-two alignment 1..65536 returns aligned, disjoint, usable blocks', () => {
        const r = mk({ maximum: 1024 });
        const sh = new Shadow(r);
        for (let k = 0; k <= 16; k++) {
          const a = 2 ** k;
          for (const n of [1, a - 1, a, a + 1, 3 * a + 5, 100]) {
            if (n <= 0) continue;
            sh.add(r.alignedAlloc(a, n), n, a, { what: `aligned_alloc(${a}, ${n})` });
          }
        }
        sh.verifyAll();
        assertCheck(r, 'after aligned allocations');
        for (const p of [...sh.sorted]) { sh.remove(p); r.free(p); }
        assertCheck(r, 'after freeing aligned blocks');
        assert.equal(r.stats().bytesInUse, 0);
      });

      it('memalign with power-of-two alignments returns aligned blocks (peer bug 2: memalign corruption)', () => {
        const r = mk({ maximum: 1024 });
        const sh = new Shadow(r);
        const rng = new Rng(2);
        for (let i = 0; i < 600; i++) {
          if (sh.count && rng.chance(0.4)) {
            const b = sh.randomLive(rng);
            sh.remove(b.ptr);
            r.free(b.ptr);
          } else {
            const a = 2 ** rng.range(0, 16);
            const n = rng.range(0, 3 * Math.min(a, 5000));
            sh.add(r.memalign(a, n), n, a, { what: `memalign(${a})` });
          }
          if (i % 20 === 0) assertCheck(r, `after memalign op ${i}`);
        }
        sh.verifyAll();
        assertCheck(r, 'end');
      });

      it('memalign with a non-power-of-two or zero alignment does not trap; any block it returns is 16-aligned and freeable', () => {
        const r = mk();
        for (const a of [0, 3, 24, 0x80000001]) {
          const p = r.memalign(a, 40);
          if (p !== 0) {
            assert.equal(p % 16, 0);
            assert.ok(r.usableSize(p) >= 40);
            r.free(p);
          }
        }
        assertCheck(r, 'end');
      });

      it('posix_memalign rejects alignments 0, 1, 2, 3, 12, 24 and 2^31+1 with EINVAL and leaves *out untouched (peer bug 9)', () => {
        const r = warm(mk());
        const out = r.scratch;
        for (const a of [0, 1, 2, 3, 5, 12, 24, 48, 0x80000001, 0xffffffff]) {
          r.writeU32(out, SENTINEL);
          const rc = noGrow(r, `posix_memalign(out, ${hex(a)}, 64)`, () => r.posixMemalign(out, a, 64));
          assert.equal(rc, EINVAL, `posix_memalign(out, ${hex(a)}, 64) returned ${rc}, expected EINVAL (28)`);
          assert.equal(r.readU32(out), SENTINEL, `*out changed by posix_memalign(out, ${a})`);
        }
        assertCheck(r, 'end');
      });

      it('posix_memalign out of memory returns ENOMEM and leaves *out untouched', () => {
        const r = warm(mk({ maximum: 8 }));
        const out = r.scratch;
        for (const [a, n] of [[16, 9 * PAGE], [4, 0xffffffff], [64, 0xfffffff0], [0x80000000, 16], [0x40000000, 16], [65536, 8 * PAGE]]) {
          r.writeU32(out, SENTINEL);
          const rc = noGrow(r, `posix_memalign(out, ${hex(a)}, ${hex(n)})`, () => r.posixMemalign(out, a, n));
          assert.equal(rc, ENOMEM, `posix_memalign(out, ${hex(a)}, ${hex(n)}) returned ${rc}, expected ENOMEM (48)`);
          assert.equal(r.readU32(out), SENTINEL, '*out changed by a failing posix_memalign');
        }
        assertCheck(r, 'end');
      });

      it('posix_memalign succeeds with alignments 4..65536 and sizes that are not multiples of the alignment', () => {
        const r = mk({ maximum: 1024 });
        const out = r.scratch;
        const sh = new Shadow(r);
        for (let k = 2; k <= 16; k++) {
          const a = 2 ** k;
          for (const n of [1, 3, a + 1, a * 2 + 7, 1000]) {
            r.writeU32(out, SENTINEL);
            const rc = r.posixMemalign(out, a, n);
            assert.equal(rc, 0, `posix_memalign(out, ${a}, ${n}) returned ${rc}`);
            sh.add(r.readU32(out), n, a, { what: `posix_memalign(${a})` });
          }
        }
        sh.verifyAll();
        for (const p of [...sh.sorted]) { sh.remove(p); r.free(p); }
        assertCheck(r, 'end');
      });

      it('posix_memalign with size 0 succeeds with a freeable (or null) *out', () => {
        const r = mk();
        const out = r.scratch;
        r.writeU32(out, SENTINEL);
        assert.equal(r.posixMemalign(out, 16, 0), 0);
        const p = r.readU32(out);
        assert.notEqual(p, SENTINEL, '*out not written on success');
        if (p !== 0) r.free(p);
        assertCheck(r, 'end');
      });

      it('base alignment is 16 for every size and entry point', () => {
        const r = mk({ maximum: 1024 });
        const ps = [];
        const sizes = [];
        for (let n = 0; n <= 1100; n++) sizes.push(n);
        for (let k = 11; k <= 20; k++) sizes.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
        for (const n of sizes) {
          for (const [what, p] of [['malloc', r.malloc(n)], ['calloc', r.calloc(1, n)], ['memalign(4)', r.memalign(4, n)],
            ['aligned_alloc(8)', r.alignedAlloc(8, n)], ['realloc(0)', r.realloc(0, n)]]) {
            assert.notEqual(p, 0, `${what}(${n}) failed`);
            assert.equal(p % 16, 0, `${what}(${n}) -> ${hex(p)} is not 16-aligned`);
            ps.push(p);
          }
        }
        const grown = ps.map((p, i) => (i % 7 === 0 ? r.realloc(p, (i * 37) % 3000 + 1) : p));
        for (const p of grown) assert.equal(p % 16, 0, `realloc result ${hex(p)} is not 16-aligned`);
        assertDisjoint(r, grown);
        for (const p of grown) r.free(p);
        assertCheck(r, 'end');
      });
    });

    // ---- malloc_usable_size --------------------------------------------------------------------
    describe('malloc_usable_size', () => {
      it('malloc_usable_size(0) is 0', () => {
        const r = mk();
        assert.equal(r.usableSize(0), 0);
        r.malloc(10);
        assert.equal(r.usableSize(0), 0);
      });

      it('malloc_usable_size(p) >= request, and the whole usable size may be written without harm', () => {
        const r = mk({ maximum: 1024 });
        const rng = new Rng(9);
        const blocks = [];
        for (let i = 0; i < 1500; i++) {
          const n = i < 600 ? i : rng.range(0, i % 10 === 0 ? 200000 : 4000);
          const p = r.malloc(n);
          assert.notEqual(p, 0);
          const u = r.usableSize(p);
          assert.ok(u >= n, `malloc_usable_size(malloc(${n})) = ${u}`);
          fillPattern(r, p, u, i);
          blocks.push([p, u, i]);
        }
        for (const [p, u, t] of blocks) assert.equal(findPatternMismatch(r, p, u, t), -1, `block ${hex(p)} damaged by a neighbour writing its usable size`);
        assertCheck(r, 'after filling every usable byte');
        for (const [p] of blocks) r.free(p);
        assertCheck(r, 'end');
      });
    });

    // ---- sbrk ---------------------------------------------------------------------------------
    describe('sbrk', () => {
      it('sbrk(0) returns the break and sbrk(n) moves it by exactly n', () => {
        const r = mk();
        const b0 = r.sbrk(0);
        assert.notEqual(b0, SBRK_FAIL, 'sbrk(0) failed');
        assert.equal(r.sbrk(0), b0, 'sbrk(0) is stable');
        assert.equal(r.sbrk(100), b0, 'sbrk(100) returns the old break');
        assert.equal(r.sbrk(0), b0 + 100, 'the break moved by 100');
        assert.equal(r.sbrk(5000), b0 + 100);
        assert.equal(r.sbrk(0), b0 + 5100);
        assert.ok(b0 + 5100 <= r.memBytes(), 'the sbrk region lies inside memory');
        r.fill(b0, 5100, 0x77); // the caller may write it all
        assert.equal(r.sbrk(-5100), b0 + 5100, 'sbrk(-n) returns the old break');
        assert.equal(r.sbrk(0), b0);
      });

      it('memory held from sbrk is never handed out by malloc', () => {
        const r = mk({ maximum: 1024 });
        const held = [];
        const sh = new Shadow(r, { forbidden: held });
        const rng = new Rng(77);
        for (let round = 0; round < 6; round++) {
          const n = [16, 100, 4096, 70000, 1, 200000][round];
          const s = r.sbrk(n);
          assert.notEqual(s, SBRK_FAIL, `sbrk(${n}) failed`);
          fillPattern(r, s, n, 1000 + round);
          held.push([s, s + n, n, 1000 + round]);
          workload(r, rng.u32(), 300, { shadow: sh, maxSize: 40000 });
          for (const [lo, , len, tag] of held)
            assert.equal(findPatternMismatch(r, lo, len, tag), -1, `sbrk region ${hex(lo)}+${len} was overwritten`);
          assertCheck(r, `after sbrk round ${round}`);
        }
        const st = r.stats();
        assert.equal(st.sbrkBytes, held.reduce((a, h) => a + h[2], 0), 'stats.sbrk_bytes counts the bytes held');
      });

      it('sbrk(negative) beyond what sbrk gave returns -1 and changes nothing', () => {
        const r = mk();
        const b0 = r.sbrk(0);
        assert.equal(r.sbrk(-1), SBRK_FAIL, 'sbrk(-1) before any sbrk(+n)');
        assert.equal(r.sbrk(-16), SBRK_FAIL);
        assert.equal(r.sbrk(0), b0);
        assert.equal(r.sbrk(100), b0);
        assert.equal(r.sbrk(-101), SBRK_FAIL, 'sbrk(-101) after sbrk(100)');
        assert.equal(r.sbrk(-0x80000000), SBRK_FAIL, 'sbrk(-2^31)');
        assert.equal(r.sbrk(0), b0 + 100, 'a failed sbrk moved the break');
        assert.equal(r.sbrk(-100), b0 + 100);
        assert.equal(r.sbrk(0), b0);
        assert.equal(r.sbrk(-1), SBRK_FAIL);
        assertCheck(r, 'end');
      });

      it('sbrk gives back nothing malloc owns: sbrk(-n) after malloc never frees heap blocks', () => {
        const r = mk({ maximum: 64 });
        const b0 = r.sbrk(4096);
        const p = r.malloc(300000);
        fillPattern(r, p, 300000, 3);
        const rc = r.sbrk(-8192);
        assert.equal(rc, SBRK_FAIL, 'sbrk(-8192) gave back more than the 4096 bytes sbrk gave');
        r.sbrk(-4096); // may succeed or fail (the break may be below the heap); either way p survives
        assert.equal(findPatternMismatch(r, p, 300000, 3), -1, 'heap block damaged by sbrk(negative)');
        const q = r.malloc(1000);
        assert.notEqual(q, 0);
        assert.ok(q + 1000 <= p || q >= p + 300000, 'malloc returned memory inside a live block after sbrk(negative)');
        assertCheck(r, 'end');
        void b0;
      });

      it('sbrk with huge deltas returns -1 without growing memory or trapping (peer bug 1: signed sbrk)', () => {
        const r = warm(mk({ maximum: 64 }));
        r.sbrk(0);
        for (const d of [0x7fffffff, 0x7fff0000, 64 * PAGE, 0x40000000])
          assert.equal(noGrow(r, `sbrk(${hex(d)})`, () => r.sbrk(d)), SBRK_FAIL, `sbrk(${hex(d)}) on a 64-page memory`);
        for (const d of [-0x80000000, -0x7fffffff, -PAGE])
          assert.equal(noGrow(r, `sbrk(${d})`, () => r.sbrk(d)), SBRK_FAIL, `sbrk(${d}) with nothing held`);
        assertCheck(r, 'end');
        assert.notEqual(r.malloc(100), 0);
      });
    });

    // ---- heap placement: ralloc_init, initial memory, foreign growth ----------------------------
    describe('heap placement', () => {
      for (const heapBase of [1024, 5008, 4999, 65536 + 32, 3 * PAGE]) {
        it(`ralloc_init(${heapBase}) is honoured: blocks start at or above it and memory below survives a workload`, () => {
          const memory = new WebAssembly.Memory({ initial: 2, maximum: 512 });
          const low = new Uint8Array(memory.buffer);
          for (let i = 0; i < Math.min(heapBase, low.length); i++) low[i] = (i * 13 + 1) & 0xff;
          const r = createInstance(build, { memory, heapBase, scratch: null });
          const sh = new Shadow(r, { floor: heapBase });
          workload(r, heapBase, 2000, { shadow: sh, maxSize: 30000 });
          const u8 = r.bytes();
          for (let i = 0; i < Math.min(heapBase, 2 * PAGE); i++)
            if (u8[i] !== ((i * 13 + 1) & 0xff)) assert.fail(`byte ${hex(i)} below heap base ${hex(heapBase)} was overwritten`);
          assertCheck(r, 'end');
          const st = r.stats(64); // below every heap base used here: the host's to use
          assert.ok(st.heapBase >= heapBase && st.heapBase < heapBase + 64, `stats.heap_base ${st.heapBase} for ralloc_init(${heapBase})`);
        });
      }

      it('ralloc_init after the first malloc returns EINVAL (28) and changes nothing', () => {
        const r = mk({ heapBase: 4096 });
        const p = r.malloc(10);
        const base = r.stats().heapBase;
        assert.equal(r.init(1024), EINVAL);
        assert.equal(r.init(8192), EINVAL);
        assert.equal(r.stats().heapBase, base);
        const q = r.malloc(10);
        assert.ok(q >= 4096 && q !== p);
        assertCheck(r, 'end');
      });

      it('ralloc_init after the first allocation by calloc / aligned_alloc / realloc(0, n) returns EINVAL', () => {
        for (const first of [(r) => r.calloc(1, 1), (r) => r.alignedAlloc(64, 1), (r) => r.realloc(0, 1), (r) => r.memalign(32, 8)]) {
          const r = mk();
          assert.notEqual(first(r), 0);
          assert.equal(r.init(1024), EINVAL);
          assertCheck(r, 'end');
        }
      });

      it('without ralloc_init, nothing in the initial memory is overwritten', () => {
        const memory = new WebAssembly.Memory({ initial: 3, maximum: 512 });
        const u8 = new Uint8Array(memory.buffer);
        for (let i = 0; i < u8.length; i++) u8[i] = (i * 29 + 5) & 0xff;
        const r = createInstance(build, { memory, scratch: null });
        const sh = new Shadow(r, { floor: 3 * PAGE });
        workload(r, 3, 3000, { shadow: sh, maxSize: 50000 });
        const now = r.bytes();
        for (let i = 0; i < 3 * PAGE; i++) if (now[i] !== ((i * 29 + 5) & 0xff)) assert.fail(`initial byte ${hex(i)} was overwritten`);
        assertCheck(r, 'end');
      });

      it('a foreign memory.grow just before a malloc larger than the free block at the top: the malloc still succeeds (the claim is sized after skipping the foreign pages)', () => {
        const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
        const r = createInstance(build, { memory });
        // a heap of a few pages whose top is one large free block, larger than a growth step
        assert.notEqual(r.malloc(100), 0);
        r.free(r.malloc(300000));
        // the largest free block: the one at the top of the heap, ending at the break
        let top = 0;
        for (let p = r.exports.ralloc_walk(0); p; p = r.exports.ralloc_walk(p)) {
          const info = r.exports.ralloc_block_info(p) >>> 0;
          if ((info & 15) === 1) top = Math.max(top, info & ~15);
        }
        assert.ok(top > 1024, `a free block at the top (${top} bytes)`);
        const start = memory.grow(1) * PAGE;
        fillPattern(r, start, PAGE, 7);
        const p = r.malloc(top + 100);
        assert.notEqual(p, 0, `malloc(${top + 100}) after a foreign grow failed with memory to spare`);
        assert.equal(findPatternMismatch(r, start, PAGE, 7), -1, 'the foreign page was overwritten');
        assertCheck(r, 'after the malloc');
      });

      it('foreign memory.grow between mallocs: the allocator never touches the foreign pages', () => {
        const memory = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
        const r = createInstance(build, { memory });
        const foreign = [];
        const sh = new Shadow(r, { forbidden: foreign });
        const rng = new Rng(42);
        for (let round = 0; round < 8; round++) {
          workload(r, rng.u32(), 400, { shadow: sh, maxSize: round % 2 ? 150000 : 3000 });
          const pages = 1 + (round % 3);
          const start = memory.grow(pages) * PAGE;
          const len = pages * PAGE;
          fillPattern(r, start, len, 500 + round);
          foreign.push([start, start + len, len, 500 + round]);
          for (const [lo, , n, tag] of foreign)
            assert.equal(findPatternMismatch(r, lo, n, tag), -1, `foreign pages at ${hex(lo)} overwritten (round ${round})`);
          assertCheck(r, `after foreign grow round ${round}`);
        }
        workload(r, 99, 1000, { shadow: sh, maxSize: 200000 });
        for (const [lo, , n, tag] of foreign) assert.equal(findPatternMismatch(r, lo, n, tag), -1, `foreign pages at ${hex(lo)} overwritten`);
        assertCheck(r, 'end');
      });
    });

    // ---- stats -----------------------------------------------------------------------------
    describe('ralloc_stats', () => {
      it('ralloc_stats(0) returns 64; ralloc_stats(ptr) writes size 64, version 1, reserved 0', () => {
        const r = mk();
        const before = r.readBytes(0, 64);
        assert.equal(r.statsSize(), STATS_SIZE);
        assert.deepEqual(r.readBytes(0, 64), before, 'ralloc_stats(0) wrote to address 0');
        r.malloc(1);
        r.fill(r.scratch, 64, 0xee);
        const st = r.stats();
        assert.equal(st.returned, STATS_SIZE);
        assert.equal(st.size, STATS_SIZE);
        assert.equal(st.version, STATS_VERSION);
        assert.equal(st.reserved, 0);
      });

      it('call counters move by exactly one per call of each kind', { skip: C_ONLY_BUILDS.includes(build) && `${build} keeps no call counters` }, () => {
        const r = mk();
        const out = r.scratch + 128;
        const s0 = r.stats();
        const ps = [r.malloc(10), r.calloc(2, 8), r.alignedAlloc(64, 10), r.memalign(128, 3)];
        assert.equal(r.posixMemalign(out, 32, 5), 0);
        ps.push(r.readU32(out));
        const s1 = r.stats();
        assert.equal(s1.mallocCalls - s0.mallocCalls, 5, 'malloc_calls counts malloc, calloc, aligned_alloc, memalign, posix_memalign');
        assert.equal(s1.liveBlocks - s0.liveBlocks, 5);
        const q = r.realloc(ps[0], 5000);
        const q2 = r.realloc(q, 20);
        ps[0] = q2;
        const s2 = r.stats();
        assert.equal(s2.reallocCalls - s1.reallocCalls, 2, 'realloc_calls');
        assert.equal(s2.liveBlocks, s1.liveBlocks, 'realloc keeps the live-block count');
        for (const p of ps) r.free(p);
        const s3 = r.stats();
        assert.equal(s3.freeCalls - s2.freeCalls, 5, 'free_calls');
        assert.equal(s3.liveBlocks, s0.liveBlocks);
      });

      it('bytes_in_use is the sum of usable sizes of live blocks and returns to its start after freeing all', () => {
        const r = mk({ maximum: 1024 });
        const s0 = r.stats();
        const rng = new Rng(11);
        const ps = [];
        let sum = 0;
        let peakSeen = 0;
        for (let i = 0; i < 500; i++) {
          const p = r.malloc(rng.range(0, i % 50 === 0 ? 100000 : 2000));
          ps.push(p);
          sum += r.usableSize(p);
          const st = r.stats();
          assert.equal(st.bytesInUse - s0.bytesInUse, sum, `bytes_in_use after ${i + 1} mallocs`);
          peakSeen = Math.max(peakSeen, st.bytesInUse);
          assert.ok(st.peakBytesHeld >= st.bytesInUse, 'peak >= current');
          assert.ok(st.bytesFromMemory >= st.bytesInUse, 'bytes_from_memory >= bytes_in_use');
          assert.ok(st.bytesFromMemory <= r.memBytes(), 'bytes_from_memory <= memory size');
        }
        for (let i = 0; i < ps.length; i += 2) { sum -= r.usableSize(ps[i]); r.free(ps[i]); }
        assert.equal(r.stats().bytesInUse - s0.bytesInUse, sum, 'bytes_in_use after freeing half');
        for (let i = 1; i < ps.length; i += 2) r.free(ps[i]);
        const end = r.stats();
        assert.equal(end.bytesInUse, s0.bytesInUse, 'bytes_in_use back to its start');
        assert.equal(end.liveBlocks, s0.liveBlocks);
        // the C-only builds keep no counters: their peak is the bytes held now
        if (!C_ONLY_BUILDS.includes(build)) assert.ok(end.peakBytesHeld >= peakSeen, `peak ${end.peakBytesHeld} below the highest bytes_in_use seen ${peakSeen}`);
      });

      it('grow_calls counts the allocator\'s memory.grow calls and not foreign ones', () => {
        const r = mk({ maximum: 4096 });
        r.malloc(16);
        let st = r.stats();
        let mem = r.memBytes();
        let grows = st.growCalls;
        for (let i = 0; i < 200; i++) {
          r.malloc(i * 1000);
          const now = r.memBytes();
          st = r.stats();
          if (now > mem) assert.ok(st.growCalls > grows, `memory grew ${mem} -> ${now} but grow_calls stayed ${grows}`);
          else assert.equal(st.growCalls, grows, 'grow_calls moved without growth');
          mem = now;
          grows = st.growCalls;
        }
        assert.ok(grows >= 1);
        r.memory.grow(3);
        assert.equal(r.stats().growCalls, grows, 'a foreign memory.grow counted as the allocator\'s');
        const st2 = r.stats();
        assert.ok(st2.bytesFromMemory <= r.memBytes() - st2.heapBase + 64, 'bytes_from_memory within the heap');
      });

      it('heap_base without ralloc_init is at or above the initial memory end', () => {
        const r = mk({ initial: 2 });
        r.malloc(1);
        assert.ok(r.stats().heapBase >= 2 * PAGE, `heap_base ${hex(r.stats().heapBase)}`);
      });
    });

    // ---- bugs other allocators shipped -------------------------------------------------------
    describe('a heap the program corrupted', () => {
      it('the inspection calls (check, walk, block info, request, serial, stats) never trap: they stop, refuse, or report the misuse', () => {
        const r = mk();
        const a = r.malloc(2000), b = r.malloc(2000);
        r.writeU32(a - 4, 0x7ffffff0 | (r.readU32(a - 4) & 15)); // a's size now runs past memory
        const noTrap = (what, f) => {
          try {
            return f();
          } catch (e) {
            assert.ok(!(e instanceof WebAssembly.RuntimeError), `${what} trapped: ${e.message}`);
            assert.match(e.message, /^ralloc: /, `${what} stopped with a misuse report`);
            return undefined;
          }
        };
        noTrap('ralloc_check', () => r.exports.ralloc_check());
        const seen = noTrap('the walk', () => {
          const out = [];
          for (let p = r.exports.ralloc_walk(0) >>> 0; p; p = r.exports.ralloc_walk(p) >>> 0) {
            out.push(p);
            if (out.length > 100000) assert.fail('the walk does not end');
          }
          return out;
        });
        assert.ok(seen && !seen.includes(b), 'the walk stops at the broken block');
        for (const p of [a, a + 8, 0x7ffffff0, 0xfffffff0]) {
          for (const name of ['ralloc_walk', 'ralloc_block_info', 'ralloc_block_request', 'ralloc_block_serial']) {
            if (r.exports[name]) noTrap(`${name}(${hex(p)})`, () => r.exports[name](p));
          }
        }
        assert.equal(r.exports.ralloc_walk(0xfffffff0) >>> 0, 0, 'a pointer past memory is no block');
        noTrap('ralloc_stats', () => r.stats());
      });
    });

    describe('bugs other allocators shipped', () => {
      it('peer bug 1: sizes that overflow when rounded up to blocks or pages return 0', () => {
        const r = warm(createInstance(build, { initial: 1, maximum: null }));
        for (let d = 0; d < 64; d++) {
          const n = 0xffffffff - d;
          assert.equal(noGrow(r, `malloc(${hex(n)})`, () => r.malloc(n)), 0, `malloc(${hex(n)})`);
        }
        for (let d = 0; d < 32; d++) {
          const n = 0xffff0000 + d * 0x800 + 1;
          assert.equal(noGrow(r, `malloc(${hex(n)})`, () => r.malloc(n)), 0, `malloc(${hex(n)})`);
        }
        assertCheck(r, 'end');
      });

      it('peer bug 3: a request just below a page multiple when the heap must grow is met at once', { timeout: 60000 }, () => {
        for (let k = 1; k <= 6; k++) {
          for (const d of [0, 1, 3, 4, 8, 12, 15, 16, 17, 20, 24, 28, 32, 48, 64, 100, 1024, 4096]) {
            const n = k * PAGE - d;
            for (const [initial, heapBase] of [[1, undefined], [1, 1024], [0, undefined]]) {
              // a memory with room for the request plus 2 pages of metadata and slack, no more
              const max = initial + k + 2;
              const r = createInstance(build, { initial, maximum: max, heapBase, scratch: null });
              const p = r.malloc(n);
              assert.notEqual(p, 0, `malloc(${k}*64KiB - ${d}) failed on a ${initial}-page memory with maximum ${max} (heapBase ${heapBase})`);
              assert.ok(r.usableSize(p) >= n);
              assert.ok(p + n <= r.memBytes());
              r.bytes()[p + n - 1] = 0xab;
              const q = r.malloc(d + 1);
              if (q) r.free(q);
              r.free(p);
              assertCheck(r, `after malloc(${n})`);
              const again = r.malloc(n);
              assert.notEqual(again, 0, `malloc(${n}) failed the second time`);
            }
          }
        }
      });

      it('peer bug 3: growth just below a page multiple with a heap already in use', () => {
        const r = mk({ maximum: 4096 });
        const rng = new Rng(3);
        const sh = new Shadow(r);
        for (let i = 0; i < 300; i++) {
          const n = rng.range(1, 40) * PAGE - rng.range(0, 64);
          sh.add(r.malloc(n), n, 16, { what: 'malloc(page multiple - d)' });
          if (i % 3 === 0) { const b = sh.randomLive(rng); sh.remove(b.ptr); r.free(b.ptr); }
          if (sh.requestSum > 150 * 1024 * 1024) {
            for (const p of [...sh.sorted]) { sh.remove(p); r.free(p); }
          }
        }
        assertCheck(r, 'end');
      });

      it('peer bug 5: realloc moving a block leaves no stale header (neighbours and sizes intact)', () => {
        const r = mk({ maximum: 1024 });
        const sh = new Shadow(r);
        const a = sh.add(r.malloc(64), 64);
        const b = sh.add(r.malloc(64), 64);
        const c = sh.add(r.malloc(64), 64);
        sh.verify(b);
        const b2 = r.realloc(b.ptr, 8192); // cannot grow in place between a and c
        const nb = sh.moved(b, b2, 8192);
        const d = sh.add(r.malloc(48), 48); // likely reuses b's old place
        assertCheck(r, 'after the move');
        const nb2 = r.realloc(nb.ptr, 100);
        const nnb = sh.moved(nb, nb2, 100);
        sh.verifyAll();
        for (const x of [a, c, d, nnb]) { sh.remove(x.ptr); r.free(x.ptr); }
        assertCheck(r, 'end');
      });

      it('peer bug 5: shrinking and growing aligned blocks with realloc does not overwrite neighbours', () => {
        const r = mk({ maximum: 1024 });
        const out = r.scratch;
        for (const [kind, alloc] of [
          ['aligned_alloc', (a, n) => r.alignedAlloc(a, n)],
          ['memalign', (a, n) => r.memalign(a, n)],
          ['posix_memalign', (a, n) => (r.posixMemalign(out, a, n) === 0 ? r.readU32(out) : 0)],
        ]) {
          for (const a of [32, 256, 4096, 65536]) {
            const sh = new Shadow(r);
            const before = sh.add(r.malloc(40), 40);
            const x = sh.add(alloc(a, 5000), 5000, a, { what: kind });
            const after = sh.add(r.malloc(40), 40);
            const x1 = r.realloc(x.ptr, 100);
            const y = sh.moved(x, x1, 100);
            sh.verify(before);
            sh.verify(after);
            assertCheck(r, `after shrinking a ${kind}(${a}) block`);
            const x2 = r.realloc(y.ptr, 20000);
            const z = sh.moved(y, x2, 20000);
            sh.verifyAll();
            assertCheck(r, `after growing a ${kind}(${a}) block`);
            for (const b of [before, after, z]) { sh.remove(b.ptr); r.free(b.ptr); }
            assertCheck(r, `after freeing around a ${kind}(${a}) block`);
          }
        }
      });

      it('peer bug 6: memory.grow failure becomes a 0 return, never a trap (caps 1..8 pages)', () => {
        for (let max = 1; max <= 8; max++) {
          const r = createInstance(build, { initial: 1, maximum: max, heapBase: 1024 });
          const ps = [];
          for (let i = 0; i < 10000; i++) {
            let p;
            try { p = r.malloc(PAGE / 2); } catch (e) { assert.fail(`malloc trapped on a ${max}-page memory: ${e.message}`); }
            if (p === 0) break;
            ps.push(p);
          }
          assert.ok(ps.length < 10000, 'allocation never failed');
          assert.equal(r.malloc(PAGE), 0);
          assertCheck(r, `after OOM on ${max} pages`);
        }
      });

      it('peer bug 6: the allocator survives a foreign memory.grow up to the maximum', () => {
        const r = mk({ maximum: 32 });
        const sh = new Shadow(r);
        for (let i = 0; i < 20; i++) sh.add(r.malloc(1000), 1000);
        const start = r.memBytes();
        r.memory.grow(32 - r.pages());
        fillPattern(r, start, r.memBytes() - start, 9);
        sh.forbidden.push([start, r.memBytes()]);
        for (const n of [100, PAGE, 4 * PAGE, 0xfffffff0]) {
          const p = noGrow(r, `malloc(${n}) on a memory grown to its maximum by someone else`, () => r.malloc(n));
          if (p) sh.add(p, n);
        }
        assert.equal(findPatternMismatch(r, start, r.memBytes() - start, 9), -1, 'foreign pages overwritten');
        assertCheck(r, 'end');
      });

      it('peer bug 7: metadata of very large free gaps (16 MiB .. 1 GiB) stays consistent', { timeout: 120000 }, () => {
        const r = createInstance(build, { initial: 1, maximum: 65536, heapBase: 1024 });
        for (const big of [0x01000010, 0x08000000 - 16, 0x10000010, 0x40000010]) {
          const sh = new Shadow(r);
          const a = sh.add(r.malloc(32), 32);
          const g = r.malloc(big);
          assert.notEqual(g, 0, `malloc(${hex(big)}) failed on a memory that can grow to 4 GiB`);
          const gb = sh.add(g, big, 16, { what: 'big' });
          const c = sh.add(r.malloc(32), 32);
          sh.remove(gb.ptr);
          r.free(gb.ptr); // a free gap of `big` bytes between a and c
          assertCheck(r, `after freeing a ${hex(big)} block`);
          const rng = new Rng(big);
          for (let i = 0; i < 200; i++) {
            const n = rng.range(1, 50000);
            sh.add(r.malloc(n), n);
          }
          assertCheck(r, `after carving the ${hex(big)} gap`);
          for (const p of [...sh.sorted]) { sh.remove(p); r.free(p); }
          assertCheck(r, `after freeing around the ${hex(big)} gap`);
          const again = r.malloc(big);
          assert.notEqual(again, 0, `malloc(${hex(big)}) failed after the gap was freed again`);
          r.free(again);
          void a; void c;
        }
      });

      it('peer bug 8: alternating malloc/free of one size keeps the footprint flat', () => {
        const r = mk({ maximum: 1024 });
        for (const n of [16, 100, 1024, 5000, 70000, 1 << 20]) {
          const warm = r.malloc(n);
          r.free(warm);
          const mem = r.memBytes();
          for (let i = 0; i < 20000; i++) {
            const p = r.malloc(n);
            if (i % 3 === 0) { const q = r.malloc(n >> 1); r.free(p); r.free(q); } else r.free(p);
          }
          assert.ok(r.memBytes() <= mem + 2 * (n + PAGE), `memory grew from ${mem} to ${r.memBytes()} cycling malloc(${n})`);
        }
        assertCheck(r, 'end');
      });
    });
  });
}

// ---- the 4 GiB edge (peer bug 4): needs a 65536-page WebAssembly.Memory ----------------------
function probe4G() {
  try {
    const m = new WebAssembly.Memory({ initial: 65535, maximum: 65536 });
    m.grow(1);
    return null;
  } catch (e) {
    return `this host cannot create a 4 GiB WebAssembly.Memory (${e.message})`;
  }
}
const skip4G = probe4G();

for (const build of C_ABI_BUILDS) {
  describe(`4 GiB edge (peer bug 4): ${build}`, { skip: skip4G ?? (!existsSync(buildPath(build)) && `missing build/${build}.wasm`) }, () => {
    it('on a full 4 GiB memory without ralloc_init, nothing fits: malloc returns 0 and page 0 is untouched', () => {
      const memory = new WebAssembly.Memory({ initial: 65536, maximum: 65536 });
      const u8 = new Uint8Array(memory.buffer, 0, PAGE);
      for (let i = 0; i < PAGE; i++) u8[i] = (i * 3) & 0xff;
      const r = createInstance(build, { memory, scratch: null });
      for (const n of [1, 16, 4096, PAGE]) assert.equal(r.malloc(n), 0, `malloc(${n}) on a full 4 GiB memory with no heap room`);
      for (let i = 0; i < PAGE; i++) if (u8[i] !== ((i * 3) & 0xff)) assert.fail(`byte ${hex(i)} overwritten: the heap wrapped to address 0`);
      assert.equal(r.check(), 0);
    });

    it('growing the heap into the last 64 KiB page of a 4 GiB memory', () => {
      const memory = new WebAssembly.Memory({ initial: 65535, maximum: 65536 });
      const r = createInstance(build, { memory, heapBase: 1024 });
      const big = r.malloc(0xfffe0000); // fills the 65535 initial pages
      assert.notEqual(big, 0, 'malloc(0xfffe0000) should fit in 65535 pages above 1024');
      assert.equal(r.check(), 0);
      const ps = [];
      for (let i = 0; i < 100; i++) {
        const p = r.malloc(1000);
        if (!p) break;
        assert.ok(p > big, `block ${hex(p)} overlaps the big block`);
        assert.ok(p + 1000 <= GiB4);
        ps.push(p);
      }
      assert.ok(ps.length >= 40, `only ${ps.length} 1000-byte blocks fit into the last page (memory ${r.pages()} pages)`);
      assert.equal(r.check(), 0, 'ralloc_check with a heap reaching 2^32');
      for (const p of ps) r.free(p);
      r.free(big);
      assert.equal(r.check(), 0);
      const again = r.malloc(0xfffe0000);
      assert.notEqual(again, 0, 'the whole 4 GiB heap is reusable');
      assert.equal(r.malloc(0xffff0000), 0);
    });

    it('requests between 2^31 and 4 GiB - 128 KiB are met when memory can grow that far (no false OOM in the top size lists)', () => {
      for (const [initial, n] of [[1, 0x80000000], [1, 0x98000000], [40000, 0x98000000], [32768, 0xc0000000], [1, 0xf0000000], [1, 0xfffe0000]]) {
        const memory = new WebAssembly.Memory({ initial, maximum: 65536 });
        const r = createInstance(build, { memory, heapBase: 1024 });
        const p = r.malloc(n);
        assert.notEqual(p, 0, `malloc(${hex(n)}) on a ${initial}-page memory that may grow to 4 GiB (heap base 1024) returned 0`);
        assert.ok(p >= 1024 && p + n <= GiB4, `block ${hex(p)}+${hex(n)} outside the memory`);
        assert.ok(r.usableSize(p) >= n);
        assert.equal(r.check(), 0);
      }
    });

    it('a foreign grow to 4 GiB leaves the allocator working and the foreign pages untouched', () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      const r = createInstance(build, { memory });
      const sh = new Shadow(r);
      for (let i = 0; i < 10; i++) sh.add(r.malloc(500), 500);
      const start = r.memBytes();
      memory.grow(65536 - r.pages());
      const tail = GiB4 - PAGE;
      fillPattern(r, tail, PAGE, 4);
      fillPattern(r, start, PAGE, 5);
      sh.forbidden.push([start, GiB4]);
      for (const n of [16, 1000, PAGE, 1 << 20]) {
        const p = r.malloc(n);
        if (p) sh.add(p, n);
      }
      assert.equal(findPatternMismatch(r, tail, PAGE, 4), -1, 'last page overwritten');
      assert.equal(findPatternMismatch(r, start, PAGE, 5), -1, 'first foreign page overwritten');
      assert.equal(r.check(), 0);
    });
  });
}

// Buffers grown by realloc in small steps, in turns (so none can always grow in place): release
// moves a growing block to half as much again as it held, so each buffer moves O(log n) times.
// Growing exactly, a buffer moves whenever a neighbour blocks it: every few steps.
describe('release: realloc growth moves a buffer O(log n) times', () => {
  it('four buffers grown in turns by 16 bytes from 2 KiB to 128 KiB move at most 16 times each, and keep their bytes', () => {
    const r = createInstance('release', { initial: 1, maximum: 1024 });
    const bufs = [0, 1, 2, 3].map(() => ({ p: r.malloc(2048), n: 2048, moves: 0 }));
    bufs.forEach((b, i) => fillPattern(r, b.p, b.n, i + 1));
    for (let step = 0; bufs[3].n < 128 * 1024; step++) {
      const i = step & 3, b = bufs[i];
      const q = r.realloc(b.p, b.n + 16);
      assert.notEqual(q, 0);
      if (q !== b.p) b.moves++;
      assert.equal(findPatternMismatch(r, q, 2048, i + 1), -1, 'the buffer kept its first bytes');
      b.p = q;
      b.n += 16;
    }
    // log1.5(128 KiB / 2 KiB) < 11; a move that finds no room half as large again takes the exact size
    const moves = bufs.map((b) => b.moves);
    if (process.env.SHOW_MOVES) console.log(moves.join(' '));
    // (growing exactly, as small does, the same loop moves each buffer 27-36 times)
    assert.ok(moves.every((m) => m <= 16), `moves per buffer growing from 2 KiB to 128 KiB: ${moves.join(', ')}`);
    assertCheck(r, 'after growing four buffers');
  });

  it('a block that fits the new size with less than a quarter to spare stays whole; with more, its tail goes back', () => {
    const r = createInstance('release', { initial: 1, maximum: 64 });
    const p = r.malloc(4000);
    const room = r.usableSize(p);
    assert.equal(r.realloc(p, 3200), p);
    assert.equal(r.usableSize(p), room, 'shrunk by a fifth: kept whole');
    assert.equal(r.realloc(p, 2000), p);
    assert.ok(r.usableSize(p) < 2100, `shrunk by half: the tail went back (usable ${r.usableSize(p)})`);
    assertCheck(r, 'after shrinking');
  });

  it('a growing realloc that moves into an object of a page copies the block\'s bytes, not what lies before the object', () => {
    // A general block (aligned above 16) of 100 bytes, grown to 200 with no free block left to take
    // the room: the block moves to an object of a page (no header of its own).
    const r = warmPages(createInstance('release', { initial: 1, maximum: 16 }), [200, 208]);
    const neighbour = r.malloc(200); // a live object of class 13: its page has room for more
    r.view().setUint32(neighbour + 204, 16, true); // its last bytes, which would read as a 16-byte header after it
    const p = r.alignedAlloc(32, 100);
    fillPattern(r, p, 100, 7);
    const fillers = [];
    for (const n of [4096, 1024, 160]) { // no general block of 208 bytes or more left
      for (let f = r.alignedAlloc(32, n); f; f = r.alignedAlloc(32, n)) fillers.push(f);
    }
    const q = r.realloc(p, 200);
    assert.notEqual(q, 0);
    assert.notEqual(q, p);
    assert.equal(findPatternMismatch(r, q, 100, 7), -1, 'the 100 bytes came along');
    assert.equal(q, neighbour + 208, 'the block moved into the object after its neighbour');
    fillers.forEach((f) => r.free(f));
    assertCheck(r, 'after the move');
  });

  it('a realloc that cannot be met asks the OOM handler once, for the size requested', () => {
    const asked = [];
    const r = createInstance('release', { initial: 1, maximum: 3, hooks: { 'ralloc_hooks.oom': (n) => { asked.push(n >>> 0); return 0; } } });
    const p = r.malloc(100000);
    assert.notEqual(p, 0);
    assert.notEqual(r.malloc(2000), 0, 'a block after p, so p cannot grow in place');
    // release would move p to 150000 bytes (half as much again) if it could; that room is no reason to call the handler
    assert.equal(r.realloc(p, 140000), 0, 'no room for 140000 more bytes in 192 KiB');
    assert.deepEqual(asked, [140000]);
    assert.equal(r.usableSize(p) >= 100000, true, 'p is still live');
    assertCheck(r, 'after the failed realloc');
  });
});
