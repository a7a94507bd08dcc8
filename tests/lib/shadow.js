// A shadow model of the live blocks of one ralloc instance: what the host believes it owns.
// Every block added is validated (non-null, aligned, usable >= request, inside memory, above the
// floor, outside forbidden ranges, overlapping no other live block) and filled with a pattern derived
// from a per-allocation tag; every block removed (free / realloc) has its pattern verified first.
import { patternByte, hex } from './instance.js';

export const BASE_ALIGN = 16;
/** Blocks up to this size get the pattern in every byte; larger ones in sampled positions. */
export const FULL_PATTERN_MAX = 512;
const EDGE = 128; // bytes patterned at each end of a large block
const STRIDE = 1024; // one 8-byte word every STRIDE bytes in between

export class ShadowError extends Error {}

export class Shadow {
  /**
   * @param r a Ralloc instance
   * @param opts.floor lowest address a block may start at (default 1: address 0 is never valid)
   * @param opts.forbidden list of [lo, hi) ranges no block may touch (sbrk'd or foreign memory)
   */
  constructor(r, opts = {}) {
    this.r = r;
    this.floor = opts.floor ?? 1;
    this.forbidden = opts.forbidden ?? [];
    this.blocks = new Map(); // ptr -> block
    this.sorted = []; // live ptrs, ascending
    this.nextTag = opts.firstTag ?? 1;
    this.usableSum = 0; // sum of malloc_usable_size of live blocks (what stats.bytes_in_use must show)
    this.requestSum = 0;
  }

  get count() { return this.blocks.size; }

  fail(msg) { throw new ShadowError(msg); }

  /** Validate and record a new block; write its pattern (or, for calloc, verify it is zero first). */
  add(ptr, size, align = BASE_ALIGN, { zeroed = false, what = 'alloc', pattern = true } = {}) {
    const r = this.r;
    if (ptr === 0) this.fail(`${what}(${size}) returned 0 where a block was expected`);
    const need = Math.max(align, BASE_ALIGN);
    if (ptr % need !== 0) this.fail(`${what}(${size}, align ${align}) returned ${hex(ptr)}, not ${need}-aligned`);
    if (ptr < this.floor) this.fail(`${what}(${size}) returned ${hex(ptr)} below the heap floor ${hex(this.floor)}`);
    if (this.blocks.has(ptr)) this.fail(`${what}(${size}) returned ${hex(ptr)}, which is already live (tag ${this.blocks.get(ptr).tag})`);
    const usable = r.usableSize(ptr);
    if (usable < size) this.fail(`${what}(${size}) -> ${hex(ptr)}: malloc_usable_size ${usable} < request ${size}`);
    const extent = Math.max(usable, 1);
    const end = ptr + extent;
    const memEnd = r.memBytes();
    if (end > memEnd) this.fail(`${what}(${size}) -> ${hex(ptr)}+${usable} runs past the end of memory ${hex(memEnd)}`);
    for (const [lo, hi] of this.forbidden) {
      if (ptr < hi && end > lo) this.fail(`${what}(${size}) -> [${hex(ptr)}, ${hex(end)}) overlaps reserved [${hex(lo)}, ${hex(hi)})`);
    }
    // neighbours in address order
    const s = this.sorted;
    let lo = 0, hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < ptr) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) {
      const p = this.blocks.get(s[lo - 1]);
      if (p.ptr + p.extent > ptr)
        this.fail(`${what}(${size}) -> ${hex(ptr)} overlaps live block ${hex(p.ptr)}+${p.usable} (tag ${p.tag}, ${p.what}(${p.size}))`);
    }
    if (lo < s.length) {
      const n = this.blocks.get(s[lo]);
      if (end > n.ptr)
        this.fail(`${what}(${size}) -> ${hex(ptr)}+${usable} overlaps live block ${hex(n.ptr)}+${n.usable} (tag ${n.tag}, ${n.what}(${n.size}))`);
    }
    if (zeroed && !r.isZero(ptr, size)) {
      const u8 = r.bytes();
      let i = 0;
      while (u8[ptr + i] === 0) i++;
      this.fail(`${what}(${size}) -> ${hex(ptr)}: byte ${i} is ${u8[ptr + i]}, calloc memory must read zero`);
    }
    s.splice(lo, 0, ptr);
    const b = { ptr, size, usable, extent, align, tag: this.nextTag++ >>> 0, what, patterned: pattern };
    this.blocks.set(ptr, b);
    this.usableSum += usable;
    this.requestSum += size;
    if (pattern) writePattern(r, b);
    return b;
  }

  /** Verify the pattern of a live block (throws on the first wrong byte). */
  verify(b, why = 'verify') {
    if (!b.patterned) return;
    const bad = findBad(this.r, b, b.size, b.usable);
    if (bad >= 0) {
      const got = this.r.bytes()[b.ptr + bad];
      this.fail(`${why}: block ${hex(b.ptr)} (${b.what}(${b.size}), usable ${b.usable}, tag ${b.tag}) byte ${bad} is ${got}, expected ${expectedAt(b, bad)}: its contents were overwritten`);
    }
  }

  /** Verify and forget a block that is about to be freed. */
  remove(ptr, why = 'free') {
    const b = this.blocks.get(ptr);
    if (!b) this.fail(`${why}(${hex(ptr)}): not a live block of the shadow model`);
    this.verify(b, why);
    this._drop(b);
    return b;
  }

  /** Forget a block the allocator already took back (realloc(p, 0)), without reading it. */
  forget(ptr) {
    const b = this.blocks.get(ptr);
    if (!b) this.fail(`forget(${hex(ptr)}): not a live block of the shadow model`);
    this._drop(b);
    return b;
  }

  _drop(b) {
    const s = this.sorted;
    let lo = 0, hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < b.ptr) lo = mid + 1; else hi = mid;
    }
    s.splice(lo, 1);
    this.blocks.delete(b.ptr);
    this.usableSum -= b.usable;
    this.requestSum -= b.size;
  }

  /**
   * After realloc(old.ptr, newSize) returned newPtr != 0: check the first min(old, new) requested bytes
   * that carried the old pattern are intact at the new address, then re-pattern it as a new block.
   */
  moved(old, newPtr, newSize, what = 'realloc') {
    const keep = Math.min(old.size, newSize);
    const r = this.r;
    if (old.patterned) {
      // compare at newPtr the bytes the old block had at the same offsets
      const bad = findBadAt(r, old, newPtr, keep);
      if (bad >= 0)
        this.fail(`${what}(${hex(old.ptr)}, ${newSize}) -> ${hex(newPtr)}: byte ${bad} of the kept ${keep} bytes is ${r.bytes()[newPtr + bad]}, expected ${expectedAt(old, bad)} (old size ${old.size}, tag ${old.tag})`);
    }
    this._drop(old);
    return this.add(newPtr, newSize, BASE_ALIGN, { what });
  }

  /** Every live block, checked. */
  verifyAll(why = 'verifyAll') {
    for (const b of this.blocks.values()) this.verify(b, why);
  }

  randomLive(rng) {
    return this.blocks.get(this.sorted[rng.below(this.sorted.length)]);
  }
}

