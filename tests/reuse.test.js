// After freeing everything, the whole heap is reusable (as AssemblyScript's allocator tests check;
// peer bug 8, among the bugs other allocators shipped: footprint leaks that pass functional tests).
//   - a workload (mixed sizes, realloc growth chains, aligned and zeroed blocks, frees in random
//     order) repeated 100 times ends every repetition with the memory size of the first;
//   - fill a capped memory with one size until nothing fits, free all, fill with another size: the
//     second fill gets as many bytes as the same fill on a fresh heap (less at most one 64 KiB page
//     a cache may legitimately keep).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BUILDS, PAGE, buildPath, createInstance, Rng, hex } from './lib/instance.js';
import { Shadow } from './lib/shadow.js';

const REPEATS = 100;
const CACHE_ALLOWANCE = PAGE;

/**
 * One deterministic run of the workload; everything it allocates is freed (in random order) at the
 * end. Its choices depend only on the seed, never on the addresses the allocator returns, so every
 * repetition makes exactly the same requests.
 */
function workload(r, sh, seed, { aligned = true } = {}) {
  const rng = new Rng(seed);
  const live = []; // blocks in the order the workload created them (swap-removed)
  const add = (b) => { live.push(b); return b; };
  const take = (i) => { const b = live[i]; live[i] = live[live.length - 1]; live.pop(); return b; };
  // vectors grown by realloc, doubling like a dynamic array
  const vectors = [];
  for (let v = 0; v < 6; v++) vectors.push(sh.add(r.malloc(16), 16, 16, { what: 'vector' }));
  for (let op = 0; op < 1500; op++) {
    const k = rng.below(100);
    if (k < 30 && live.length > 0) {
      const b = take(rng.below(live.length));
      sh.remove(b.ptr);
      r.free(b.ptr);
    } else if (k < 40) {
      const v = rng.below(vectors.length);
      const old = vectors[v];
      const n = old.size >= 200000 ? 16 : old.size * 2 + rng.below(16);
      sh.verify(old, 'vector before realloc');
      const q = r.realloc(old.ptr, n);
      assert.notEqual(q, 0, `realloc(${hex(old.ptr)}, ${n}) failed`);
      vectors[v] = sh.moved(old, q, n);
    } else if (k < 45) {
      const n = rng.range(1, 40000);
      add(sh.add(r.calloc(n, 1), n, 16, { zeroed: true, what: 'calloc' }));
    } else if (k < 50 && aligned) {
      const a = 2 ** rng.range(5, 13);
      const n = rng.range(1, 5000);
      add(sh.add(r.alignedAlloc(a, n), n, a, { what: `aligned_alloc(${a})` }));
    } else {
      const n = rng.chance(0.05) ? rng.range(65536, 600000) : rng.chance(0.7) ? rng.range(0, 256) : rng.range(257, 20000);
      add(sh.add(r.malloc(n), n, 16, { what: 'malloc' }));
    }
  }
  const order = [...live, ...vectors];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const b of order) {
    sh.remove(b.ptr);
    r.free(b.ptr);
  }
}

/** Fill with allocations of `n` bytes until one fails; returns the pointers (checked distinct and in memory). */
function fillWith(r, alloc, n, label) {
  const ps = [];
  for (;;) {
    const p = alloc(n);
    if (p === 0) break;
    assert.ok(p + n <= r.memBytes(), `${label}: block ${hex(p)}+${n} past the end of memory`);
    ps.push(p);
  }
  const sorted = [...ps].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++)
    assert.ok(sorted[i - 1] + Math.max(n, 1) <= sorted[i], `${label}: blocks ${hex(sorted[i - 1])} and ${hex(sorted[i])} overlap`);
  return ps;
}

