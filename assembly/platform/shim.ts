// shim.ts — where memory comes from. The only code in ralloc-wasm that calls memory.grow or
// memory.size: porting the allocator to another host means rewriting this file (and the host
// hooks, hooks.ts) alone.
//
// The shim keeps the break: the end of everything it has handed out, to heaps (shimClaim) or to
// sbrk callers (shimSbrk). Memory above the break is unclaimed. A heap claims all of it up to
// the end of memory, growing memory geometrically when that is not enough. Memory grown by
// anyone else (a program's own memory.grow, the JS host) is noticed and skipped, never used.
//
//   shim state, 32 bytes at the heap base (in linear memory, shared by instances)
//   ┌──────┬────────────┬──────────────────────────────────────────────────────────────┐
//   │    0 │ brk        │ the break: end of all memory handed out                      │
//   │    4 │ sbrkStart  │ start of the run [sbrkStart, brk) handed out by sbrk         │
//   │    8 │ sbrkHeld   │ bytes sbrk callers hold                                      │
//   │   12 │ growCalls  │ successful memory.grow calls                                 │
//   │   16 │ knownPages │ memory size (pages) after the shim last looked               │
//   │   20 │ base       │ where the shim state sits: the start of the heap             │
//   └──────┴────────────┴──────────────────────────────────────────────────────────────┘
//
// The 4 GiB edge: memory.size() << 16 wraps to 0 at 65536 pages in 32 bits, so page arithmetic
// is done in u64 and no address at or above MAX_END is ever handed out.
//
// Inside an AssemblyScript module built with `--runtime stub` (ralloc-wasm/assembly used as a
// library), the runtime's bump allocator takes memory from its next free byte upward, with no
// thought for anyone else. So each time the shim grows memory it moves that allocator past what
// it took (stubSkipTo): one stub object from the allocator's next byte to the end of memory, less
// the last 16 bytes, where the allocator's next object header goes; the shim never hands those
// out. Memory the stub grows afterwards is foreign growth, skipped like any other.
//
// When ralloc-wasm is itself AssemblyScript's memory manager (the RUNTIME knob, set by the
// files of assembly/runtime/), no other allocator holds memory: the heap starts at __heap_base,
// right above the program's static data and stack, as AssemblyScript's TLSF would.

import { GROW_SHIFT, GROW_SHIFT_LARGE, GROW_LARGE_PAGES, GROW_MIN_PAGES, MODULE, RUNTIME } from "../base/config";

/** Nothing at or above this address is handed out, so every end fits in a u32. */
export const MAX_END: u64 = 0xFFFF_FFF0;
export const SHIM_SIZE: usize = 32;
const S_BRK: usize = 0;
const S_SBRK_START: usize = 4;
const S_SBRK_HELD: usize = 8;
const S_GROW_CALLS: usize = 12;
const S_KNOWN_PAGES: usize = 16;
const S_BASE: usize = 20;

/** Embedded in an AssemblyScript module whose runtime is the stub (a bump allocator). */
const STUB_RUNTIME: bool = !MODULE && ASC_RUNTIME == 0;
/** Bytes at the end of memory the shim leaves to the stub's next object header (stub runtime). */
const STUB_GAP: u64 = STUB_RUNTIME ? 16 : 0;

/** Address of the shim state; 0 until shimInit. Per instance: threads set it to one address. */
let state: usize = 0;

/** Whether the shim has been placed. O(1). */
@inline export function shimReady(): bool {
  return state != 0;
}

/** Places the shim state at base (rounded up to 16; never below 16; in the library, never below
 *  what AssemblyScript's runtime holds) and starts the break after it. When memory must grow to
 *  hold the state, it grows once for the state and `reserve` more bytes (the first request), or
 *  not at all, leaving the shim unplaced. O(1), plus one grow. */
export function shimInit(base: usize, reserve: usize): void {
  if (!MODULE) base = max<usize>(base, runtimeEnd());
  let at64 = (<u64>max<usize>(base, 16) + 15) & ~15; // in u64: rounding must not wrap to 0
  let want = at64 + SHIM_SIZE + <u64>reserve;
  if (want > MAX_END) return;
  let at = <usize>at64;
  let end = <u64>memory.size() << 16;
  if (<u64>at + SHIM_SIZE + STUB_GAP > end && !growPages(<u32>((want + STUB_GAP - end + 0xFFFF) >> 16))) return;
  state = at;
  store<u32>(at + S_BRK, <u32>(at + SHIM_SIZE));
  store<u32>(at + S_SBRK_START, <u32>(at + SHIM_SIZE));
  store<u32>(at + S_SBRK_HELD, 0);
  store<u32>(at + S_GROW_CALLS, pendingGrows);
  store<u32>(at + S_KNOWN_PAGES, <u32>memory.size());
  store<u32>(at + S_BASE, <u32>at);
  store<u64>(at, 0, 24); // (the state's last 8 bytes: unused, kept zero)
  pendingGrows = 0;
}

