// docs/notes/small-flat-core.ts: the flat single-heap prototype measured in small-code-size.md.
// Not built, not shipped, not tested by npm test; kept for the decision on small's core.
// A minimal ralloc-like allocator, for measuring only (not a proposal of final code): the same
// block format as ralloc (4-byte header at p - 4, 16-byte grain, FREE / PREV_FREE bits, footer
// = own address), the same TLSF index (SL_BITS 4, exact lists below 256), memory from a break
// shared with sbrk, and C semantics: 0 on failure, malloc(0) unique, realloc in place (shrink,
// grow into a free successor), a failed realloc keeps p, bad frees ignored (never trap).
// Knobs (compile-time): MINI_SCAN (scan own list before growing), MINI_FOREIGN (skip memory
// grown by others), MINI_TOPGROW (realloc grows the block that ends the heap in place).

// @ts-ignore
const SCAN: bool = isDefined(MINI_SCAN) ? MINI_SCAN != 0 : true;
// @ts-ignore
const FOREIGN: bool = isDefined(MINI_FOREIGN) ? MINI_FOREIGN != 0 : true;
// @ts-ignore
const TOPFREE: bool = isDefined(MINI_TOPFREE) ? MINI_TOPFREE != 0 : true;
// @ts-ignore
const TOPGROW: bool = isDefined(MINI_TOPGROW) ? MINI_TOPGROW != 0 : true;

const FREE: u32 = 1;
const PREV_FREE: u32 = 2;
const MAX: usize = 0x7FFF_0000; // largest request: rounding up a list never overflows
const ROOT: usize = 1712; // heads 25*16*4 = 1600, slMap 25*4 = 100, flMap 4, (pad)
const SLMAP: usize = 1600;
const FLMAP: usize = 1700;

let root: usize = 0; // heap root (lists); 0 until the first allocation
let lo: usize = 0; // lowest block
let top: usize = 0; // end of the newest span (its tail header at top - 4)
let brk: usize = 0; // the break: end of everything handed out (heap and sbrk)
let known: u32 = 0; // memory pages when last looked (foreign growth)

@inline function hdr(p: usize): u32 { return load<u32>(p - 4); }
@inline function setHdr(p: usize, h: u32): void { store<u32>(p - 4, h); }
@inline function sizeOf(p: usize): usize { return load<u32>(p - 4) & ~15; }

/** fl << 4 | sl of size s. */
function listOf(s: usize): usize {
  if (s < 256) return s >> 4;
  let fl = <usize>(24 - clz<u32>(<u32>s));
  return (fl << 4) + (s >> (fl + 3)) - 16;
}

function insert(p: usize, s: usize): void {
  setHdr(p, <u32>s | FREE);
  store<u32>(p + s - 8, p);
  let next = p + s;
  setHdr(next, hdr(next) | PREV_FREE);
  let i = listOf(s);
  let slot = root + (i << 2);
  let head = load<u32>(slot);
  store<u32>(p, head);
  store<u32>(p, 0, 4);
  if (head) store<u32>(head, p, 4);
  store<u32>(slot, p);
  let fl = i >> 4;
  store<u32>(root + SLMAP + (fl << 2), load<u32>(root + SLMAP + (fl << 2)) | (1 << <u32>(i & 15)));
  store<u32>(root + FLMAP, load<u32>(root + FLMAP) | (1 << <u32>fl));
}

function remove(p: usize, s: usize): void {
  let next = load<u32>(p), prev = load<u32>(p, 4);
  if (next) store<u32>(next, prev, 4);
  if (prev) { store<u32>(prev, next); return; }
  let i = listOf(s);
  store<u32>(root + (i << 2), next);
  if (!next) {
    let fl = i >> 4;
    let m = root + SLMAP + (fl << 2);
    let bits = load<u32>(m) & ~(1 << <u32>(i & 15));
    store<u32>(m, bits);
    if (!bits) store<u32>(root + FLMAP, load<u32>(root + FLMAP) & ~(1 << <u32>fl));
  }
}

