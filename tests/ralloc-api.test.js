// ralloc's extended API at the C ABI, on every build: OOM handlers, failable and in-place
// allocation, partial and separate deallocation, any alignment, local heaps, safe sbrk, trimming,
// and a knob set at compile time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import {
  BUILDS, GUARDED_BUILDS, PAGE, EINVAL, SBRK_FAIL, createInstance, fillPattern, findPatternMismatch, hex8,
} from './lib/instance.js';

const u = (x) => x >>> 0;

/** Asserts that fn stops with a misuse report carrying exactly `message` (guarded builds). */
function assertStops(fn, message, what) {
  assert.throws(fn, (e) => {
    assert.equal(e?.name, 'MisuseReport', `${what}: expected the misuse report "${message}", got ${e?.stack ?? e}`);
    assert.equal(e.message, message, what);
    return true;
  }, `${what}: expected the misuse report "${message}", but the call returned`);
}

/** An instance whose ralloc_hooks.oom calls `onOom(size)` (default: the no-op that returns undefined = 0). */
function mk(build, opts = {}) {
  const { onOom, ...rest } = opts;
  const hooks = onOom ? { 'ralloc_hooks.oom': onOom } : {};
  return createInstance(build, { heapBase: 1024, ...rest, hooks });
}

for (const build of BUILDS) {
  describe(`ralloc API: ${build}`, () => {
    describe('OOM handlers', () => {
      it('the default handler lets malloc return 0', () => {
        const r = mk(build, { initial: 1, maximum: 2 });
        assert.equal(r.malloc(3 * PAGE), 0);
        assert.equal(r.check(), 0);
      });

      it('the handler is called with the size, and a retry after it frees memory succeeds', () => {
        let reserve = 0;
        const sizes = [];
        const r = mk(build, {
          initial: 1, maximum: 2,
          onOom: (size) => { sizes.push(size >>> 0); if (!reserve) return 0; r.free(reserve); reserve = 0; return 1; },
        });
        reserve = r.malloc(100000);
        assert.notEqual(reserve, 0);
        const p = r.malloc(90000);
        assert.notEqual(p, 0, 'the retry after the handler freed the reserve');
        assert.deepEqual(sizes, [90000]);
        assert.equal(r.check(), 0);
      });

      it('a handler that raises nothing is called once and the request fails cleanly', () => {
        let calls = 0;
        const r = mk(build, { initial: 1, maximum: 2, onOom: () => { calls++; return 1; } });
        assert.equal(r.malloc(5 * PAGE), 0);
        assert.equal(calls, 1, 'retried exactly once');
        assert.equal(r.check(), 0);
      });

      it('calloc, realloc and ralloc_alloc call the handler too; raising the limit (memory.grow by the host) is retried', () => {
        for (const call of ['calloc', 'realloc', 'ralloc_alloc']) {
          let calls = 0;
          const r = mk(build, { initial: 1, maximum: 4, onOom: () => { calls++; return 0; } });
          const keep = r.malloc(100);
          const p = call === 'calloc' ? r.calloc(1, 5 * PAGE)
            : call === 'realloc' ? r.realloc(keep, 5 * PAGE)
            : u(r.exports.ralloc_alloc(5 * PAGE, 64));
          assert.equal(p, 0, call);
          assert.equal(calls, 1, `${call} asked the handler`);
          assert.equal(r.check(), 0);
        }
      });
    });

    describe('failable allocation', () => {
      it('ralloc_try_alloc returns 0 and never calls the handler', () => {
        let calls = 0;
        const r = mk(build, { initial: 1, maximum: 2, onOom: () => { calls++; return 1; } });
        assert.equal(u(r.exports.ralloc_try_alloc(3 * PAGE, 16)), 0);
        assert.equal(calls, 0);
        const p = u(r.exports.ralloc_try_alloc(100, 16));
        assert.notEqual(p, 0);
        r.free(p);
        assert.equal(r.check(), 0);
      });
    });

    describe('in-place reallocation', () => {
      it('grows into a free successor without moving, and fails with 0 leaving the block as it was', () => {
        const r = mk(build);
        const a = r.malloc(2000), b = r.malloc(2000), c = r.malloc(2000);
        fillPattern(r, a, 2000, 1);
        r.free(b);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 3500)), a);
        assert.ok(r.usableSize(a) >= 3500);
        assert.equal(findPatternMismatch(r, a, 2000, 1), -1);
        const before = r.usableSize(a);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 50000)), 0, 'c is in the way');
        assert.equal(r.usableSize(a), before, 'a unchanged after a failed in-place grow');
        assert.equal(findPatternMismatch(r, a, 2000, 1), -1);
        assert.equal(r.check(), 0);
        r.free(c);
      });

      it('shrinking in place always succeeds and gives the tail back', () => {
        const r = mk(build);
        const a = r.malloc(10000), guard = r.malloc(16);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 100)), a);
        assert.ok(r.usableSize(a) < 200);
        const b = r.malloc(5000);
        assert.ok(b > a && b < guard, 'the freed tail is reused');
        assert.equal(r.check(), 0);
      });

      it('a block at the top of the heap grows in place by growing memory', () => {
        const r = mk(build, { initial: 1, maximum: 64 });
        const filler = r.malloc(PAGE - 4096);
        const top = r.malloc(2000);
        assert.equal(u(r.exports.ralloc_inplace_realloc(top, 5 * PAGE)), top);
        assert.ok(r.usableSize(top) >= 5 * PAGE);
        assert.equal(r.check(), 0);
        r.free(filler);
      });

      if (!GUARDED_BUILDS.includes(build)) {
        it('refuses a pointer that is not a live block', () => {
          const r = mk(build);
          const a = r.malloc(100);
          r.free(a);
          assert.equal(u(r.exports.ralloc_inplace_realloc(a, 50)), 0);
          assert.equal(u(r.exports.ralloc_inplace_realloc(12345, 50)), 0);
          assert.equal(r.check(), 0);
        });
      } else {
        it('stops on a pointer that is not a live block, with the exact message', () => {
          const r = mk(build);
          const a = r.malloc(100);
          r.free(a);
          assertStops(() => r.exports.ralloc_inplace_realloc(a, 50), `ralloc: ralloc_inplace_realloc of freed ${hex8(a)} (100 bytes)`, 'a freed block');
          const r2 = mk(build);
          r2.malloc(100);
          assertStops(() => r2.exports.ralloc_inplace_realloc(12345, 50), 'ralloc: invalid ralloc_inplace_realloc of 0x00003039 (misaligned)', 'a stray pointer');
        });
      }
    });

    describe('partial deallocation', () => {
      it("ralloc's example: 200 bytes freed as two 100-byte halves leaves bytes in use where they were, and the memory is reused", () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const p = r.malloc(200);
        assert.equal(r.exports.ralloc_dealloc(p, 100), 0);
        assert.equal(r.check(), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 100, 100), 0);
        assert.equal(r.check(), 0);
        const s = r.stats();
        assert.equal(s.bytesInUse, base, 'bytes in use back to where they were');
        assert.equal(s.liveBlocks, 0);
        assert.equal(r.malloc(200), p, 'the same memory is handed out again');
      });

      it('frees a prefix, a suffix and a middle; the rest stays intact and is freed later', () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const n = 4000;
        const p = r.malloc(n);
        fillPattern(r, p, n, 9);
        const kept = [[1000, 1500], [3000, 4000]].map(([from, to]) => [from, to, r.readBytes(p + from, to - from)]);
        assert.equal(r.exports.ralloc_dealloc(p + 1500, 1500), 0, 'middle');
        assert.equal(r.exports.ralloc_dealloc(p, 1000), 0, 'prefix');
        assert.equal(r.check(), 0);
        const inUse = r.stats().bytesInUse - base;
        assert.ok(inUse >= 1500 && inUse < 1500 + 64, `only the kept 1500 bytes (and rounding) stay in use: ${inUse}`);
        const reused = r.malloc(1400);
        assert.ok(reused >= p - 16 && reused < p + 3000, 'freed middle or prefix memory is reused');
        fillPattern(r, reused, 1400, 2);
        for (const [from, to, bytes] of kept) assert.deepEqual(r.readBytes(p + from, to - from), bytes, `kept [${from}, ${to}) intact`);
        r.free(reused);
        assert.equal(r.exports.ralloc_dealloc(p + 3000, 1000), 0, 'the suffix piece');
        assert.equal(r.exports.ralloc_dealloc(p + 1000, 500), 0, 'the last kept piece');
        assert.equal(r.check(), 0);
        assert.equal(r.stats().bytesInUse, base, 'every byte came back');
        assert.equal(r.stats().liveBlocks, 0);
      });

      it('keeps the contents of the kept pieces', () => {
        const r = mk(build);
        const p = r.malloc(3000);
        fillPattern(r, p, 3000, 4);
        const keep = r.readBytes(p + 1000, 1000);
        const keepTail = r.readBytes(p + 2500, 500);
        assert.equal(r.exports.ralloc_dealloc(p, 1000), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 2000, 500), 0);
        const a = r.malloc(900), b = r.malloc(400);
        fillPattern(r, a, 900, 5);
        fillPattern(r, b, 400, 6);
        assert.deepEqual(r.readBytes(p + 1000, 1000), keep);
        assert.deepEqual(r.readBytes(p + 2500, 500), keepTail);
        assert.equal(r.check(), 0);
      });

      if (GUARDED_BUILDS.includes(build)) {
        // Each range release refuses is a misuse here: it stops, naming the range; one instance each.
        it('stops on ranges not inside one live block, with the exact message', () => {
          const cases = [
            ['runs into the next block', (a) => [a + 100, 400], (a) => `ralloc: invalid ralloc_dealloc of ${hex8(a + 100)} (400 bytes: not inside one live block)`],
            ['empty range', (a) => [a, 0], (a) => `ralloc: invalid ralloc_dealloc of ${hex8(a)} (0 bytes: not inside one live block)`],
            ['outside the heap (below its base)', () => [16, 10], () => 'ralloc: invalid ralloc_dealloc of 0x00000010 (static data, below the heap)'],
            ['a freed block (the size named is the range\'s)', (a, b) => [b, 100], (a, b) => `ralloc: ralloc_dealloc of freed ${hex8(b)} (100 bytes)`],
            ['inside a freed block', (a, b) => [b + 20, 10], (a, b) => `ralloc: ralloc_dealloc of freed ${hex8(b + 20)} (10 bytes)`],
            ['inside the piece freed just before: a double free', (a) => [a + 55, 5], (a) => `ralloc: ralloc_dealloc of freed ${hex8(a + 55)} (5 bytes)`],
          ];
          for (const [what, range, message] of cases) {
            const r = mk(build);
            const a = r.malloc(200), b = r.malloc(200);
            r.free(b);
            assert.equal(r.exports.ralloc_dealloc(a + 50, 20), 0, 'a small middle piece');
            const [x, n] = range(a, b);
            assertStops(() => r.exports.ralloc_dealloc(x, n), message(a, b), what);
          }
        });
      } else it('refuses ranges not inside one live block and changes nothing', () => {
        const r = mk(build);
        const a = r.malloc(200), b = r.malloc(200);
        const before = r.stats();
        assert.equal(r.exports.ralloc_dealloc(a + 100, 400), EINVAL, 'runs into the next block');
        assert.equal(r.exports.ralloc_dealloc(a, 0), EINVAL, 'empty range');
        assert.equal(r.exports.ralloc_dealloc(16, 10), EINVAL, 'outside the heap');
        r.free(b);
        assert.equal(r.exports.ralloc_dealloc(b, 100), EINVAL, 'a freed block');
        assert.equal(r.exports.ralloc_dealloc(b + 20, 10), EINVAL, 'inside a freed block');
        assert.equal(r.exports.ralloc_dealloc(a + 50, 20), 0, 'a small middle piece');
        assert.equal(r.exports.ralloc_dealloc(a + 55, 5), EINVAL, 'inside the piece freed just before: a double free');
        assert.equal(r.check(), 0);
        assert.ok(r.usableSize(a) >= 200, 'a is still live');
        assert.equal(r.stats().liveBlocks, before.liveBlocks - 1, 'only b was freed');
      });

      it('a small middle piece comes back with its neighbours', () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const p = r.malloc(300);
        assert.equal(r.exports.ralloc_dealloc(p + 100, 18), 0, 'too small to stand alone');
        assert.equal(r.check(), 0);
        assert.equal(r.exports.ralloc_dealloc(p, 100), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 118, 182), 0);
        assert.equal(r.check(), 0);
        assert.equal(r.stats().bytesInUse, base, 'the 18 bytes came back too');
      });

      it('random partial frees keep the heap sound and give every byte back', () => {
        const r = mk(build, { maximum: 4096 });
        const base = r.stats().bytesInUse;
        let seed = 7;
        const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
        for (let round = 0; round < 200; round++) {
          const n = 64 + rnd(6000);
          const p = r.malloc(n);
          assert.notEqual(p, 0);
          // cut [0, n) into random pieces of >= 16 bytes and free them in random order
          const cuts = [0];
          while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + 16 + rnd(400)));
          if (n - cuts[cuts.length - 2] < 16 && cuts.length > 2) cuts.splice(cuts.length - 2, 1);
          const pieces = cuts.slice(1).map((end, i) => [cuts[i], end]);
          for (let i = pieces.length - 1; i > 0; i--) { const j = rnd(i + 1); [pieces[i], pieces[j]] = [pieces[j], pieces[i]]; }
          for (const [from, to] of pieces) {
            assert.equal(r.exports.ralloc_dealloc(p + from, to - from), 0, `round ${round}: [${from}, ${to}) of ${n}`);
          }
          const code = r.check();
          assert.equal(code, 0, `round ${round}: check ${code}`);
          assert.equal(r.stats().bytesInUse, base, `round ${round}: all ${n} bytes back`);
        }
      });
    });

    describe('separate deallocation (donate)', () => {
      it('donated static memory serves allocations', () => {
        const r = createInstance(build, { heapBase: 32768, initial: 1, maximum: 1 });
        // [4096, 20480) lies below the heap: "static data" nobody allocated
        assert.equal(r.exports.ralloc_donate(4096, 16384), 0);
        const got = [];
        for (let i = 0; i < 40; i++) { const p = r.malloc(300); if (p) got.push(p); }
        assert.ok(got.some((p) => p >= 4096 && p < 20480), 'some blocks come from the donated buffer');
        assert.equal(r.check(), 0);
      });

      it('refuses overlap with the heap, a live block, or memory nobody was given', () => {
        const r = mk(build, { initial: 4 });
        const p = r.malloc(1000);
        assert.equal(r.exports.ralloc_donate(p, 500), EINVAL, 'a live block');
        assert.equal(r.exports.ralloc_donate(p - 2000, 4000), EINVAL, 'overlaps the heap');
        assert.equal(r.exports.ralloc_donate(0, 512), EINVAL, 'null');
        assert.equal(r.exports.ralloc_donate(4 * PAGE - 100, 1000), EINVAL, 'past the end of memory');
        assert.equal(r.exports.ralloc_donate(256, 8), EINVAL, 'too small to hold a block');
        assert.equal(r.check(), 0);
      });

      it('an sbrk region can be donated and is then used', () => {
        const r = mk(build, { initial: 1, maximum: 64 });
        r.malloc(100);
        const region = r.sbrk(8192);
        assert.notEqual(region, SBRK_FAIL);
        assert.equal(r.exports.ralloc_donate(region, 8192), 0);
        let hit = false;
        for (let i = 0; i < 200 && !hit; i++) { const q = r.malloc(500); if (q >= region && q < region + 8192) hit = true; }
        assert.ok(hit);
        assert.equal(r.check(), 0);
      });
    });

    describe('any alignment', () => {
      for (const align of [1, 2, 3, 8, 12, 24, 100, 1000, 4096, 65536, 48, 7, 640]) {
        it(`ralloc_alloc honours alignment ${align}, and free accepts the result`, () => {
          const r = mk(build, { maximum: 2048 });
          const ps = [];
          for (const n of [1, 10, 100, 1000, 10000]) {
            const p = u(r.exports.ralloc_alloc(n, align));
            assert.notEqual(p, 0);
            assert.equal(p % align, 0, `${p} % ${align}`);
            assert.equal(p % 16, 0, 'still 16-aligned');
            assert.ok(r.usableSize(p) >= n);
            ps.push(p);
          }
          assert.equal(r.check(), 0);
          for (const p of ps) r.free(p);
          assert.equal(r.check(), 0);
          assert.equal(r.stats().liveBlocks, 0);
        });
      }
      it('alignment 0 and alignments too large to ever fit return 0', () => {
        const r = mk(build);
        assert.equal(u(r.exports.ralloc_alloc(100, 0)), 0);
        assert.equal(u(r.exports.ralloc_alloc(100, 0xFFFFFFF0)), 0);
        assert.equal(r.check(), 0);
      });
    });

    describe('local heaps', () => {
      it('a heap over a buffer is independent of the global heap and is released at once', () => {
        const r = mk(build);
        const buf = r.malloc(64 * 1024);
        const before = r.stats();
        const h = u(r.exports.ralloc_heap_over(buf, 64 * 1024));
        assert.notEqual(h, 0);
        const ps = [];
        for (let i = 0; i < 50; i++) { const p = u(r.exports.ralloc_heap_alloc(h, 500, 16)); assert.ok(p >= buf && p < buf + 65536); ps.push(p); }
        assert.equal(u(r.exports.ralloc_heap_check(h)), 0);
        for (const p of ps.slice(0, 25)) assert.equal(r.exports.ralloc_heap_free(h, p), 0);
        if (GUARDED_BUILDS.includes(build)) {
          // a misuse that stops: checked on an instance of its own, so this one goes on
          const r2 = mk(build);
          const h2 = u(r2.exports.ralloc_heap_over(r2.malloc(64 * 1024), 64 * 1024));
          const x = u(r2.exports.ralloc_heap_alloc(h2, 500, 16));
          assert.equal(r2.exports.ralloc_heap_free(h2, x), 0);
          assertStops(() => r2.exports.ralloc_heap_free(h2, x), `ralloc: double free of ${hex8(x)} (500 bytes)`, 'double free in a local heap');
        } else {
          assert.equal(r.exports.ralloc_heap_free(h, ps[0]), EINVAL, 'double free in a local heap is refused');
        }
        assert.equal(r.stats().bytesInUse, before.bytesInUse, 'the global heap did not move');
        assert.equal(r.exports.ralloc_heap_destroy(h), 0);
        assert.equal(u(r.exports.ralloc_heap_alloc(h, 10, 16)), 0, 'a destroyed heap refuses work');
        assert.equal(r.exports.ralloc_heap_destroy(h), EINVAL);
        assert.equal(r.check(), 0);
      });

      it('a heap grown from the pool gives every chunk back on destroy', () => {
        const r = mk(build, { maximum: 4096 });
        const keep = r.malloc(100);
        const before = r.stats();
        const h = u(r.exports.ralloc_heap_new(4096));
        assert.notEqual(h, 0);
        let total = 0;
        for (let i = 0; i < 300; i++) {
          const n = 100 + (i * 37) % 3000;
          const p = u(r.exports.ralloc_heap_alloc(h, n, 16));
          assert.notEqual(p, 0);
          total += n;
        }
        assert.ok(total > 400000);
        assert.equal(u(r.exports.ralloc_heap_check(h)), 0);
        assert.equal(r.check(), 0);
        assert.ok(r.stats().bytesInUse > before.bytesInUse + 400000, 'chunks are live blocks of the global heap');
        assert.equal(r.exports.ralloc_heap_destroy(h), 0);
        const after = r.stats();
        assert.equal(after.bytesInUse, before.bytesInUse, 'every chunk came back');
        assert.equal(after.liveBlocks, before.liveBlocks);
        assert.equal(r.check(), 0);
        r.free(keep);
      });

      it('bad handles are refused', () => {
        const r = mk(build);
        const p = r.malloc(100);
        assert.equal(u(r.exports.ralloc_heap_alloc(p, 10, 16)), 0);
        assert.equal(r.exports.ralloc_heap_destroy(p), EINVAL);
        assert.equal(u(r.exports.ralloc_heap_over(p, 100)), 0, 'too small for a heap');
        assert.equal(r.check(), 0);
      });
    });

    describe('safe sbrk and trimming', () => {
      it('sbrk interleaved with malloc: no overlap, and the heap keeps working', () => {
        const r = mk(build, { initial: 1, maximum: 256 });
        const regions = [];
        const blocks = [];
        for (let i = 0; i < 60; i++) {
          blocks.push([r.malloc(1000 + i * 100), 1000 + i * 100]);
          const s = r.sbrk(3000);
          assert.notEqual(s, SBRK_FAIL);
          fillPattern(r, s, 3000, i);
          regions.push(s);
        }
        for (const [p, n] of blocks) for (const s of regions) assert.ok(p + n <= s || s + 3000 <= p, 'malloc block overlaps an sbrk region');
        for (const [p] of blocks) r.free(p);
        for (let i = 0; i < 60; i++) { const q = r.malloc(2000); assert.notEqual(q, 0); }
        regions.forEach((s, i) => assert.equal(findPatternMismatch(r, s, 3000, i), -1, `sbrk region ${i} overwritten`));
        assert.equal(r.check(), 0);
      });

      it('trim gives free memory at the top back to the break, where sbrk takes it without growing', () => {
        const r = mk(build, { initial: 1, maximum: 256 });
        const a = r.malloc(100);
        const big = r.malloc(20 * PAGE);
        r.free(big);
        const pages = r.pages();
        const given = u(r.exports.ralloc_trim());
        assert.ok(given >= 19 * PAGE, `trim gave back ${given} bytes`);
        assert.equal(r.check(), 0);
        const brk = r.sbrk(0);
        const s = r.sbrk(18 * PAGE);
        assert.equal(s, brk);
        assert.ok(s > a);
        assert.equal(r.pages(), pages, 'sbrk used the trimmed memory without growing');
        assert.equal(u(r.exports.ralloc_trim()), 0, 'nothing left to trim');
        const q = r.malloc(1000);
        assert.notEqual(q, 0);
        assert.ok(q + 1000 <= s || q >= s + 18 * PAGE);
        assert.equal(r.check(), 0);
      });
    });
  });
}