/** Threads build: uses the shim state another instance placed at `at` (heaps/hub.ts), sharing
 *  its break. O(1). */
export function shimAttach(at: usize): void {
  state = at;
}

/** Threads build: makes memory reach `end` (at most MAX_END), growing it by what is missing, so
 *  the hub can be placed there before any shim state exists. Two instances that both grow it
 *  grow it twice, which wastes pages but breaks nothing (no memory is handed out here). O(1),
 *  plus one grow. */
export function shimReach(end: u64): bool {
  let have = <u64>memory.size() << 16;
  return end <= have || (end <= MAX_END && growPages(<u32>((end - have + 0xFFFF) >> 16)));
}

/** The library only: where the memory AssemblyScript's runtime holds ends, so the shim starts
 *  above it: the end of memory, once a managed runtime's TLSF has started (it takes all memory
 *  up to the end when it starts, so it must start first; afterwards each side skips what the
 *  other grows). The stub's bump allocator holds memory up to its next byte, below the end, and
 *  is moved past what the shim takes as it grows. O(1), plus the TLSF's start. */
function runtimeEnd(): usize {
  if (RUNTIME) return __heap_base; // ralloc-wasm is the runtime's memory manager: nothing else holds memory
  if (ASC_RUNTIME != 0) heap.free(heap.alloc(16));
  return shimMemoryEnd();
}

/** Where a heap starts when no base was given (ralloc_init): the end of memory, so it overlaps
 *  nothing; __heap_base when ralloc-wasm is AssemblyScript's memory manager (RUNTIME). O(1). */
@inline export function shimDefaultBase(): usize {
  return RUNTIME ? __heap_base : shimMemoryEnd();
}

/** Bytes of memory as it is now, in u64: at 65536 pages (4 GiB) pages << 16 would wrap to 0 in
 *  32 bits. What every bounds check against the end of memory reads. O(1). */
export function memoryBytes(): u64 {
  return <u64>memory.size() << 16;
}

/** The end of memory as it is now, capped at MAX_END (at 65536 pages, pages << 16 would wrap to
 *  0): also the default heap base, so the heap overlaps nothing. O(1). */
export function shimMemoryEnd(): usize {
  let pages = <usize>memory.size();
  return pages >> 16 ? <usize>MAX_END : pages << 16;
}

/** Grows made before the state existed (only shimInit's own), counted once it does. */
let pendingGrows: u32 = 0;

/** Grows memory by n pages; counts the call. Under the stub runtime, moves its allocator past
 *  the new end. O(memory.grow). */
function growPages(n: u32): bool {
  if (memory.grow(<i32>n) < 0) return false;
  if (state) store<u32>(state + S_GROW_CALLS, load<u32>(state + S_GROW_CALLS) + 1);
  else pendingGrows++;
  if (STUB_RUNTIME) stubSkipTo(shimMemoryEnd());
  return true;
}

/** Stub runtime only: makes AssemblyScript's bump allocator start its next object at `end` (the
 *  end of memory, just grown), its header in the 16 bytes the shim leaves there, by taking one
 *  stub object (in pieces under the stub's largest) from its next free byte to end - 4. Memory
 *  just grew past that byte, so neither the probe nor the pieces make the stub grow memory (it
 *  would trap where it cannot). O(1), plus a piece per 512 MiB. */
function stubSkipTo(end: usize): void {
  let at = heap.alloc(0); // where the stub's next object starts: learnt by taking one...
  heap.free(at);          // ...and giving it back (the stub takes back its last object)
  while (at < end) {
    let piece = min<usize>(end - at, 1 << 29); // a multiple of 16, as at and end are
    heap.alloc(piece - 4); // payload [at, at + piece - 4); the next object starts at at + piece
    at += piece;
  }
}

/** Notices memory grown by others and moves the break past it, so it is never used. O(1).
 *  Callers that size a claim by what ends at the break call it first (heaps/source.ts growFor). */
export function skipForeignGrowth(): void {
  let pages = <u32>memory.size();
  let known = load<u32>(state + S_KNOWN_PAGES);
  if (pages == known) return;
  let brk = shimMemoryEnd();
  store<u32>(state + S_BRK, <u32>brk);
  store<u32>(state + S_SBRK_START, <u32>brk);
  store<u32>(state + S_KNOWN_PAGES, pages);
}

/** Makes sure memory reaches `want` (and the stub's gap above it), growing by at least
 *  `geometric` pages when it can. O(memory.grow). */