/** Frees block p (its header's size), merging with free neighbours; returns the merged block. */
function release(p: usize): usize {
  let h = hdr(p);
  let s = <usize>(h & ~15);
  let next = p + s;
  let nh = hdr(next);
  if (nh & FREE) {
    remove(next, nh & ~15);
    s += nh & ~15;
  }
  if (h & PREV_FREE) {
    let prev = <usize>load<u32>(p - 8);
    let ps = sizeOf(prev);
    remove(prev, ps);
    setHdr(p, 0); // no live-looking header inside a free block: a second free is ignored
    p = prev;
    s += ps;
  }
  insert(p, s);
  return p;
}

/** Cuts in-use block p down to s, freeing the tail when it can stand alone. */
function trim(p: usize, s: usize): void {
  let h = hdr(p);
  let rest = <usize>(h & ~15) - s;
  if (rest >= 16) {
    setHdr(p, <u32>s | (h & PREV_FREE));
    setHdr(p + s, <u32>rest);
    release(p + s);
  }
}

/** Takes free block p for a block of size s. */
function take(p: usize, s: usize): usize {
  let bs = sizeOf(p);
  remove(p, bs);
  setHdr(p, <u32>bs);
  setHdr(p + bs, hdr(p + bs) & ~PREV_FREE);
  trim(p, s);
  return p;
}

/** A free block of at least s, or 0. */
function find(s: usize): usize {
  let i = listOf(s >= 256 ? s + (<usize>1 << (27 - clz<u32>(<u32>s))) - 1 : s);
  let fl = i >> 4;
  let slm = load<u32>(root + SLMAP + (fl << 2)) & (<u32>-1 << <u32>(i & 15));
  if (!slm) {
    let flm = load<u32>(root + FLMAP) & (<u32>-1 << <u32>(fl + 1));
    if (!flm) {
      if (SCAN) {
        for (let p = <usize>load<u32>(root + (listOf(s) << 2)); p; p = load<u32>(p)) if (sizeOf(p) >= s) return p;
      }
      return 0;
    }
    fl = ctz<u32>(flm);
    slm = load<u32>(root + SLMAP + (fl << 2));
  }
  return load<u32>(root + ((fl << 4) + ctz<u32>(slm) << 2));
}

/** Moves the break past memory grown by others. */
@inline function skipForeign(): void {
  if (FOREIGN && <u32>memory.size() != known) brk = <usize>memory.size() << 16;
}

/** Makes memory reach brk + need (growing geometrically), returns the old break and sets the
 *  break to the end of memory, or returns 0. */
function claim(need: usize, geometric: bool = true): usize {
  skipForeign();
  let start = brk;
  let want = <u64>start + need;
  if (want > 0xFFFF_0000) return 0;
  let have = <u64>memory.size() << 16;
  if (want > have) {
    let pages = <i32>((want - have + 0xFFFF) >> 16);
    if (memory.grow(max<i32>(pages, geometric && root ? <i32>((start - root) >> 17) : 0)) < 0 && memory.grow(pages) < 0) return 0;
  }
  known = <u32>memory.size();
  brk = <usize>min<u64>(<u64>known << 16, 0xFFFF_0000);
  return start;
}

/** Adds [start, brk) to the heap; returns the free block that now ends it. */
function addMemory(start: usize): usize {
  let end = brk & ~15;
  let p: usize;
  if (start == top) {
    p = top; // the old tail becomes a block
    setHdr(p, <u32>(end - p) | (hdr(p) & PREV_FREE));
  } else {
    p = ((start + 15) & ~15) + 16;
    setHdr(p, <u32>(end - p));
    if (!lo) lo = p;
  }
  top = end;
  setHdr(end, 0);
  return release(p);
}

function init(): bool {
  if (!brk) brk = <usize>memory.size() << 16;
  let r = claim(ROOT + 64);
  if (!r) return false;
  root = (r + 15) & ~15;
  memory.fill(root, 0, ROOT);
  addMemory(root + ROOT);
  return true;
}

/** The header of p when it is a live block, else 0. */
function live(p: usize): u32 {
  if ((p & 15) || p < lo || p >= top) return 0;
  let h = hdr(p);
  let s = <usize>(h & ~15);
  return !(h & FREE) && s >= 16 && s <= top - p ? h : 0;
}