function expectedAt(b, i) {
  return patternByte(b.tag, i);
}

/** The offsets a block's pattern covers, as [start, end) runs, within the requested size plus usable tail. */
function runs(size, usable) {
  if (usable <= FULL_PATTERN_MAX) return [[0, usable]];
  const out = [];
  if (size <= 4 * EDGE) out.push([0, size]);
  else {
    out.push([0, EDGE]);
    // one word every STRIDE bytes, or 256 words spread over a huge block (so a 1 GiB block does not
    // touch every page of the host's memory)
    const stride = size > 256 * STRIDE ? Math.floor(size / 256) & ~7 : STRIDE;
    for (let o = stride; o + 8 <= size - EDGE; o += stride) out.push([o, o + 8]);
    out.push([size - EDGE, size]);
  }
  if (usable > size) out.push([Math.max(size, usable - 16), usable]); // the usable tail is the caller's too
  return out;
}

function writePattern(r, b) {
  const u8 = r.bytes();
  const p = b.ptr, t = b.tag;
  for (const [s, e] of runs(b.size, b.usable)) for (let i = s; i < e; i++) u8[p + i] = patternByte(t, i);
}

function findBad(r, b) {
  const u8 = r.bytes();
  const p = b.ptr, t = b.tag;
  for (const [s, e] of runs(b.size, b.usable)) for (let i = s; i < e; i++) if (u8[p + i] !== patternByte(t, i)) return i;
  return -1;
}

/** Like findBad but only the offsets < keep, read at another address. */
function findBadAt(r, b, at, keep) {
  const u8 = r.bytes();
  const t = b.tag;
  for (const [s, e0] of runs(b.size, b.usable)) {
    const e = Math.min(e0, keep);
    for (let i = s; i < e; i++) if (u8[at + i] !== patternByte(t, i)) return i;
  }
  return -1;
}
