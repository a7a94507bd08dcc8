// stats.ts — the stats struct that ralloc_stats fills (its layout: base/abi.ts), from the
// heap's counters (core/counters.ts) and, where they are not kept, a walk. Release counts no
// call on its small objects' paths: an object's malloc and free calls are derived from the
// objects ever put on pages' free lists (the root's objHanded, counted when a list is refilled),
// the objects on those lists now, and the live flags: objects popped = handed - listed, freed =
// popped - live; realloc's own objects (objReallocIn/Out) are taken out of both.

import { HEADER, MIN_BLOCK, FREE, CACHED, SIZE_MASK, header } from "../base/block";
import { GUARDED, PAGES } from "../base/config";
import {
  R_PEAK_HELD, R_QUICK_BYTES, R_CLAIMED, R_MALLOCS, R_FREES, R_REALLOCS, R_OBJ_HANDED, R_OBJ_REALLOC_IN,
  R_OBJ_REALLOC_OUT, field,
} from "../base/root";
import {
  STATS_SIZE, STATS_VERSION, ST_SIZE, ST_VERSION, ST_BYTES_IN_USE, ST_PEAK_BYTES_HELD, ST_BYTES_FROM_MEMORY,
  ST_GROW_CALLS, ST_MALLOC_CALLS, ST_FREE_CALLS, ST_REALLOC_CALLS, ST_LIVE_BLOCKS, ST_SBRK_BYTES,
  ST_HEAP_BASE, ST_RESERVED,
} from "../base/abi";
import { shimGrowCalls, shimSbrkHeld, shimBase } from "../platform/shim";
import { requestOf } from "../diag/guard";
import { MAX_SPANS, spanEnd, spanFirst, spanHead, spanAfter } from "../core/span";
import { liveBlocks, heldBytes } from "../core/counters";
import { pageLive, pageOf, pageIntact, pageTotals } from "../small/page";

/** Usable bytes of the live blocks. The small build derives them: held bytes, less the cache,
 *  less a header per live block, O(1). In the guarded builds a block's usable bytes are exactly
 *  its request (diag/guard.ts), and in release small objects live in pages (small/page.ts), so
 *  there they are summed by a walk: O(blocks + page objects). Nothing on the fast paths keeps a
 *  count. */
export function bytesInUse(r: usize): u32 {
  if (GUARDED || PAGES) return walkedBytes(r);
  return heldBytes(r) - field(r, R_QUICK_BYTES) - <u32>HEADER * liveBlocks(r);
}

/** Sum over heap r's live blocks of what they asked for (guarded builds), or of their usable
 *  bytes, with the live objects of each page (release). O(blocks + page objects). */
function walkedBytes(r: usize): u32 {
  let sum: u32 = 0;
  for (let s = spanHead(r), n: u32 = 0; s && n < MAX_SPANS; s = spanAfter(r, s), ++n) {
    let end = spanEnd(s);
    for (let p = spanFirst(s); p < end; ) {
      let h = header(p);
      let size = <usize>(h & SIZE_MASK);
      if (size < MIN_BLOCK || size > end - p) break; // a broken heap: inspect/check.ts says so
      if ((h & (FREE | CACHED)) == 0) sum += GUARDED ? <u32>requestOf(p) : <u32>(size - HEADER);
      else if (PAGES && (h & FREE) == 0 && pageOf(r, p) == p && pageIntact(p)) sum += <u32>(pageLive(p) >> 32);
      p += size;
    }
  }
  return sum;
}

/** Writes heap r's stats struct at out (r may be 0: a heap not yet made). O(blocks) where bytes
 *  in use are walked, else O(1); release adds O(page objects) for the objects' calls. */
export function writeStats(r: usize, out: usize): void {
  if (!r) {
    writeStatsStruct(out, 0, 0, 0, 0, 0, 0, 0, shimGrowCalls(), shimSbrkHeld(), <u32>shimBase());
    return;
  }
  let mallocs = load<u64>(r + R_MALLOCS), frees = load<u64>(r + R_FREES), live = <u64>liveBlocks(r);
  if (PAGES) {
    let totals = pageTotals(r); // live objects low, objects on free lists high
    let objLive = totals & 0xFFFF_FFFF;
    let popped = load<u64>(r + R_OBJ_HANDED) - (totals >> 32);
    mallocs += popped - <u64>field(r, R_OBJ_REALLOC_IN);
    frees += popped - objLive - <u64>field(r, R_OBJ_REALLOC_OUT);
    live += objLive;
  }
  writeStatsStruct(out, bytesInUse(r), field(r, R_PEAK_HELD), field(r, R_CLAIMED), mallocs, frees,
    load<u64>(r + R_REALLOCS), <u32>live, shimGrowCalls(), shimSbrkHeld(), <u32>shimBase());
}

/** Writes the stats struct (version 1, base/abi.ts) at out from its fields. O(1). */
export function writeStatsStruct(
  out: usize, inUse: u32, peakHeld: u32, claimed: u32, mallocs: u64, frees: u64, reallocs: u64,
  live: u32, growCalls: u32, sbrkHeld: u32, heapBase: u32,
): void {
  store<u32>(out + ST_SIZE, STATS_SIZE);
  store<u32>(out + ST_VERSION, STATS_VERSION);
  store<u32>(out + ST_BYTES_IN_USE, inUse);
  store<u32>(out + ST_PEAK_BYTES_HELD, peakHeld);
  store<u32>(out + ST_BYTES_FROM_MEMORY, claimed);
  store<u32>(out + ST_GROW_CALLS, growCalls);
  store<u64>(out + ST_MALLOC_CALLS, mallocs);
  store<u64>(out + ST_FREE_CALLS, frees);
  store<u64>(out + ST_REALLOC_CALLS, reallocs);
  store<u32>(out + ST_LIVE_BLOCKS, live);
  store<u32>(out + ST_SBRK_BYTES, sbrkHeld);
  store<u32>(out + ST_HEAP_BASE, heapBase);
  store<u32>(out + ST_RESERVED, 0);
}