export function malloc(n: usize): usize {
  if (n > MAX || (!root && !init())) return 0;
  let s = (n + 19) & ~15;
  let p = find(s);
  if (!p) {
    // the free block ending the heap (when the heap ends at the break) is extended by new memory
    let t: usize = TOPFREE && top == brk && (hdr(top) & PREV_FREE) ? sizeOf(load<u32>(top - 8)) : 0;
    let start = claim((s > t ? s - t : 0) + 32);
    if (!start) return 0;
    p = addMemory(start);
    if (sizeOf(p) < s) return 0;
  }
  return take(p, s);
}

export function free(p: usize): void {
  if (live(p)) release(p);
}

export function realloc(p: usize, n: usize): usize {
  if (!p) return malloc(n);
  let h = live(p);
  if (!h || n > MAX) return 0;
  if (!n) {
    release(p);
    return 0;
  }
  let s = (n + 19) & ~15;
  let bs = <usize>(h & ~15);
  let next = p + bs;
  if (s > bs) {
    if (TOPGROW) {
      // p (with the free block after it) ends the heap at the break: grow memory under it
      let th = hdr(next);
      if ((th & FREE ? next + (th & ~15) : next) == top && top == brk) {
        let start = claim(s - bs + 16);
        if (start) addMemory(start);
      }
    }
    let nh = hdr(next);
    if ((nh & FREE) && bs + (nh & ~15) >= s) {
      remove(next, nh & ~15);
      bs += nh & ~15;
      setHdr(p, <u32>bs | (h & PREV_FREE));
      setHdr(p + bs, hdr(p + bs) & ~PREV_FREE);
    }
  }
  if (s <= bs) {
    trim(p, s);
    return p;
  }
  let q = malloc(n);
  if (q) {
    memory.copy(q, p, bs - 4);
    release(p);
  }
  return q;
}

export function calloc(count: usize, size: usize): usize {
  let total = <u64>count * <u64>size;
  if (total > <u64>MAX) return 0;
  let p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}

export function ralloc_init(heapBase: usize): i32 {
  if (brk) return 28;
  brk = (heapBase + 15) & ~15;
  known = <u32>memory.size();
  return 0;
}

export function sbrk(delta: i32): usize {
  if (!brk) brk = <usize>memory.size() << 16;
  if (delta < 0) return <usize>-1; // (sketch: giving back is not measured)
  let old = claim(<usize>delta, false); // exact growth: what sbrk leaves above the break may be skipped later
  if (!old) return <usize>-1;
  brk = old + delta;
  return old;
}

/** C11 aligned_alloc: any power-of-two alignment; 0 otherwise or on failure. */
export function aligned_alloc(align: usize, n: usize): usize {
  if (!align || (align & (align - 1)) || n > MAX || align > MAX) return 0;
  if (align <= 16) return malloc(n);
  let p = malloc(n + align);
  if (!p) return 0;
  let q = (p + align - 1) & ~(align - 1);
  if (q != p) { // the gap before q (a multiple of 16, so at least a minimal block) is freed
    let h = hdr(p);
    setHdr(q, (h & ~15) - <u32>(q - p));
    setHdr(p, <u32>(q - p) | (h & PREV_FREE));
    release(p);
  }
  trim(q, (n + 19) & ~15);
  return q;
}

export function posix_memalign(out: usize, align: usize, n: usize): i32 {
  if (align < 4 || (align & (align - 1)) || !out) return 28;
  let p = aligned_alloc(align, n);
  if (!p) return 48;
  store<u32>(out, p);
  return 0;
}

/** (debug, not in the family) total bytes and largest block in the free lists. */
export function mini_free(out: usize): void {
  let total: usize = 0, largest: usize = 0, count: usize = 0;
  for (let i: usize = 0; i < 400; i++) {
    for (let p = <usize>load<u32>(root + (i << 2)); p; p = load<u32>(p)) {
      let s = sizeOf(p); total += s; count++; if (s > largest) largest = s;
    }
  }
  store<u32>(out, total); store<u32>(out, largest, 4); store<u32>(out, count, 8); store<u32>(out, top, 12); store<u32>(out, brk, 16); 
}
