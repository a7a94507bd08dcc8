// Out of memory under caps: memories with a maximum of 1, 2, 3 ... 64 pages and some larger ones.
// For each cap, on each build:
//   1. L0 = the largest size malloc can serve on a fresh heap with that cap (binary search, one fresh
//      instance per probe), which must be most of the memory (see largestFloor);
//   2. on another fresh heap, allocate with a mix of sizes (log-uniform up to cap/8, plus requests
//      bigger than the whole memory) and some frees until nothing fits, then fill the crumbs with
//      ever smaller requests down to 1 byte: every result is a valid block or 0, nothing traps, a
//      request that cannot be met returns 0 (and an impossible one does not grow memory), a 0 while
//      memory could still grow by the request plus 2 pages is a false OOM, memory ends at its
//      maximum, every block keeps its contents, ralloc_check() == 0;
//   3. free everything in random order: ralloc_check() == 0, nothing in use, and malloc(L0)
//      succeeds again: after freeing everything, the largest block that fits is allocatable again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BUILDS, PAGE, buildPath, createInstance, Rng, hex } from './lib/instance.js';
import { Shadow } from './lib/shadow.js';

const CAPS = [...Array.from({ length: 64 }, (_, i) => i + 1), 128, 1024, 16384];
const HEAP_BASE = 1024; // a small heap base, so a 1-page memory has room
const OOM_SLACK = 2 * PAGE;
/**
 * The largest block on a fresh capped heap must be at least 15/16 of the memory above the heap base,
 * less 8 KiB: heap metadata is a few KiB, and a good-fit index may lose at most one list's width
 * (1/16 of the size with 16 lists per power of two) to rounding. Less means the allocator wastes a
 * capped memory.
 */
const largestFloor = (capBytes, base) => Math.floor(((capBytes - base) * 15) / 16) - 8192;

function fresh(build, cap, variant) {
  return variant === 'init'
    ? createInstance(build, { initial: 1, maximum: cap, heapBase: HEAP_BASE })
    : createInstance(build, { initial: 0, maximum: cap, scratch: null });
}