function reach(want: u64, geometric: u32): bool {
  want += STUB_GAP;
  let end = <u64>memory.size() << 16;
  if (want <= end) return true;
  let need = <u32>((want - end + 0xFFFF) >> 16);
  // Near a memory maximum the geometric step may not fit: halve it until it does, so the
  // last stretch below the maximum still takes few grows.
  let more = max<u32>(need, max<u32>(geometric, GROW_MIN_PAGES));
  while (!growPages(more)) {
    if (more == need) return false;
    more = max<u32>(need, more >> 1);
  }
  store<u32>(state + S_KNOWN_PAGES, <u32>memory.size());
  return true;
}

/**
 * Hands a heap all memory from the break to the end of memory, at least `need` bytes, growing
 * memory geometrically when needed: by half the heap while it is small, by an eighth once it
 * is large (config.ts), so peak memory stays within an eighth of the need and a heap of
 * hundreds of MiB still grows in a few dozen calls. Returns the start (the end is shimBreak()), or 0 when
 * memory cannot reach that far. O(1), plus one memory.grow when it grows.
 */
export function shimClaim(need: usize): usize {
  skipForeignGrowth();
  let brk = <u64>load<u32>(state + S_BRK);
  let want = brk + <u64>need;
  if (want > MAX_END) return 0;
  let heapPages = <u32>((brk - <u64>load<u32>(state + S_BASE)) >> 16);
  if (!reach(want, heapPages >> (heapPages < GROW_LARGE_PAGES ? GROW_SHIFT : GROW_SHIFT_LARGE))) return 0;
  let end = shimMemoryEnd() - <usize>STUB_GAP; // reach made it at least want + STUB_GAP
  store<u32>(state + S_BRK, <u32>end);
  store<u32>(state + S_SBRK_START, <u32>end);
  return <usize>brk;
}

/** The break: the end of all memory handed out so far. O(1). */
@inline export function shimBreak(): usize {
  return load<u32>(state + S_BRK);
}

/** Where sbrk(delta) moves a break at brk whose sbrk run starts at sbrkStart: the new break, or
 *  SBRK_FAIL when it would pass MAX_END or give back more than sbrk handed out on top of
 *  sbrkStart. Memory is not grown here. O(1). */
function sbrkTarget(brk: u64, sbrkStart: u64, delta: i32): u64 {
  let to = <u64>(<i64>brk + delta);
  return to > MAX_END || to < sbrkStart ? SBRK_FAIL : to; // (a wrap below 0 is above MAX_END)
}
const SBRK_FAIL: u64 = <u64>-1;

/**
 * sbrk: moves the break by delta and returns the old break, or -1 (as 0xFFFFFFFF) when it
 * cannot. Memory it hands out is never used by a heap; a negative delta may give back only
 * what sbrk itself handed out on top of the break. O(1), plus memory.grow when it grows.
 */
export function shimSbrk(delta: i32): usize {
  skipForeignGrowth();
  let brk = <u64>load<u32>(state + S_BRK);
  let to = sbrkTarget(brk, <u64>load<u32>(state + S_SBRK_START), delta);
  if (to == SBRK_FAIL || !reach(to, 0)) return <usize>-1;
  store<u32>(state + S_BRK, <u32>to);
  store<u32>(state + S_SBRK_HELD, load<u32>(state + S_SBRK_HELD) + <u32>delta);
  return <usize>brk;
}

/** Takes back [from, to) from a heap: possible only when `to` is the break (the memory is on
 *  top). The memory stays in wasm memory, above the break, for the next claim or sbrk. O(1). */
export function shimRelease(from: usize, to: usize): bool {
  if (!state || <usize>load<u32>(state + S_BRK) != to || from > to) return false;
  store<u32>(state + S_BRK, <u32>from);
  store<u32>(state + S_SBRK_START, <u32>from);
  return true;
}

/** A heap adopts [start, end) (a donation): the part sbrk could still give back no longer can,
 *  and no longer counts as held by sbrk callers. O(1). */
export function shimAdopt(start: usize, end: usize): void {
  if (!state) return;
  let brk = <usize>load<u32>(state + S_BRK);
  let sbrkStart = <usize>load<u32>(state + S_SBRK_START);
  let from = max<usize>(start, sbrkStart), to = min<usize>(end, brk);
  if (from >= to) return; // not from the run sbrk can still give back
  store<u32>(state + S_SBRK_START, <u32>to);
  let held = load<u32>(state + S_SBRK_HELD);
  store<u32>(state + S_SBRK_HELD, held - min<u32>(held, <u32>(to - from)));
}

/** Whether [start, end) overlaps memory the shim keeps for itself: its state, or memory above
 *  the break that nobody has been handed. O(1). */