for (const build of BUILDS) {
  describe(`whole heap reusable after freeing everything: ${build}`, () => {
    if (!existsSync(buildPath(build))) {
      it(`build/${build}.wasm exists (run node scripts/build.js)`, () => assert.fail(`missing ${buildPath(build)}`));
      return;
    }

    for (const [name, opts] of [['mixed sizes, realloc growth, aligned and zeroed blocks', {}], ['mixed sizes and realloc growth only', { aligned: false }]]) {
      it(`a workload (${name}) repeated ${REPEATS} times ends each time with the memory size of its first run`, { timeout: 120_000 }, () => {
        const r = createInstance(build, { initial: 1, maximum: 4096 });
        const sh = new Shadow(r);
        const s0 = r.stats();
        workload(r, sh, 2024, opts);
        const first = r.memBytes();
        for (let rep = 2; rep <= REPEATS; rep++) {
          workload(r, sh, 2024, opts);
          assert.equal(r.memBytes(), first, `after repetition ${rep} memory is ${r.memBytes()} bytes, after the first it was ${first}`);
          if (rep % 10 === 0 || rep === REPEATS) {
            assert.equal(r.check(), 0, `ralloc_check() after repetition ${rep}`);
            const st = r.stats();
            assert.equal(st.bytesInUse, s0.bytesInUse, `bytes in use after repetition ${rep}`);
            assert.equal(st.liveBlocks, s0.liveBlocks, `live blocks after repetition ${rep}`);
          }
        }
      });
    }

    it(`a workload with a different seed each time never needs more memory than its largest single run`, { timeout: 120_000 }, () => {
      // each seed alone, on a fresh heap: the most memory any one run needs
      let need = 0;
      for (let s = 0; s < 20; s++) {
        const f = createInstance(build, { initial: 1, maximum: 4096 });
        workload(f, new Shadow(f), 500 + s);
        need = Math.max(need, f.memBytes());
      }
      const r = createInstance(build, { initial: 1, maximum: 4096 });
      const sh = new Shadow(r);
      for (let s = 0; s < 20; s++) workload(r, sh, 500 + s);
      // runs share nothing, so one heap serving them in turn needs no more than the largest of them
      // plus one growth step (growth is geometric: up to half the heap again) for runs that need
      // a few pages more than the heap at that moment has
      assert.ok(r.memBytes() <= Math.ceil(need * 1.5) + CACHE_ALLOWANCE,
        `20 workloads in turn grew memory to ${r.memBytes()} bytes, the largest alone needs ${need}`);
      assert.equal(r.check(), 0);
    });

    const pairs = [
      ['malloc', 16, 'malloc', 4096],
      ['malloc', 4096, 'malloc', 16],
      ['malloc', 24, 'malloc', 1000],
      ['malloc', 1000, 'malloc', 24],
      ['malloc', 512, 'malloc', 520],
      ['malloc', 1024, 'malloc', 1040],
      ['malloc', 100, 'malloc', 3 * PAGE + 5],
      ['malloc', 3 * PAGE + 5, 'malloc', 100],
      ['aligned_alloc(256)', 300, 'malloc', 48],
      ['malloc', 48, 'aligned_alloc(4096)', 5000],
      ['calloc', 200, 'malloc', 7000],
      ['malloc', 0, 'malloc', 64],
    ];
    for (const [ka, a, kb, b] of pairs) {
      it(`fill a 16-page memory with ${ka}(${a}), free all, fill with ${kb}(${b}): as many bytes as on a fresh heap`, { timeout: 60_000 }, () => {
        const make = () => createInstance(build, { initial: 1, maximum: 16, heapBase: 1024 });
        const allocator = (r, kind) => {
          if (kind === 'malloc') return (n) => r.malloc(n);
          if (kind === 'calloc') return (n) => r.calloc(n, 1);
          const align = Number(kind.match(/\d+/)[0]);
          return (n) => r.alignedAlloc(align, n);
        };
        const freshB = make();
        const nFresh = fillWith(freshB, allocator(freshB, kb), b, `fresh ${kb}(${b})`).length;
        assert.ok(nFresh > 0);

        const r = make();
        const first = fillWith(r, allocator(r, ka), a, `${ka}(${a})`);
        const rng = new Rng(a * 31 + b);
        for (let i = first.length - 1; i > 0; i--) {
          const j = rng.below(i + 1);
          [first[i], first[j]] = [first[j], first[i]];
        }
        for (const p of first) r.free(p);
        assert.equal(r.check(), 0, 'ralloc_check() after freeing the first fill');
        assert.equal(r.stats().bytesInUse, 0);
        const second = fillWith(r, allocator(r, kb), b, `${kb}(${b}) after ${ka}(${a})`);
        const unit = Math.max(b, 1);
        assert.ok(second.length * unit >= nFresh * unit - CACHE_ALLOWANCE,
          `after ${first.length} x ${ka}(${a}) were freed, only ${second.length} x ${kb}(${b}) fit; a fresh heap holds ${nFresh}`);
        assert.equal(r.check(), 0, 'ralloc_check() after the second fill');
      });
    }
  });
}
