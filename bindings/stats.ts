/**
 * Heap statistics: the allocator's stats struct (`HeapStats`, `decodeStats`),
 * and the scratch area below the heap through which the stats and the layout
 * are read.
 *
 * @module
 */

import { STATS } from "./abi.js";
import { RallocError } from "./errors.js";
import type { Heap } from "./heap.js";

/**
 * Bytes below the heap base that the bindings borrow, for the length of one
 * call, to receive `ralloc_stats`' output: [STATS_SCRATCH, STATS_SCRATCH + size).
 * The allocator never reads memory below its heap base, so the call cannot
 * disturb it, and the bytes are put back before the call returns. The heap base
 * must therefore be at least {@link MIN_HEAP_BASE}.
 */
export const STATS_SCRATCH = 16;

/** The lowest heap base a `Heap` accepts (see {@link STATS_SCRATCH}). */
export const MIN_HEAP_BASE = 128;

/** Statistics of a heap (the allocator's stats struct, version 1). */
export interface HeapStats {
  /** Size of the struct the allocator wrote, in bytes (64). */
  size: number;
  /** Struct layout version (1). */
  version: number;
  /** Sum of the usable sizes of live blocks. */
  bytesInUse: number;
  /** Most bytes held at once by live and cached blocks, headers included (at least `bytesInUse`). */
  peakBytesHeld: number;
  /** Bytes the heap has claimed from memory, its metadata included. */
  bytesFromMemory: number;
  /** `memory.grow` calls the allocator has made. */
  growCalls: number;
  /** Allocating calls: malloc, calloc, aligned_alloc, posix_memalign, memalign. */
  mallocCalls: number;
  /** free calls. */
  freeCalls: number;
  /** realloc calls. */
  reallocCalls: number;
  /** Blocks allocated and not yet freed. */
  liveBlocks: number;
  /** Bytes currently held by sbrk callers. */
  sbrkBytes: number;
  /** Where the heap starts. */
  heapBase: number;
}

/** Decodes the version-1 stats struct (its offsets: {@link STATS}). O(1). */
export function decodeStats(view: DataView): HeapStats {
  const o = STATS.OFFSET;
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  return {
    size: u32(o.size),
    version: u32(o.version),
    bytesInUse: u32(o.bytesInUse),
    peakBytesHeld: u32(o.peakBytesHeld),
    bytesFromMemory: u32(o.bytesFromMemory),
    growCalls: u32(o.growCalls),
    mallocCalls: u64(o.mallocCalls),
    freeCalls: u64(o.freeCalls),
    reallocCalls: u64(o.reallocCalls),
    liveBlocks: u32(o.liveBlocks),
    sbrkBytes: u32(o.sbrkBytes),
    heapBase: u32(o.heapBase),
  };
}

/** The error for a heap that starts too low to lend the scratch area. */
function scratchTooLow(who: string, size: number, base: number): RallocError {
  return new RallocError("E_UNSUPPORTED", `${who} borrows [${STATS_SCRATCH}, ${STATS_SCRATCH + size}) below the heap, but the heap starts at ${base}`);
}

/** Runs `use(STATS_SCRATCH)` with [STATS_SCRATCH, +size) of the heap's memory lent to it, then puts the bytes back. O(size). */
export function lendScratch<T>(heap: Heap, size: number, who: string, use: (ptr: number) => T): T {
  const end = STATS_SCRATCH + size;
  if (heap.heapBase !== undefined && heap.heapBase < end) throw scratchTooLow(who, size, heap.heapBase);
  if (heap.memory.buffer.byteLength < end) throw scratchTooLow(who, size, 0);
  const saved = heap.HEAPU8.slice(STATS_SCRATCH, end);
  try {
    return use(STATS_SCRATCH);
  } finally {
    heap.HEAPU8.set(saved, STATS_SCRATCH);
  }
}

/** Reads the stats struct `write(ptr)` writes (`write(0)` gives its size) through the heap's scratch area. O(1). */
export function readStatsStruct(heap: Heap, write: (ptr: number) => number, name: string): HeapStats {
  const size = write(0);
  if (size < STATS.SIZE) throw new RallocError("E_UNSUPPORTED", `${name} reports a ${size}-byte struct; these bindings read version ${STATS.VERSION} (${STATS.SIZE} bytes)`);
  const stats = heap.borrowScratch(size, "stats()", (ptr) => {
    write(ptr);
    return decodeStats(new DataView(heap.memory.buffer as ArrayBuffer, ptr, size));
  });
  // When the bindings did not place the heap, check afterwards that it lies above the scratch.
  if (stats.heapBase !== 0 && stats.heapBase < STATS_SCRATCH + size && name === "ralloc_stats") throw scratchTooLow("stats()", size, stats.heapBase);
  return stats;
}
