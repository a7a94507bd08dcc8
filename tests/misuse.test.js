// The misuse suite (issue 6, item 3), from JavaScript: one test per misuse, each run through
// createHeap on five builds: debug and security, and release, small and tiny, which share
// release's contract.
//
// - debug and security stop on the misuse: the Heap method throws RallocError E_MISUSE whose
//   message is exactly the one docs/DEBUGGING.md lists (built here from the addresses the test saw, not
//   from the bindings' formatter, so a wrong formatter fails too).
// - release ignores what it can detect cheaply and stays sound: no exception, free of a bad
//   pointer changes no byte of memory, realloc/usable size of one give 0, ralloc_check() is 0,
//   the live blocks keep their bytes, and a batch of allocations afterwards hands out no address
//   twice and overlaps no live block (so a double free never becomes a double allocation).
//   Release serves requests of at most 1024 bytes (align <= 16) as headerless objects of
//   size-class pages (page.ts): a double or interior free of one is an exact no-op (its live
//   bitmap), and a write past one lands in its rounding slack or in the next object, which
//   nothing can detect. Cases about headers use blocks larger than 1024 bytes in every build, so
//   release still takes its header path there.
//   Misuse release cannot detect (a write past the end that reaches the next header, a forged
//   header, a use-after-free write into a free list) can corrupt the heap: those tests say so in
//   their names and assert what release does guarantee instead: the allocator call does not
//   trap, and ralloc_check() names the broken invariant.
// - small and tiny are checked as release is, each case with release's expectations unless it
//   says what differs (`small:`, `tiny:`, named in the subtest): they have no pages, so every
//   block there has a header (a 32-byte request is a 48-byte block with 44 usable bytes).
//   tiny has only the C malloc family and the inspection exports: cases that need the extended
//   API are skipped there, with the reason in the subtest's name. Where tiny does not keep
//   release's contract on a corrupted heap (its free and malloc follow a neighbour's header and
//   a free block's links without checking them: the call traps or writes through what the
//   program wrote), the case is a todo on tiny, with release's expectations and the reason.
//
// Run: node --test tests/misuse.test.js (builds needed: release, small, tiny, debug, security).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindings } from './lib/dist.js';
import { warmPages } from './lib/instance.js';

const { createHeap, RallocError } = bindings;

/** An address as the messages print it: 0x and 8 lowercase hex digits. */
const hex8 = (a) => '0x' + (a >>> 0).toString(16).padStart(8, '0');

// ralloc_block_info flags (contract: 1 FREE, 4 CACHED, 8 LEAD_DEAD; release's kinds in the low
// 4 bits: 2 an object in use, 3 a free object).
const FREE = 1;
const CACHED = 4;
const OBJECT = 2;
const OBJECT_FREE = 3;
/** Release serves requests up to this many bytes (align <= 16) as page objects. */
const SMALL_MAX = 1024;

// ralloc_check codes (docs/DEBUGGING.md, "Heap check codes") that the release cases below name.
const CHECK = { SIZE: 2, BOUNDS: 3, STATE: 7, LINK: 8, QUICK: 12, COUNTERS: 13, PAGE: 18 };

const GUARDED = ['debug', 'security'];
/** Builds that ignore what they cannot use cheaply and must stay sound: release's contract. */
const RELEASE_STYLE = ['release', 'small', 'tiny'];
/** Why tiny lacks a case's calls. */
const NO_API = (what) => `tiny exports no ${what}`;
/** Why tiny does not keep release's contract in a case (a todo there: see the header). */
const TINY_UNCHECKED = 'tiny merges with a neighbour whose header says FREE, and unlinks free blocks, without checking the header fits the heap or the links link back (core/heap.ts freeBlock and core/bins.ts checkLinks do): it traps or writes through what the program wrote';
/** A release result that may be anything (a realloc that moved, say); checked in `after`. */
const ANY = Symbol('any result');
/** A ralloc_check code that may be any broken invariant, as long as one is named. */
const NONZERO = Symbol('a nonzero check code');
const SEED = 0x5eed_1234n;

function heapFor(build, options = {}) {
  // release: every class busy enough for pages, as in a program that has run a while (a class's
  // first requests are blocks with a header: tests/pages.test.js)
  const heap = createHeap({ build, ...(build === 'security' ? { seed: SEED } : {}), ...options });
  return build === 'release' ? warmPages(heap) : heap;
}

/** The blocks of the global heap, from the raw walk exports (every build has them). */
function walk(h) {
  const e = h.exports;
  const out = [];
  for (let p = e.ralloc_walk(0) >>> 0, n = 0; p !== 0; p = e.ralloc_walk(p) >>> 0) {
    if (++n > 100000) assert.fail('ralloc_walk does not end');
    const info = e.ralloc_block_info(p) >>> 0;
    out.push({ p, size: info & ~15, flags: info & 15 });
  }
  return out;
}

function blockAt(h, p) {
  return walk(h).find((b) => b.p === p);
}

/** The u32 header word of block p (the 4 bytes below it). */
const headerOf = (h, p) => new DataView(h.memory.buffer).getUint32(p - 4, true);
const setU32 = (h, addr, v) => new DataView(h.memory.buffer).setUint32(addr, v >>> 0, true);
const getU32 = (h, addr) => new DataView(h.memory.buffer).getUint32(addr, true);

/** Fills a live block with odd bytes (never a plausible live header) and remembers them.
 *  `usable` reads its usable size (default: the global heap's malloc_usable_size). */
function fillLive(h, p, n, tag, usable = (q) => h.usableSize(q)) {
  h.HEAPU8.fill(0xe1 + 2 * (tag % 8), p, p + n);
  return { p, n, byte: 0xe1 + 2 * (tag % 8), usable };
}

/** Asserts each live block holds its byte (from `from` on: the bytes before it are checked by
 *  the case) and still has its n usable bytes. */
function assertIntact(h, blocks, when) {
  for (const { p, n, byte, from = 0, usable = (q) => h.usableSize(q) } of blocks) {
    const bytes = h.HEAPU8.subarray(p + from, p + n);
    const bad = bytes.findIndex((x) => x !== byte);
    assert.equal(bad, -1, `live block ${hex8(p)} changed at byte ${from + bad} ${when}`);
    assert.ok(usable(p) >= n, `live block ${hex8(p)} still has its ${n} bytes ${when}`);
  }
}