describe('knobs', () => {
  // One variant compiled with non-default knobs, the way a user would (asc --use NAME=value).
  const require = createRequire(import.meta.url);
  const asc = require.resolve('assemblyscript/bin/asc.js');
  const dir = mkdtempSync(join(tmpdir(), 'ralloc-knob-'));
  const out = join(dir, 'knob.wasm');
  // An empty config: otherwise asc reads the repo's asconfig.json and its release target would
  // write this variant's text over build/release.wat.
  const config = join(dir, 'asconfig.json');
  writeFileSync(config, '{}');
  execFileSync(process.execPath, [asc, 'assembly/module.ts', '--config', config, '-o', out, '-O3', '--noAssert', '--runtime', 'stub',
    '--importMemory', '--noExportMemory', '--initialMemory', '0', '--use', 'abort=',
    '--use', 'RALLOC_GROW_MIN_PAGES=16', '--use', 'RALLOC_MEMTRIM_LIMIT=131072'],
    { cwd: new URL('..', import.meta.url).pathname, stdio: 'pipe' });
  const variant = new WebAssembly.Module(readFileSync(out));
  const standard = new WebAssembly.Module(readFileSync(new URL('../build/release.wasm', import.meta.url)));
  const start = (mod) => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
    const x = new WebAssembly.Instance(mod, { env: { memory }, ralloc_hooks: { oom: () => 0 } }).exports;
    x.ralloc_init(1024);
    return { x, memory };
  };

  it('RALLOC_GROW_MIN_PAGES=16 makes every memory.grow add at least 16 pages', () => {
    const grown = (mod) => { const { x, memory } = start(mod); assert.notEqual(x.malloc(70000), 0); return memory.buffer.byteLength / PAGE; };
    const custom = grown(variant), plain = grown(standard);
    assert.ok(plain < 5, `default growth added ${plain - 1} pages`);
    assert.ok(custom >= 17, `GROW_MIN_PAGES=16 should add at least 16 pages, memory has ${custom}`);
  });

  it('RALLOC_MEMTRIM_LIMIT=131072 gives a large free top back to the break on its own; the default does not', () => {
    const trimmedBy = (mod) => {
      const { x } = start(mod);
      const keep = x.malloc(100);
      const big = x.malloc(20 * PAGE);
      const brk = x.sbrk(0) >>> 0;
      x.free(big);
      assert.equal(x.ralloc_check(), 0);
      assert.notEqual(keep, 0);
      return brk - (x.sbrk(0) >>> 0);
    };
    assert.ok(trimmedBy(variant) >= 19 * PAGE, 'the variant trimmed the freed top');
    assert.equal(trimmedBy(standard), 0, 'the default build keeps it');
  });
});
