// Generative checks of a cell allocator (assembly/features/cell.ts), shared by the as-pect specs
// (tests/assembly/cells.spec.ts) and the host test that builds them in other configurations
// (tests/cells.test.js, tests/cells/checks.ts). A seeded sequence of allocations and frees runs
// through the Allocator<u32> interface; after every step the live cells must be disjoint, keep
// the stamps written into them, and a freed cell must be dead. The first broken property is
// returned as a code and described in `failure`; nothing here allocates from the runtime
// once a run has started (the live set is preallocated), so a pool's memory.size() can be watched.

import { Allocator, Cell } from "../../assembly/index";

/** What broke, for the first nonzero code returned. */
export let failure = "";

/** Codes for the properties. */
export const OK = 0;
export const OVERLAP = 1;
export const CONTENT = 2;
export const LENGTH = 3;
export const NOT_DEAD = 4;
export const NOT_ZERO = 5;

/** Most live cells a run keeps. */
export const MAX_LIVE = 256;

const liveCells = new StaticArray<usize>(MAX_LIVE);
const liveStamps = new StaticArray<u32>(MAX_LIVE);
const livePtrs = new StaticArray<usize>(MAX_LIVE);
/** Lengths of the live cells, kept beside them (a cell's own length is what is checked). */
const liveLens = new StaticArray<i32>(MAX_LIVE);
let live = 0;
let state: u32 = 1;

/** The next number of the run's generator (an LCG), in [0, n). */
export function rnd(n: u32): u32 {
  state = state * 1664525 + 1013904223;
  return <u32>((<u64>(state >>> 8) * <u64>n) >>> 24);
}

/** Seeds the generator. */
export function seedWith(s: u32): void {
  state = s ? s : 1;
}

/** Element i's stamp for a cell stamped s. */
// @ts-ignore: decorator
@inline function stampOf(s: u32, i: i32): u32 {
  return s ^ (<u32>i * 0x9E3779B1);
}

/** Whether cell c still holds stamp s everywhere; sets `failure` when not. */
function holds(c: Cell<u32>, s: u32, len: i32): bool {
  if (c.length != len) {
    failure = "cell #" + c.serial.toString() + " has length " + c.length.toString() + ", not " + len.toString();
    return false;
  }
  for (let i = 0; i < len; ++i) {
    if (c[i] != stampOf(s, i)) {
      failure = "cell #" + c.serial.toString() + " element " + i.toString() + " was overwritten";
      return false;
    }
  }
  return true;
}

/** Frees live cell k of the run through a. Returns a code. */
function freeAt(a: Allocator<u32>, k: i32, len: i32): i32 {
  let c = changetype<Cell<u32>>(liveCells[k]);
  if (!holds(c, liveStamps[k], len)) return CONTENT;
  a.freeCell(c);
  if (!c.freed || c.length != 0) {
    failure = "cell #" + c.serial.toString() + " is not dead after its free";
    return NOT_DEAD;
  }
  live--;
  liveCells[k] = liveCells[live];
  liveStamps[k] = liveStamps[live];
  livePtrs[k] = livePtrs[live];
  liveLens[k] = liveLens[live];
  return OK;
}

/** Allocations that found no room during the last run. */
export let refused = 0;

/**
 * A seeded run of `ops` steps on allocator a: allocate a cell of 1..maxLen elements (while
 * fewer than maxLive live, or on a coin flip), else free a random live one; then free all.
 * `zeroed`: every new cell must read zero. Returns OK or the code of the first broken property.
 */
export function churn(a: Allocator<u32>, seed: u32, ops: i32, maxLen: i32, maxLive: i32, zeroed: bool): i32 {
  seedWith(seed);
  live = 0;
  refused = 0;
  failure = "";
  for (let step = 0; step < ops; ++step) {
    if (live == 0 || (live < maxLive && rnd(2) == 0)) {
      let len = 1 + <i32>rnd(<u32>maxLen);
      let c = a.tryAllocCell(len);
      if (!c) {
        refused++;
        continue;
      }
      let code = admit(c, len, zeroed, step);
      if (code) return code;
    } else {
      let k = <i32>rnd(<u32>live);
      let code = freeAt(a, k, liveLens[k]);
      if (code) return code;
    }
    if ((step & 1023) == 0 && !everyHolds()) return CONTENT;
  }
  while (live > 0) {
    let code = freeAt(a, live - 1, liveLens[live - 1]);
    if (code) return code;
  }
  return OK;
}

/** Checks a new cell c of len elements against the live set, stamps it and adds it. */
function admit(c: Cell<u32>, len: i32, zeroed: bool, step: i32): i32 {
  if (c.length != len || c.freed) {
    failure = "a new cell has length " + c.length.toString() + ", not " + len.toString();
    return LENGTH;
  }
  let p = c.ptr;
  let end = p + <usize>len * 4;
  for (let k = 0; k < live; ++k) {
    let q = livePtrs[k];
    let qend = q + <usize>liveLens[k] * 4;
    if (p < qend && q < end) {
      failure = "cell #" + c.serial.toString() + " overlaps a live cell";
      return OVERLAP;
    }
  }
  if (zeroed) {
    for (let i = 0; i < len; ++i) {
      if (c[i] != 0) {
        failure = "cell #" + c.serial.toString() + " element " + i.toString() + " is not zero";
        return NOT_ZERO;
      }
    }
  }
  let s = <u32>step * 2654435761 + <u32>len;
  for (let i = 0; i < len; ++i) c[i] = stampOf(s, i);
  liveCells[live] = changetype<usize>(c);
  liveStamps[live] = s;
  livePtrs[live] = p;
  liveLens[live] = len;
  live++;
  return OK;
}

/** Whether every live cell of the run holds its stamp. O(live elements). */
function everyHolds(): bool {
  for (let k = 0; k < live; ++k) {
    if (!holds(changetype<Cell<u32>>(liveCells[k]), liveStamps[k], liveLens[k])) return false;
  }
  return true;
}

/** The longest cell a can give right now (found by halving; each trial cell is freed). */
export function largestCell(a: Allocator<u32>, most: i32): i32 {
  let lo = 0, hi = most;
  while (lo < hi) {
    let mid = lo + ((hi - lo + 1) >> 1);
    let c = a.tryAllocCell(mid);
    if (c) {
      a.freeCell(c);
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}