/** The ralloc_block_info kind (low 4 bits) of an address, as release reports it. */
const kindOf = (h, p) => (h.exports.ralloc_block_info(p) >>> 0) & 15;

/** Asserts that p is (release) a page object of `size` bytes in use, or free. */
function assertObject(h, p, size, free = false) {
  assert.equal(kindOf(h, p), free ? OBJECT_FREE : OBJECT, `${hex8(p)} is a ${free ? 'free' : 'live'} page object`);
  assert.equal(h.exports.ralloc_block_info(p) & ~15, size, `${hex8(p)} is an object of ${size} bytes`);
}

/** Runs fn and asserts it throws RallocError E_MISUSE with exactly `message`. */
function assertMisuse(fn, message, code = 'E_MISUSE') {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `expected RallocError ${code} "${message}", but nothing was thrown`);
  assert.ok(error instanceof RallocError, `expected RallocError ${code} "${message}", got ${error?.stack ?? error}`);
  assert.equal(error.code, code, `error code for: ${error.message}`);
  assert.equal(error.message, message);
}

/**
 * After a misuse on release: allocate a batch (the sizes the case used first, so a block freed
 * twice would come back twice, then a spread) and assert that no address is handed out twice and
 * that nothing overlaps a live block or another new block.
 */
function assertBatchDistinct(h, live, sizes) {
  const asked = [...sizes, ...sizes, ...sizes, 0, 1, 12, 16, 24, 32, 40, 64, 100, 128, 200, 500, 1000, 2000, 4000, 10000];
  const got = asked.map((n) => {
    const p = h.malloc(n);
    assert.notEqual(p, 0, `malloc(${n}) after the misuse`);
    return { p, end: p + Math.max(1, n), what: `new malloc(${n})` };
  });
  const extents = [
    ...live.map(({ p, n }) => ({ p, end: p + Math.max(1, n), what: 'live block' })),
    ...got,
  ].sort((a, b) => a.p - b.p);
  assert.equal(new Set(extents.map((x) => x.p)).size, extents.length, 'an address was handed out twice while live');
  for (let i = 1; i < extents.length; i++) {
    const [a, b] = [extents[i - 1], extents[i]];
    assert.ok(a.end <= b.p, `${a.what} at ${hex8(a.p)} overlaps ${b.what} at ${hex8(b.p)}`);
  }
  for (const { p } of got) h.free(p);
}

/**
 * Every case:
 *   setup(h)            -> state s: s.live = [{p, n, byte}] blocks that must stay live and intact,
 *                          s.sizes = request sizes to repeat in the batch; it also asserts the
 *                          preconditions that make the case what its name says (e.g. "cached").
 *   misuse(h, s)        -> the offending call (its result is checked on release).
 *   message(s)          -> the exact message debug and security stop with.
 *   code                -> RallocError code (default E_MISUSE).
 *   release             -> { result: value or (s) => value, noop: the call changes no byte of memory,
 *                            corrupts: { check: code } when release cannot detect the misuse,
 *                            after(h, s, result): more assertions }.
 *   builds              -> default ['debug', 'security', 'release'].
 *   options             -> more createHeap options.
 */
const CASES = [];
const add = (c) => CASES.push(c);

/** Three blocks a, b, c of n bytes each, filled; returns them. */
function three(h, n) {
  const [a, b, c] = [h.malloc(n), h.malloc(n), h.malloc(n)];
  for (const p of [a, b, c]) assert.notEqual(p, 0);
  assert.ok(a < b && b < c, 'three blocks in address order');
  return { a, b, c, fa: fillLive(h, a, n, 1), fb: fillLive(h, b, n, 2), fc: fillLive(h, c, n, 3) };
}

// ---- double free -----------------------------------------------------------------------------