export function shimOwns(start: usize, end: usize): bool {
  if (!state) return false;
  let brk = <usize>load<u32>(state + S_BRK);
  let memEnd = memoryBytes();
  return (start < state + SHIM_SIZE && end > state) || (<u64>end > <u64>brk && <u64>start < memEnd);
}

/** Successful memory.grow calls so far. O(1). */
export function shimGrowCalls(): u32 {
  return state ? load<u32>(state + S_GROW_CALLS) : pendingGrows;
}

/** Bytes sbrk callers hold. O(1). */
export function shimSbrkHeld(): u32 {
  return state ? load<u32>(state + S_SBRK_HELD) : 0;
}

/** Start of the heap (where the shim state sits), or 0 before it is placed. O(1). */
export function shimBase(): usize {
  return state;
}

// ---- the tiny build's shim (entry/tiny.ts) ------------------------------------------------------------
// The same contract as above: a break shared with sbrk, geometric growth, memory grown by others
// skipped, nothing handed out at or above MAX_END, sbrk(-n) giving back only what sbrk handed
// out. For code size, its state lives in module globals rather than at the heap base, so it is
// per instance: one tiny instance per memory (the layered builds' state is shared).

/** The break; 0 until tinyShimInit. */
let tBrk: usize = 0;
/** Start of the run [tSbrkStart, tBrk) handed out by sbrk, which sbrk(-n) may give back. */
let tSbrkStart: usize = 0;
/** Bytes sbrk callers hold. */
let tSbrkHeld: u32 = 0;
/** Memory size (pages) when the shim last looked. */
let tKnown: u32 = 0;
/** Start of the heap: where the break began. */
let tBase: usize = 0;
/** memory.grow calls that succeeded. */
let tGrows: u32 = 0;

/** Whether the tiny shim has a break yet. O(1). */
@inline export function tinyShimReady(): bool {
  return tBrk != 0;
}

/** Starts the break at base rounded up to 16 (at least 16, at most MAX_END); memory need not
 *  reach it yet. O(1). */
export function tinyShimInit(base: usize): void {
  tBase = tBrk = tSbrkStart = <usize>min<u64>((<u64>max<usize>(base, 16) + 15) & ~15, MAX_END);
  tKnown = <u32>memory.size();
}

/** Moves the break past memory grown by others, so it is never used. O(1). */
function tinySkipForeign(): void {
  let pages = <u32>memory.size();
  if (pages == tKnown) return;
  tKnown = pages;
  // the new pages are someone else's; a break still above them (a heap base set beyond the
  // memory's end) stays where it is
  tBrk = tSbrkStart = max<usize>(tBrk, shimMemoryEnd());
}

/** Makes memory reach `want` (1 <= want <= MAX_END), growing by at least `more` pages when it
 *  can, else by just enough. O(memory.grow). */
function tinyReach(want: usize, more: i32): bool {
  let short = <i32>(((want - 1) >> 16) + 1) - <i32>memory.size(); // pages missing
  if (short <= 0) return true;
  if (memory.grow(max<i32>(short, more)) < 0 && memory.grow(short) < 0) return false;
  tGrows++;
  tKnown = <u32>memory.size();
  return true;
}

/** Hands the heap all memory from the break to the end of memory, at least `need` bytes,
 *  growing by at least the heap's size >> GROW_SHIFT. Returns the start (the end is
 *  tinyShimBreak(), at least start + need), or 0 with memory unchanged. O(1), plus one
 *  memory.grow when it grows. */
export function tinyShimClaim(need: usize): usize {
  tinySkipForeign();
  let brk = tBrk; // at most MAX_END, so the test below cannot wrap
  if (need > <usize>MAX_END - brk || !tinyReach(brk + need, <i32>((brk - tBase) >> (16 + GROW_SHIFT)))) return 0;
  tBrk = tSbrkStart = shimMemoryEnd();
  return brk;
}

/** The break. O(1). */
@inline export function tinyShimBreak(): usize {
  return tBrk;
}

/** sbrk over the tiny shim: as shimSbrk. O(1), plus memory.grow when it grows. */
export function tinyShimSbrk(delta: i32): usize {
  if (!tBrk) tinyShimInit(shimMemoryEnd());
  tinySkipForeign();
  let brk = tBrk;
  let to = sbrkTarget(brk, tSbrkStart, delta);
  if (to == SBRK_FAIL || !tinyReach(<usize>to, 0)) return <usize>-1;
  tBrk = <usize>to;
  tSbrkHeld += <u32>delta;
  return brk;
}

/** memory.grow calls, sbrk's held bytes and the heap's start, for tiny's ralloc_stats. O(1). */
export function tinyShimGrows(): u32 {
  return tGrows;
}
export function tinyShimSbrkHeld(): u32 {
  return tSbrkHeld;
}
export function tinyShimBase(): usize {
  return tBase;
}