/** Largest n with malloc(n) != 0 on a fresh heap (one fresh instance per probe). */
function largestOnFresh(build, cap, variant) {
  let lo = 0;
  let hi = cap * PAGE;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const r = fresh(build, cap, variant);
    if (r.malloc(mid) !== 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function logUniform(rng, max) {
  return Math.floor(2 ** ((rng.u32() / 4294967296) * Math.log2(max + 1)));
}

function exhaustAndDrain(build, cap, variant, L0) {
  const capBytes = cap * PAGE;
  const r = fresh(build, cap, variant);
  const floor = variant === 'init' ? HEAP_BASE : 1;
  const sh = new Shadow(r, { floor });
  const rng = new Rng(cap * 7919 + (variant === 'init' ? 1 : 2));
  const maxSize = Math.max(64, capBytes >>> 3);
  const ctx = (s) => `[${build}, cap ${cap} pages, ${variant}] ${s}`;
  const call = (what, fn) => {
    try {
      return fn();
    } catch (e) {
      assert.fail(ctx(`${what} trapped: ${e.message}`));
    }
  };
  const failed = (what, n, align) => {
    const room = capBytes - r.memBytes();
    assert.ok(room < n + align + OOM_SLACK,
      ctx(`${what} returned 0 with memory at ${r.memBytes()} of ${capBytes} bytes: ${room} bytes could still be grown (false OOM)`));
  };
  const impossible = [capBytes, capBytes + 1, capBytes + rng.below(capBytes), 2 * capBytes, 0xfffffff0, 0xffffffff];

  // phase 1: a mix of sizes and some frees until requests keep failing
  let streak = 0;
  for (let op = 0; op < 20000 && streak < 25; op++) {
    const k = rng.below(100);
    if (k < 12 && sh.count > 0) {
      const b = sh.randomLive(rng);
      sh.remove(b.ptr);
      call(`free(${hex(b.ptr)})`, () => r.free(b.ptr));
    } else if (k < 17) {
      const n = impossible[rng.below(impossible.length)];
      const before = r.memBytes();
      const p = call(`malloc(${hex(n)})`, () => r.malloc(n));
      assert.equal(p, 0, ctx(`malloc(${hex(n)}) is bigger than the whole memory and must return 0`));
      assert.equal(r.memBytes(), before, ctx(`malloc(${hex(n)}) failed but grew memory`));
    } else {
      const n = logUniform(rng, maxSize);
      const kind = k < 80 ? 0 : k < 90 ? 1 : 2;
      const align = kind === 2 ? 2 ** rng.range(4, 12) : 16;
      const what = kind === 0 ? `malloc(${n})` : kind === 1 ? `calloc(${n}, 1)` : `aligned_alloc(${align}, ${n})`;
      const p = call(what, () => (kind === 0 ? r.malloc(n) : kind === 1 ? r.calloc(n, 1) : r.alignedAlloc(align, n)));
      if (p === 0) {
        failed(what, n, align);
        streak++;
      } else {
        sh.add(p, n, align, { what, zeroed: kind === 1 });
        streak = 0;
      }
    }
  }
  // phase 2: the crumbs, with ever smaller requests down to 1 byte
  for (let n = 2 ** Math.floor(Math.log2(maxSize)); n >= 1; n = Math.floor(n / 2)) {
    for (let i = 0; i < 100000; i++) {
      const p = call(`malloc(${n})`, () => r.malloc(n));
      if (p === 0) { failed(`malloc(${n})`, n, 16); break; }
      sh.add(p, n, 16, { what: `malloc(${n}) (crumbs)` });
    }
  }
  assert.equal(r.malloc(1), 0, ctx('malloc(1) still succeeds after the crumbs phase'));
  assert.equal(r.memBytes(), capBytes, ctx(`memory is exhausted at ${r.memBytes()} bytes, below its ${capBytes}-byte maximum`));
  assert.equal(r.check(), 0, ctx('ralloc_check() on an exhausted heap'));
  sh.verifyAll(ctx('contents on an exhausted heap'));
  if (r.scratch !== null) {
    const st = r.stats();
    assert.equal(st.bytesInUse, sh.usableSum, ctx('stats.bytes_in_use on an exhausted heap'));
    assert.equal(st.liveBlocks, sh.count, ctx('stats.live_blocks on an exhausted heap'));
  }
  const blocks = sh.count;

  // phase 3: free everything in random order
  const order = [...sh.sorted];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const p of order) {
    sh.remove(p);
    call(`free(${hex(p)})`, () => r.free(p));
  }
  assert.equal(r.check(), 0, ctx('ralloc_check() after freeing everything'));
  if (r.scratch !== null) {
    const st = r.stats();
    assert.equal(st.bytesInUse, 0, ctx('bytes in use after freeing everything'));
    assert.equal(st.liveBlocks, 0, ctx('live blocks after freeing everything'));
  }
  const p = call(`malloc(${L0})`, () => r.malloc(L0));
  assert.notEqual(p, 0,
    ctx(`after freeing all ${blocks} blocks, malloc(${L0}) failed, but it succeeds on a fresh heap with the same cap: the heap is not whole again`));
  r.bytes()[p + L0 - 1] = 1;
  r.free(p);
  assert.equal(r.check(), 0, ctx('ralloc_check() at the end'));
  return blocks;
}

for (const build of BUILDS) {
  describe(`out of memory under caps: ${build}`, () => {
    if (!existsSync(buildPath(build))) {
      it(`build/${build}.wasm exists (run node scripts/build.js)`, () => assert.fail(`missing ${buildPath(build)}`));
      return;
    }
    for (const cap of CAPS) {
      it(`cap ${cap} page${cap > 1 ? 's' : ''}, ralloc_init(${HEAP_BASE}): requests that cannot be met return 0, nothing traps, ralloc_check passes, and after freeing all the largest block fits again`, { timeout: 120_000 }, () => {
        const L0 = largestOnFresh(build, cap, 'init');
        const floor = largestFloor(cap * PAGE, HEAP_BASE);
        assert.ok(L0 >= floor, `largest block on a fresh ${cap}-page heap is ${L0} bytes, below ${floor} (15/16 of the memory above the heap base, less 8 KiB)`);
        exhaustAndDrain(build, cap, 'init', L0);
      });
    }
    for (const cap of [1, 2, 3, 5, 8, 16, 33, 64]) {
      it(`cap ${cap} page${cap > 1 ? 's' : ''}, 0 initial pages and no ralloc_init: the same under the default heap placement`, { timeout: 120_000 }, () => {
        const L0 = largestOnFresh(build, cap, 'noinit');
        const floor = largestFloor(cap * PAGE, 0);
        assert.ok(L0 >= floor, `largest block on a fresh ${cap}-page heap is ${L0} bytes, below ${floor}`);
        exhaustAndDrain(build, cap, 'noinit', L0);
      });
    }
  });
}