add({
  name: 'double free of a block just freed to the general free lists',
  setup(h) {
    const { a, b, fa, fc } = three(h, 2000);
    h.free(b);
    assert.equal(blockAt(h, b)?.flags & FREE, FREE, 'b is a free block of its own (no neighbour to merge with)');
    return { a, b, live: [fa, fc], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.b),
  message: (s) => `ralloc: double free of ${hex8(s.b)} (2000 bytes)`,
  release: { result: undefined, noop: true },
});

add({
  name: 'double free of a 32-byte block (debug, security: it sits in the quick cache; release: a free page object, so the free is an exact no-op)',
  setup(h, build) {
    const { b, fa, fc } = three(h, 32);
    h.free(b);
    if (build === 'release') assertObject(h, b, 32, true);
    else if (GUARDED.includes(build)) assert.equal(blockAt(h, b)?.flags & CACHED, CACHED, 'b sits in a quick list');
    else assert.equal(blockAt(h, b)?.flags & FREE, FREE, 'b is a free block of its own');
    return { b, live: [fa, fc], sizes: [32] };
  },
  misuse: (h, s) => h.free(s.b),
  message: (s) => `ralloc: double free of ${hex8(s.b)} (32 bytes)`,
  release: { result: undefined, noop: true },
  small: { result: undefined, noop: true, note: 'a free block of the general lists' },
  tiny: { result: undefined, noop: true, note: 'a free block of the general lists' },
});

add({
  name: 'double free of a block that merged into the free block before it',
  setup(h) {
    const { a, b, fc } = three(h, 2000);
    h.free(a);
    h.free(b); // b merges into a
    assert.equal(blockAt(h, b), undefined, 'b is no block of its own any more');
    assert.equal(blockAt(h, a)?.flags & FREE, FREE, 'a is free and holds b');
    assert.ok(blockAt(h, a).size > b - a, 'a reaches over b');
    return { b, live: [fc], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.b),
  message: (s) => `ralloc: double free of ${hex8(s.b)} (2000 bytes)`,
  release: { result: undefined, noop: true },
});

add({
  name: 'double free of a free block absorbed when the block before it was freed',
  setup(h) {
    const { a, b, c, fa } = three(h, 2000);
    const d = h.malloc(2000); // keeps c from merging with the rest of the span
    const fd = fillLive(h, d, 2000, 4);
    h.free(c);
    h.free(b); // b takes c in
    assert.equal(blockAt(h, c), undefined, 'c is no block of its own any more');
    assert.ok(blockAt(h, b)?.flags & FREE && blockAt(h, b).size > c - b, 'b is free and holds c');
    return { c, live: [fa, fd], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.c),
  message: (s) => `ralloc: double free of ${hex8(s.c)} (2000 bytes)`,
  release: { result: undefined, noop: true },
});

add({
  name: 'double free of a block its free predecessor absorbed (a, b, c; free a; free b: b merges into a; free b again): usable size of b stays 0, ralloc_check 0, and malloc(300) and the mallocs after it overlap no live block (small, tiny: 300-byte blocks; release, debug, security: 2000 bytes, past pages and quick lists)',
  setup(h, build) {
    const n = build === 'small' || build === 'tiny' ? 300 : 2000;
    const { a, b, fc } = three(h, n);
    h.free(a);
    h.free(b); // b merges into a
    assert.equal(blockAt(h, b), undefined, 'b is no block of its own any more');
    assert.ok(blockAt(h, a)?.flags & FREE && blockAt(h, a).size > b - a, 'a is free and holds b');
    if (RELEASE_STYLE.includes(build)) {
      assert.equal(h.usableSize(b), 0, 'b is not live before the second free');
      assert.equal(h.check(), 0);
    }
    return { b, n, live: [fc], sizes: [300, n] };
  },
  misuse: (h, s) => h.free(s.b),
  message: (s) => `ralloc: double free of ${hex8(s.b)} (${s.n} bytes)`,
  release: {
    result: undefined,
    noop: true,
    after(h, s) {
      assert.equal(h.usableSize(s.b), 0, 'b is still not live');
      assert.equal(h.check(), 0, 'the heap is sound');
      const q = h.malloc(300);
      assert.notEqual(q, 0);
      assert.ok(h.usableSize(q) >= 300);
      for (const { p, n } of s.live) assert.ok(q + 300 <= p || p + n <= q, `malloc(300) at ${hex8(q)} overlaps the live block at ${hex8(p)}`);
      s.live.push(fillLive(h, q, 300, 7)); // live from now on: the batch after this must miss it too
    },
  },
});

// ---- invalid free ----------------------------------------------------------------------------

add({
  name: 'free of a pointer outside the heap (beyond the end of memory)',
  setup(h) {
    const { fa, fb, fc } = three(h, 100);
    assert.ok(h.memory.buffer.byteLength < 0x40000000);
    return { live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h) => h.free(0x40000000),
  message: () => 'ralloc: invalid free of 0x40000000 (outside the heap)',
  release: { result: undefined, noop: true },
});

add({
  name: 'free of a misaligned pointer',
  setup(h) {
    const { a, fa, fb, fc } = three(h, 100);
    return { a, live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h, s) => h.free(s.a + 4),
  message: (s) => `ralloc: invalid free of ${hex8(s.a + 4)} (misaligned)`,
  release: { result: undefined, noop: true },
});

add({
  name: 'free of an interior pointer',
  setup(h) {
    const { a, fa, fb, fc } = three(h, 100);
    return { a, live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h, s) => h.free(s.a + 32),
  message: (s) => `ralloc: invalid free of ${hex8(s.a + 32)} (inside the 100-byte block at ${hex8(s.a)})`,
  release: { result: undefined, noop: true },
});

add({
  name: 'free of an interior pointer of a 2000-byte block (release: its header path; not a block start, an exact no-op)',
  setup(h, build) {
    const { a, fa, fb, fc } = three(h, 2000);
    if (build === 'release') assert.equal(kindOf(h, a), 0, 'a is a block with a header, in use');
    return { a, live: [fa, fb, fc], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.a + 32),
  message: (s) => `ralloc: invalid free of ${hex8(s.a + 32)} (inside the 2000-byte block at ${hex8(s.a)})`,
  release: { result: undefined, noop: true },
});

add({
  name: 'free of an interior pointer whose bytes look like a live header, in a 200-byte block (release: a page object; the live bitmap, not the bytes, decides: an exact no-op)',
  setup(h, build) {
    const { a, fb, fc } = three(h, 200);
    if (build === 'release') assertObject(h, a, 208);
    setU32(h, a + 64 - 4, 48); // a 48-byte in-use block, as far as a header can tell
    return { a, live: [fb, fc], sizes: [200] };
  },
  misuse: (h, s) => h.free(s.a + 64),
  message: (s) => `ralloc: invalid free of ${hex8(s.a + 64)} (inside the 200-byte block at ${hex8(s.a)})`,
  release: {
    result: undefined,
    noop: true,
    after(h, s) {
      assertObject(h, s.a, 208); // still live, still its own size
      assert.equal(getU32(h, s.a + 60), 48, 'the bytes the program wrote are still there');
    },
  },
  small: {
    note: 'a block with a header: as for the 2000-byte block, the fake block is freed into the free lists and ralloc_check names LINK',
    result: undefined,
    corrupts: { check: CHECK.LINK },
  },
  tiny: { result: undefined, corrupts: { check: NONZERO } },
  todo: { tiny: TINY_UNCHECKED },
});

add({
  name: 'free of an interior pointer whose bytes look like a live header, in a 2000-byte block (release: its header path cannot tell; the fake block is freed into the general free lists, and ralloc_check names LINK)',
  setup(h, build) {
    const { a, fb, fc } = three(h, 2000);
    if (build === 'release') assert.equal(kindOf(h, a), 0, 'a is a block with a header, in use');
    setU32(h, a + 64 - 4, 48); // a 48-byte in-use block, as far as a header can tell
    return { a, live: [fb, fc], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.a + 64),
  message: (s) => `ralloc: invalid free of ${hex8(s.a + 64)} (inside the 2000-byte block at ${hex8(s.a)})`,
  release: { result: undefined, corrupts: { check: CHECK.LINK } },
  tiny: { result: undefined, corrupts: { check: NONZERO } },
  todo: { tiny: TINY_UNCHECKED },
});

add({
  name: 'free of static data (an address below the heap base)',
  options: { heapBase: 4096 },
  setup(h) {
    const { fa, fb, fc } = three(h, 100);
    assert.ok(fa.p > 4096);
    return { live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h) => h.free(0x400),
  message: () => 'ralloc: invalid free of 0x00000400 (static data, below the heap)',
  release: { result: undefined, noop: true },
});

add({
  name: 'free of a pointer never allocated (inside free space)',
  setup(h) {
    const { c, fa, fb, fc } = three(h, 100);
    const x = c + 4096;
    const f = walk(h).find((b) => b.p < x && x < b.p + b.size - 4);
    assert.ok(f && f.flags & FREE && f.p < x, `${hex8(x)} lies inside a free block, not at its start`);
    return { x, live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h, s) => h.free(s.x),
  message: (s) => `ralloc: invalid free of ${hex8(s.x)} (never allocated)`,
  release: { result: undefined, noop: true },
});

// ---- realloc, malloc_usable_size, ralloc_inplace_realloc of a bad pointer --------------------

add({
  name: 'realloc of a freed block',
  setup(h) {
    const { b, fa, fc } = three(h, 100);
    h.free(b);
    return { b, live: [fa, fc], sizes: [100] };
  },
  misuse: (h, s) => h.realloc(s.b, 200),
  message: (s) => `ralloc: realloc of freed ${hex8(s.b)} (100 bytes)`,
  release: { result: 0, noop: true },
});

add({
  name: 'realloc of an interior pointer',
  setup(h) {
    const { a, fa, fb, fc } = three(h, 100);
    return { a, live: [fa, fb, fc], sizes: [100] };
  },
  misuse: (h, s) => h.realloc(s.a + 48, 10),
  message: (s) => `ralloc: invalid realloc of ${hex8(s.a + 48)} (inside the 100-byte block at ${hex8(s.a)})`,
  release: { result: 0, noop: true },
});

add({
  name: 'malloc_usable_size of a freed block',
  setup(h) {
    const { b, fa, fc } = three(h, 100);
    h.free(b);
    return { b, live: [fa, fc], sizes: [100] };
  },
  misuse: (h, s) => h.usableSize(s.b),
  message: (s) => `ralloc: malloc_usable_size of freed ${hex8(s.b)} (100 bytes)`,
  release: { result: 0, noop: true },
});

add({
  name: 'ralloc_inplace_realloc of a freed block',
  setup(h) {
    const { b, fa, fc } = three(h, 100);
    h.free(b);
    return { b, live: [fa, fc], sizes: [100] };
  },
  misuse: (h, s) => h.inplaceRealloc(s.b, 50),
  message: (s) => `ralloc: ralloc_inplace_realloc of freed ${hex8(s.b)} (100 bytes)`,
  release: { result: 0, noop: true },
  skip: { tiny: NO_API('ralloc_inplace_realloc') },
});

// ---- writes past the end ---------------------------------------------------------------------
// Block a asks for 100 bytes. Guarded builds put at least 4 canary bytes after them (12 here: the
// block is 128 bytes, trailer at a + 112). Release makes it a 112-byte page object with no
// header: 1 or 12 bytes past the request land in its own rounding slack (harmless). A 96-byte
// object has no slack: 4 bytes past it land in the next object, b, and nothing can tell. On
// release's header path (a 1124-byte request: a 1136-byte block with 1132 usable bytes) 12 bytes
// reach the next block's header at a + 1132 (corruption release cannot see until ralloc_check
// walks the heap). small and tiny give every request a header: 100 bytes are a 112-byte block
// with 108 usable, so 12 bytes past 100 reach the next header there, and 4 bytes past 96 land in
// the block's own slack. tiny's ralloc_check names a header whose size runs past the heap SIZE.

const FOUND_BY = {
  free: { call: (h, s) => h.free(s.a), release: undefined },
  realloc: { call: (h, s) => h.realloc(s.a, s.grow ?? 300), release: ANY },
  ralloc_check: { call: (h) => h.check(), release: 0 },
};

/** Release's `after` for a write past a block that did no harm to the heap: realloc moved the
 *  first n bytes (filled with 0xe1), ralloc_check left a live. */
const harmlessAfter = (by, n) => (h, s, result) => {
  if (by === 'realloc') {
    assert.notEqual(result, 0, 'realloc works');
    assert.ok(h.HEAPU8.subarray(result, result + n).every((x) => x === 0xe1), `realloc kept the ${n} bytes`);
    s.live.push({ p: result, n: s.grow ?? 300, byte: null });
  } else if (by === 'ralloc_check') {
    s.live.push({ p: s.a, n, byte: null });
  }
};

/** small and tiny: a 96-byte request is a 112-byte block with 108 usable bytes, so 4 bytes past
 *  it land in its own slack: harmless, and b is untouched. */
const SLACK_96 = (by) => ({
  note: 'a 112-byte block: the bytes land in its own rounding slack, harmless',
  result: FOUND_BY[by].release,
  after: harmlessAfter(by, 96),
});

for (const [by, how] of Object.entries(FOUND_BY)) {
  add({
    name: `a 1-byte write past the end, found by ${by} (release: the byte lands in rounding slack, harmless)`,
    setup(h) {
      const { a, fb, fc } = three(h, 100);
      h.HEAPU8.fill(0xe1, a, a + 100);
      h.HEAPU8[a + 100] = 0x41;
      return { a, live: [fb, fc], sizes: [100] };
    },
    misuse: how.call,
    message: (s) => `ralloc: write past the end of ${hex8(s.a)} (100 bytes), found by ${by}`,
    release: { result: how.release, after: harmlessAfter(by, 100) },
  });

  add({
    name: `a 12-byte write past the end of a 100-byte block, found by ${by} (release: a 112-byte page object, so the bytes land in its own rounding slack, harmless)`,
    setup(h, build) {
      const { a, fb, fc } = three(h, 100);
      if (build === 'release') assertObject(h, a, 112);
      h.HEAPU8.fill(0xe1, a, a + 100);
      h.HEAPU8.fill(0x41, a + 100, a + 112); // "AAAAAAAAAAAA": a string running on
      return { a, live: [fb, fc], sizes: [100] };
    },
    misuse: how.call,
    message: (s) => `ralloc: write past the end of ${hex8(s.a)} (100 bytes), found by ${by}`,
    release: { result: how.release, after: harmlessAfter(by, 100) },
    small: {
      note: 'a 112-byte block with 108 usable bytes: the write reaches the next block\'s header; not detected, ralloc_check names BOUNDS',
      result: by === 'ralloc_check' ? CHECK.BOUNDS : how.release,
      corrupts: { check: CHECK.BOUNDS },
    },
    tiny: by === 'ralloc_check'
      ? { note: 'as small: the write reaches the next header; its ralloc_check names SIZE', result: CHECK.SIZE, corrupts: { check: CHECK.SIZE } }
      : { result: how.release, corrupts: { check: NONZERO } },
    todo: by === 'ralloc_check' ? undefined : { tiny: TINY_UNCHECKED },
  });

  add({
    name: `a 12-byte write past the end of a 1124-byte block, found by ${by} (release: not detected, it overwrites the next block's header; ralloc_check names BOUNDS, the allocator call does not trap)`,
    setup(h, build) {
      const { a, b, fb, fc } = three(h, 1124);
      if (build === 'release') {
        assert.equal(kindOf(h, a), 0, 'a is a block with a header');
        assert.equal(b, a + 1136, 'the next block\'s header sits at a + 1132');
      }
      h.HEAPU8.fill(0x41, a + 1124, a + 1136); // "AAAAAAAAAAAA": a string running on
      return { a, b, grow: 3000, live: [fb, fc], sizes: [1124] };
    },
    misuse: how.call,
    message: (s) => `ralloc: write past the end of ${hex8(s.a)} (1124 bytes), found by ${by}`,
    release: {
      result: by === 'ralloc_check' ? CHECK.BOUNDS : how.release,
      corrupts: { check: CHECK.BOUNDS },
    },
    tiny: by === 'ralloc_check'
      ? { note: 'its ralloc_check names SIZE', result: CHECK.SIZE, corrupts: { check: CHECK.SIZE } }
      : { result: how.release, corrupts: { check: NONZERO } },
    todo: by === 'ralloc_check' ? undefined : { tiny: TINY_UNCHECKED },
  });

  add({
    name: `a 4-byte write past the end of a 96-byte block, found by ${by} (release: a 96-byte page object has no slack and no header: the bytes land in the next object, not detected, ralloc_check 0)`,
    setup(h, build) {
      const { a, b, fb, fc } = three(h, 96);
      if (build === 'release') {
        assertObject(h, a, 96);
        assert.equal(b, a + 96, 'b follows a directly');
      }
      h.HEAPU8.fill(0xe1, a, a + 96);
      h.HEAPU8.fill(0x41, a + 96, a + 100); // "AAAA"
      // b's first 4 bytes are the overflow's on release (checked in after); the rest stay b's
      return { a, b, live: [fc, { ...fb, from: build === 'release' ? 4 : 0 }], sizes: [96] };
    },
    misuse: how.call,
    message: (s) => `ralloc: write past the end of ${hex8(s.a)} (96 bytes), found by ${by}`,
    release: {
      result: how.release,
      after(h, s, result) {
        assert.deepEqual([...h.HEAPU8.subarray(s.b, s.b + 4)], [0x41, 0x41, 0x41, 0x41], 'the write went into b');
        assertObject(h, s.b, 96); // b is still a live object of its size: no metadata was hit
        harmlessAfter(by, 96)(h, s, result);
      },
    },
    small: SLACK_96(by),
    tiny: SLACK_96(by),
  });
}

// ---- corrupted metadata ----------------------------------------------------------------------

add({
  name: 'a 12-byte write past the end of a 1100-byte block that rewrites the next header as free and its links as addresses inside a live block, found by free (release, small: the links do not link back, so free writes nothing into the live block; ralloc_check names COUNTERS)',
  builds: RELEASE_STYLE,
  setup(h, build) {
    const a = h.malloc(1100), b = h.malloc(1100), v = h.malloc(1100), fence = h.malloc(16);
    assert.ok(a && b && v && fence);
    if (build === 'release') assert.equal(kindOf(h, a), 0, 'a is a block with a header');
    const fv = fillLive(h, v, 1100, 5);
    const size = headerOf(h, b) & ~15;
    assert.equal(b - 4, a + 1100, 'b\'s header sits right after what a asked for');
    setU32(h, b - 4, size | FREE); // "b is free"
    setU32(h, b, v + 100); // its next link
    setU32(h, b + 4, v + 8); // its previous link
    return { a, live: [fv], sizes: [] };
  },
  misuse: (h, s) => h.free(s.a),
  release: {
    result: undefined,
    corrupts: { check: CHECK.COUNTERS },
    after(h, s) {
      assertIntact(h, s.live, 'after the misuse: nothing was written through the forged links');
    },
  },
  tiny: {
    result: undefined,
    corrupts: { check: NONZERO },
    after(h, s) {
      assertIntact(h, s.live, 'after the misuse: nothing was written through the forged links');
    },
  },
  todo: { tiny: TINY_UNCHECKED },
});


add({
  name: 'a corrupted header of a 2000-byte block (a forged, larger size) found by free (release: its header path cannot tell, the block after it is hidden; ralloc_check names COUNTERS)',
  setup(h, build) {
    const { a, b, fc } = three(h, 2000);
    if (build === 'release') assert.equal(kindOf(h, a), 0, 'a is a block with a header');
    const hdr = headerOf(h, a);
    const forged = (hdr & ~15) + (headerOf(h, b) & ~15); // a claims to reach over b
    setU32(h, a - 4, forged | (hdr & 15));
    return { a, forged, live: [fc], sizes: [2000] };
  },
  misuse: (h, s) => h.free(s.a),
  message: (s) => `ralloc: corrupted header of ${hex8(s.a)} (${s.forged} bytes), found by free`,
  release: { result: undefined, corrupts: { check: CHECK.COUNTERS } },
  tiny: {
    note: 'not detected, not even by ralloc_check: tiny keeps no counters to hold the walk against; c, past the forged size, stays live and is not handed out',
    result: undefined,
    corrupts: { check: 0 },
    after(h, s) {
      assertIntact(h, s.live, 'after the misuse');
      assertBatchDistinct(h, s.live, s.sizes);
    },
  },
});

add({
  name: 'a forged header below a 100-byte block (claiming to reach over the next one) found by free (release: a page object has no header, the word is the previous object\'s slack; free frees exactly the object)',
  setup(h, build) {
    const { a, b, c, fa, fc } = three(h, 100);
    const sizeOf = (p) => blockAt(h, p).size; // guarded: its header's; release: the object's
    if (build === 'release') {
      assertObject(h, b, 112);
      assert.equal(b - 4, a + 108, 'the word below b is in a\'s rounding slack');
    }
    const forged = sizeOf(b) + sizeOf(c); // b claims to reach over c
    setU32(h, b - 4, forged | (headerOf(h, b) & 15));
    return { b, c, forged, live: [fa, fc], sizes: [100] };
  },
  misuse: (h, s) => h.free(s.b),
  message: (s) => `ralloc: corrupted header of ${hex8(s.b)} (${s.forged} bytes), found by free`,
  release: {
    result: undefined,
    after(h, s) {
      assertObject(h, s.b, 112, true); // b, and only b, is free
      assertObject(h, s.c, 112);
      assert.equal(h.usableSize(s.c), 112, 'c is not hidden');
    },
  },
  small: {
    note: 'b has a header: as for the 2000-byte block, freeing b hides c; ralloc_check names COUNTERS',
    result: undefined,
    corrupts: { check: CHECK.COUNTERS },
    after(h, s) {
      assert.equal(blockAt(h, s.c), undefined, 'c is no block of the walk any more: it lies in the freed b');
    },
  },
  tiny: {
    note: 'b has a header: freeing b hides c, and nothing detects it, not even ralloc_check (tiny keeps no counters)',
    result: undefined,
    corrupts: { check: 0 },
    after(h, s) {
      assert.equal(blockAt(h, s.c), undefined, 'c is no block of the walk any more: it lies in the freed b');
    },
  },
});

add({
  name: 'a corrupted free list (a pointer written into a freed block) found by malloc (release: the link does not link back, so the heap writes through neither; b is handed out whole and the heap stays intact)',
  setup(h) {
    const { a, b, fa, fc } = three(h, 4000);
    h.free(b);
    const fb = blockAt(h, b);
    assert.equal(fb?.flags & FREE, FREE, 'b is in the general free lists');
    setU32(h, b, a); // use after free: the program stores a pointer in the freed block
    return { a, b, bsize: fb.size, live: [fa, fc], sizes: [] };
  },
  misuse: (h) => h.malloc(2000),
  message: (s) => `ralloc: corrupted free list at ${hex8(s.b)} (${s.bsize} bytes), found by malloc`,
  release: {
    result: ANY,
    after(h, s, result) {
      assert.equal(result, s.b, 'release hands out the freed block (its front), its stray link never followed');
      assert.equal(h.check(), 0, 'the heap is whole: nothing was written through the stray link');
    },
  },
  todo: { tiny: TINY_UNCHECKED },
});

/** small and tiny (no pages): b is a free block of the general lists, and its stray link must not
 *  be followed, as on release's header path. */
const SMALL_FREE_LIST = {
  note: 'no pages: a free block of the general lists; its link does not link back, so b is handed out whole and the heap stays intact',
  result: ANY,
  after(h, s, result) {
    assert.equal(result, s.b, 'the freed block is handed out, its stray link never followed');
    assert.equal(h.check(), 0, 'the heap is whole: nothing was written through the stray link');
  },
};

add({
  name: 'a corrupted free list of 32-byte blocks (a pointer to a live block written into a freed one) found by malloc (debug, security: a quick list; release: a page\'s local list, the link is checked before use, so the live block is never handed out; ralloc_check names PAGE)',
  setup(h, build) {
    const { a, b, fa, fc } = three(h, 32);
    h.free(b);
    const fb = blockAt(h, b);
    if (build === 'release') assertObject(h, b, 32, true);
    else if (GUARDED.includes(build)) assert.equal(fb?.flags & CACHED, CACHED, 'b sits in a quick list');
    else assert.equal(fb?.flags & FREE, FREE, 'b is in the general free lists');
    setU32(h, b, a); // use after free: the program stores a pointer in the freed block
    return { a, b, bsize: fb.size, live: [fa, fc], sizes: [] };
  },
  misuse: (h) => h.malloc(32),
  message: (s) => `ralloc: corrupted free list at ${hex8(s.b)} (${s.bsize} bytes), found by malloc`,
  release: {
    result: ANY,
    after(h, s, result) {
      // b waits on its page's local list, its link now naming a, which is live: ralloc_check
      // names the page, and when the list is used malloc checks each object before handing it
      // out, so the list ends at a and a is never handed out a second time.
      assert.notEqual(result, s.a, 'malloc does not hand out the live block');
      assert.equal(h.check(), CHECK.PAGE, 'ralloc_check names PAGE');
      const got = [result, ...Array.from({ length: 600 }, () => h.malloc(32))];
      assert.ok(!got.includes(s.a), 'a is never handed out again');
      assert.equal(got.filter((p) => p === s.b).length, 1, 'b is handed out once');
      assert.equal(new Set(got).size, got.length, 'nothing is handed out twice');
      for (const p of got) h.free(p); // the list was cut at a: the heap is sound again
    },
  },
  small: SMALL_FREE_LIST,
  tiny: SMALL_FREE_LIST,
  todo: { tiny: TINY_UNCHECKED },
});

add({
  name: 'a corrupted free list found by ralloc_check (release: ralloc_check names LINK)',
  setup(h) {
    const { a, b, fa, fc } = three(h, 4000);
    h.free(b);
    assert.equal(blockAt(h, b)?.flags & FREE, FREE, 'b is in the general free lists');
    setU32(h, b, a);
    return { a, b, live: [fa, fc], sizes: [] };
  },
  misuse: (h) => h.check(),
  message: (s) => `ralloc: heap check failed: LINK (code 8) at ${hex8(s.a)}, after ralloc_check`,
  release: { result: CHECK.LINK, corrupts: { check: CHECK.LINK } },
  tiny: {
    note: 'its ralloc_check names STATE: the link leads to a block that is not free',
    result: CHECK.STATE,
    corrupts: { check: CHECK.STATE },
  },
});

// ---- ralloc's API ----------------------------------------------------------------------------

add({
  name: 'double ralloc_dealloc of the same range (a whole block)',
  setup(h) {
    const { b, fa, fc } = three(h, 2000);
    assert.equal(h.dealloc(b, 2000), true, 'the first dealloc frees b');
    return { b, live: [fa, fc], sizes: [2000] };
  },
  misuse: (h, s) => h.dealloc(s.b, 2000),
  message: (s) => `ralloc: ralloc_dealloc of freed ${hex8(s.b)} (2000 bytes)`,
  release: { result: false, noop: true },
  skip: { tiny: NO_API('ralloc_dealloc') },
});

// Partial frees: the same range freed twice. The message names the range and its length (what
// the call asked to free), whether the range went back to the heap as blocks or, too small to
// stand alone, was only marked dead inside its live block.
for (const [what, n, offset, length] of [
  ['a middle range (16-aligned, 512 bytes)', 2000, 512, 512],
  ['a middle range (not 16-aligned, 600 bytes)', 2000, 500, 600],
  ['a small middle piece (18 bytes: marked dead, not a block of its own)', 300, 100, 18],
  ['a prefix (1000 bytes)', 2000, 0, 1000],
  ['a suffix (1000 bytes)', 2000, 1000, 1000],
]) {
  add({
    name: `double ralloc_dealloc of ${what}`,
    setup(h) {
      const p = h.malloc(n);
      const g = h.malloc(100);
      assert.ok(p && g);
      const fg = fillLive(h, g, 100, 6);
      assert.equal(h.dealloc(p + offset, length), true, 'the first dealloc');
      assert.equal(h.check(), 0);
      return { x: p + offset, live: [fg], sizes: [length] };
    },
    misuse: (h, s) => h.dealloc(s.x, length),
    message: (s) => `ralloc: ralloc_dealloc of freed ${hex8(s.x)} (${length} bytes)`,
    release: { result: false, noop: true },
    skip: { tiny: NO_API('ralloc_dealloc') },
  });
}

add({
  name: 'ralloc_dealloc of a range inside a freed block',
  setup(h) {
    const { b, fa, fc } = three(h, 200);
    h.free(b);
    return { x: b + 20, live: [fa, fc], sizes: [200] };
  },
  misuse: (h, s) => h.dealloc(s.x, 10),
  message: (s) => `ralloc: ralloc_dealloc of freed ${hex8(s.x)} (10 bytes)`,
  release: { result: false, noop: true },
  skip: { tiny: NO_API('ralloc_dealloc') },
});

add({
  name: 'ralloc_heap_free of a freed block in a local heap',
  setup(h) {
    const local = h.newLocalHeap(4096);
    assert.ok(local, 'a local heap');
    const x = local.alloc(100), y = local.alloc(100);
    assert.ok(x && y);
    const fy = fillLive(h, y, 100, 5, (q) => local.usableSize(q)); // y is the local heap's
    assert.equal(local.free(x), true, 'the first free');
    return { local, x, live: [fy], sizes: [100] };
  },
  misuse: (h, s) => s.local.free(s.x),
  message: (s) => `ralloc: double free of ${hex8(s.x)} (100 bytes)`,
  release: { result: false, noop: true },
  skip: { tiny: NO_API('local heaps (ralloc_heap_*)') },
});

add({
  name: 'a leak found by ralloc_assert_no_leak: the count and the list of live blocks',
  code: 'E_LEAK',
  setup(h) {
    assert.doesNotThrow(() => h.assertNoLeak(), 'no leak on a fresh heap');
    const a = h.malloc(32), b = h.malloc(64), c = h.malloc(100);
    h.free(c);
    return { a, b, live: [], sizes: [] };
  },
  misuse: (h) => h.assertNoLeak(),
  // serials count every allocation of the instance: a is #1, b #2 (c, #3, was freed)
  message: (s) => `ralloc: 2 blocks leaked (96 bytes)\n  ${hex8(s.a)} 32 bytes #1\n  ${hex8(s.b)} 64 bytes #2`,
  release: {
    // release keeps no requests or serials: the sizes are the usable sizes, here those of page
    // objects of 32 and 64 bytes
    throws: (s) => ['E_LEAK', `ralloc: 2 blocks leaked (96 bytes)\n  ${hex8(s.a)} 32 bytes #?\n  ${hex8(s.b)} 64 bytes #?`],
  },
  small: {
    note: 'usable sizes of blocks with headers: 44 and 76 bytes',
    throws: (s) => ['E_LEAK', `ralloc: 2 blocks leaked (120 bytes)\n  ${hex8(s.a)} 44 bytes #?\n  ${hex8(s.b)} 76 bytes #?`],
  },
  skip: { tiny: NO_API('ralloc_block_request or ralloc_assert_no_leak') },
  after(h, s, build) {
    const serial = (n) => (GUARDED.includes(build) ? n : 0);
    const [sa, sb] = build === 'small' ? [44, 76] : [32, 64];
    assert.deepEqual(h.leaks(), [
      { address: s.a, size: sa, serial: serial(1) },
      { address: s.b, size: sb, serial: serial(2) },
    ]);
    if (build === 'debug') {
      // The raw export reports through ralloc_hooks.report (LEAK) and stops.
      assertMisuse(() => h.exports.ralloc_assert_no_leak(), `ralloc: 2 blocks leaked (96 bytes)\n  ${hex8(s.a)} 32 bytes #1\n  ${hex8(s.b)} 64 bytes #2`);
    } else {
      assert.equal(h.exports.ralloc_assert_no_leak() >>> 0, 2, 'the raw export returns the count');
      h.free(s.a);
      h.free(s.b);
      assert.equal(h.exports.ralloc_assert_no_leak() >>> 0, 0);
      assert.doesNotThrow(() => h.assertNoLeak());
    }
  },
});

add({
  name: 'a leak of a small and a large block found by ralloc_assert_no_leak (release: a page object and a block with a header, listed alike)',
  code: 'E_LEAK',
  setup(h, build) {
    const a = h.malloc(32), b = h.malloc(2000), c = h.malloc(100);
    h.free(c);
    if (build === 'release') {
      assertObject(h, a, 32);
      assert.equal(kindOf(h, b), 0, 'b is a block with a header');
    }
    return { a, b, live: [], sizes: [] };
  },
  misuse: (h) => h.assertNoLeak(),
  message: (s) => `ralloc: 2 blocks leaked (2032 bytes)\n  ${hex8(s.a)} 32 bytes #1\n  ${hex8(s.b)} 2000 bytes #2`,
  release: {
    // usable sizes: the 32-byte object, and the 2012 bytes of b's 2016-byte block
    throws: (s) => ['E_LEAK', `ralloc: 2 blocks leaked (2044 bytes)\n  ${hex8(s.a)} 32 bytes #?\n  ${hex8(s.b)} 2012 bytes #?`],
  },
  small: {
    note: 'both blocks with headers: 44 and 2012 usable bytes',
    throws: (s) => ['E_LEAK', `ralloc: 2 blocks leaked (2056 bytes)\n  ${hex8(s.a)} 44 bytes #?\n  ${hex8(s.b)} 2012 bytes #?`],
  },
  skip: { tiny: NO_API('ralloc_block_request or ralloc_assert_no_leak') },
  after(h, s, build) {
    const guarded = GUARDED.includes(build);
    assert.deepEqual(h.leaks(), [
      { address: s.a, size: build === 'small' ? 44 : 32, serial: guarded ? 1 : 0 },
      { address: s.b, size: guarded ? 2000 : 2012, serial: guarded ? 2 : 0 },
    ]);
    if (build !== 'debug') {
      h.free(s.a);
      h.free(s.b);
      assert.equal(h.exports.ralloc_assert_no_leak() >>> 0, 0);
      assert.doesNotThrow(() => h.assertNoLeak());
    }
  },
});

// ---- the security build's keyed headers --------------------------------------------------------

/**
 * Makes a security heap (seed) whose first block p claims 224 bytes asking for 200, with the
 * header and trailer copied from another heap's genuine block: heap `model` really allocated
 * 200 bytes at the same address, so only the key tells the forgery apart.
 */
function forgeFromModel(seed, modelSeed) {
  const model = createHeap({ build: 'security', seed: modelSeed });
  const p0 = model.malloc(200);
  const size = headerOf(model, p0) & ~15;
  // the model's header, and its canary and trailer: [p0 + 200, p0 + size - 4)
  const header = headerOf(model, p0);
  const guard = model.HEAPU8.slice(p0 + 200, p0 + size - 4);
  const h = createHeap({ build: 'security', seed });
  const p = h.malloc(100);
  const q = h.malloc(76); // p and q together cover exactly the model's block
  assert.equal(p, p0, 'the same address in both heaps');
  assert.equal(q + (headerOf(h, q) & ~15), p + size, 'p and q cover the model block');
  setU32(h, p - 4, header);
  h.HEAPU8.set(guard, p + 200);
  return { h, p, q, size };
}

add({
  name: 'security: a forged header with a check word made under another key is caught',
  builds: ['security'],
  setup() {
    return {};
  },
  run(t) {
    const { h, p, size } = forgeFromModel(2n, 1n);
    assertMisuse(() => h.free(p), `ralloc: corrupted header of ${hex8(p)} (${size} bytes), found by free`);
    // Control: the same forgery under the right key passes (so the key is what caught it above).
    const same = forgeFromModel(1n, 1n);
    assert.doesNotThrow(() => same.h.free(same.p), 'a header forged with the right key is accepted');
  },
});

// ---- the runner ------------------------------------------------------------------------------

/** The subtest's name: the build, and what differs there (a skip's or a todo's reason, or the
 *  note of the build's own expectations). */
function label(c, build) {
  if (c.skip?.[build]) return `${build} (skipped: ${c.skip[build]})`;
  if (c.todo?.[build]) return `${build} (todo: ${c.todo[build] === TINY_UNCHECKED ? 'tiny checks no neighbour\'s header and no free block\'s links' : c.todo[build]})`;
  const note = RELEASE_STYLE.includes(build) ? c[build]?.note : undefined;
  return note ? `${build} (${note})` : build;
}

for (const c of CASES) {
  test(c.name, async (t) => {
    for (const build of c.builds ?? [...GUARDED, ...RELEASE_STYLE]) {
      await t.test(label(c, build), { skip: c.skip?.[build] ?? false, todo: c.todo?.[build] ?? false }, () => {
        if (c.run) return c.run(t);
        const h = heapFor(build, c.options);
        const s = c.setup(h, build);
        if (GUARDED.includes(build)) {
          assertMisuse(() => c.misuse(h, s), c.message(s), c.code);
          c.after?.(h, s, build);
          return;
        }
        // release, small, tiny: release's contract, with the build's own expectations if it has any
        const r = c[build] ?? c.release;
        if (r.throws) {
          const [code, message] = r.throws(s);
          assertMisuse(() => c.misuse(h, s), message, code);
          c.after?.(h, s, build);
          return;
        }
        const before = r.noop ? h.HEAPU8.slice() : null;
        let result;
        assert.doesNotThrow(() => { result = c.misuse(h, s); }, `${build}: the call does not trap or throw`);
        if (r.result !== ANY) assert.equal(result, r.result, `${build}: the call's result`);
        if (before) {
          const after = h.HEAPU8;
          assert.equal(after.length, before.length, `${build}: memory did not grow`);
          const diff = after.findIndex((x, i) => x !== before[i]);
          assert.equal(diff, -1, `${build}: the call changed memory at ${hex8(diff)}`);
        }
        r.after?.(h, s, result);
        if (r.corrupts) {
          if (r.corrupts.check === NONZERO) assert.notEqual(h.check(), 0, `${build}: ralloc_check names a broken invariant`);
          else assert.equal(h.check(), r.corrupts.check, `${build}: ralloc_check names the broken invariant`);
          return;
        }
        assert.equal(h.check(), 0, `${build}: the heap is sound after the misuse`);
        assertIntact(h, s.live.filter((b) => b.byte !== null), 'after the misuse');
        assertBatchDistinct(h, s.live, s.sizes);
        assertIntact(h, s.live.filter((b) => b.byte !== null), 'after a batch of allocations');
        assert.equal(h.check(), 0, `${build}: the heap is sound after the batch`);
      });
    }
  });
}

test('the suite has at least 20 cases', () => {
  assert.ok(CASES.length >= 20, `${CASES.length} cases`);
});
