/**
 * Walking a ralloc-wasm heap from the host: its blocks (`ralloc_walk`,
 * `ralloc_block_info`, `ralloc_block_request`, `ralloc_block_serial`) and its
 * spans (`ralloc_span_next`, `ralloc_span_end`). Every function takes only an
 * allocator's exports object, so it works for any instance (a `Heap`'s
 * `exports`, or the allocator a program imports).
 *
 * @module
 */

import { RallocError } from "./errors.js";
import { hex8 } from "./messages.js";

/** What a block is to the program: `used` (live), `free` (in the general free lists) or `cached` (in a quick list: free for the program). */
export type BlockState = "used" | "free" | "cached";

/** One block of the global heap, as the walk sees it. */
export interface BlockRecord {
  /** The payload address (a multiple of 16); the block's 4-byte header lies just below it. */
  address: number;
  /** Bytes of the block, header included (a multiple of 16): it covers [address - 4, address - 4 + size). */
  size: number;
  /** In use, free or cached. */
  state: BlockState;
  /** Bytes the program asked for (guarded builds), or the usable payload (release, small); 0 unless in use. */
  request: number;
  /** Allocation number (guarded builds); 0 when unknown or not in use. */
  serial: number;
  /** A partial free gave up the block's first bytes (fewer than 16); they come back with the block. */
  leadDead: boolean;
}

/** One span of the global heap: [start, end). Its first 12 bytes and last 4 are ralloc's; blocks lie between. */
export interface SpanRecord {
  start: number;
  end: number;
}

/** `ralloc_layout`'s 8 words, named. */
export interface HeapLayout {
  /** Layout version (1). */
  version: number;
  /** Where ralloc's state starts; the program's data and stack lie below (0 before the shim is placed). */
  shimBase: number;
  /** End of the shim state. */
  shimEnd: number;
  /** The global heap's root (0 before the first allocation). */
  root: number;
  /** Bytes of the root. */
  rootSize: number;
  /** The break (`sbrk(0)`): memory above it is unclaimed. */
  brk: number;
  /** Bytes of memory (4294967296 for a full 4 GiB memory; `ralloc_layout` says 0xFFFFFFFF). */
  memoryEnd: number;
  /** Guard bytes per block (0 in release and small; 12 + the canary in guarded builds). */
  guardBytes: number;
}

/** Block flags of `ralloc_block_info`. */
export const BLOCK_FREE = 1;
export const BLOCK_CACHED = 4;
export const BLOCK_LEAD_DEAD = 8;

/** Bytes of a span's head before its first block's header. */
export const SPAN_HEAD = 12;
/** Bytes of a span's tail. */
export const SPAN_TAIL = 4;

type Fn = (...args: number[]) => number;

/** Describes a value for an error message. O(1). */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** An address as `0x` and 8 lowercase hex digits (messages.ts's hex8). */
export const hex = hex8;

/** The named export functions of an allocator, or a RallocError naming the first missing one. O(names). */
function functions(exports: unknown, who: string, names: readonly string[]): Fn[] {
  if (typeof exports !== "object" || exports === null) {
    throw new RallocError("E_BAD_OPTION", `${who}: expected an allocator's exports object (heap.exports), got ${describe(exports)}`);
  }
  return names.map((name) => {
    const f = (exports as Record<string, unknown>)[name];
    if (typeof f !== "function") {
      throw new RallocError("E_UNSUPPORTED", `${who}: this allocator does not export ${name} (ralloc-wasm builds have it)`);
    }
    return f as Fn;
  });
}

/** A RallocError for a heap whose structure cannot be walked. O(1). */
function corrupted(who: string, what: string): RallocError {
  return new RallocError("E_MISUSE", `${who}: the heap is corrupted: ${what}`);
}

/**
 * The spans of the global heap in address order (`ralloc_span_next`,
 * `ralloc_span_end`); empty before the first allocation. O(spans · log spans).
 *
 * @throws RallocError `E_UNSUPPORTED` when the exports lack the span calls,
 * `E_MISUSE` when the span list loops or a span is malformed.
 */
export function spans(exports: unknown): SpanRecord[] {
  const [next, end] = functions(exports, "spans", ["ralloc_span_next", "ralloc_span_end"]) as [Fn, Fn];
  const out: SpanRecord[] = [];
  const seen = new Set<number>();
  for (let s = next(0) >>> 0; s !== 0; s = next(s) >>> 0) {
    if (seen.has(s)) throw corrupted("spans", `the span list loops at ${hex(s)}`);
    seen.add(s);
    const e = end(s) >>> 0;
    if (s % 16 !== 0 || e % 16 !== 0 || e < s + SPAN_HEAD + 16 + SPAN_TAIL) {
      throw corrupted("spans", `span ${hex(s)} ends at ${hex(e)}`);
    }
    out.push({ start: s, end: e });
  }
  out.sort((a, b) => a.start - b.start);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.start < out[i - 1]!.end) {
      throw corrupted("spans", `span ${hex(out[i]!.start)} overlaps span ${hex(out[i - 1]!.start)}`);
    }
  }
  return out;
}

/** Index of the span holding address a in spans sorted by start, or -1. O(log spans). */
function spanIndex(list: readonly SpanRecord[], a: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid]!;
    if (a < s.start) hi = mid - 1;
    else if (a >= s.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The record of block p (`ralloc_block_info` and friends), checked to lie inside span. O(1). */
function readBlock(p: number, span: SpanRecord, who: string, info: Fn, request: Fn, serial: Fn): BlockRecord {
  const word = info(p) >>> 0;
  const size = word & ~15;
  if (size < 16 || p - 4 + size > span.end - SPAN_TAIL) {
    throw corrupted(who, `block ${hex(p)} claims ${size} bytes in span ${hex(span.start)}-${hex(span.end)}`);
  }
  const state: BlockState = word & BLOCK_FREE ? "free" : word & BLOCK_CACHED ? "cached" : "used";
  const used = state === "used";
  return {
    address: p,
    size,
    state,
    request: used ? request(p) >>> 0 : 0,
    serial: used ? serial(p) >>> 0 : 0,
    leadDead: (word & BLOCK_LEAD_DEAD) !== 0,
  };
}

const WALK_CALLS = ["ralloc_walk", "ralloc_block_info", "ralloc_block_request", "ralloc_block_serial"] as const;

/**
 * Every block of the global heap, in address order: its payload address, size,
 * state, request, serial and LEAD_DEAD mark (`ralloc_walk` and the
 * `ralloc_block_*` calls). Safe from inside an allocator event. Checks each step
 * against the spans, so a corrupted heap raises an error instead of looping.
 * O(blocks + spans · log spans).
 *
 * @throws RallocError `E_UNSUPPORTED` when the exports lack the walk calls,
 * `E_MISUSE` when a block lies outside every span, is malformed, or the walk
 * goes backwards within a span.
 */
export function walkHeap(exports: unknown): BlockRecord[] {
  const [walk, info, request, serial] = functions(exports, "walkHeap", WALK_CALLS) as [Fn, Fn, Fn, Fn];
  const spanList = spans(exports);
  const out: BlockRecord[] = [];
  // Within a span the walk must move up, ending each block where the next begins; it may jump
  // to another span's first block, once per span.
  const entered = new Set<number>();
  let expect = 0;
  let span: SpanRecord | undefined;
  for (let p = walk(0) >>> 0; p !== 0; p = walk(p) >>> 0) {
    if (span === undefined || p < span.start || p >= span.end) {
      const i = spanIndex(spanList, p);
      if (i < 0 || p % 16 !== 0) throw corrupted("walkHeap", `block ${hex(p)} lies outside every span`);
      span = spanList[i]!;
      if (entered.has(i) || p !== span.start + SPAN_HEAD + 4) {
        throw corrupted("walkHeap", `the walk enters span ${hex(span.start)} at ${hex(p)}, not at its first block`);
      }
      entered.add(i);
    } else if (p !== expect) {
      throw corrupted("walkHeap", `the walk goes from the block ending at ${hex(expect - 4)} to ${hex(p)}`);
    }
    const block = readBlock(p, span, "walkHeap", info, request, serial);
    expect = p + block.size;
    out.push(block);
  }
  out.sort((a, b) => a.address - b.address);
  return out;
}

/**
 * The blocks whose payload address lies in [from, to), in address order, from a
 * walk of the one span that holds `from` (empty when no span does).
 * O(spans · log spans + blocks of that span up to `to`).
 *
 * @throws as {@link walkHeap}.
 */
export function blocksIn(exports: unknown, from: number, to: number): BlockRecord[] {
  const [walk, info, request, serial] = functions(exports, "blocksIn", WALK_CALLS) as [Fn, Fn, Fn, Fn];
  const spanList = spans(exports);
  const i = spanIndex(spanList, from);
  if (i < 0) return [];
  const span = spanList[i]!;
  const out: BlockRecord[] = [];
  for (let p = span.start + SPAN_HEAD + 4; p < to && p < span.end - SPAN_TAIL;) {
    const block = readBlock(p, span, "blocksIn", info, request, serial);
    if (p >= from) out.push(block);
    const next = walk(p) >>> 0;
    if (next === 0 || next < span.start || next >= span.end) break; // the walk left the span
    if (next !== p + block.size) throw corrupted("blocksIn", `the walk goes from the block ending at ${hex(p + block.size - 4)} to ${hex(next)}`);
    p = next;
  }
  return out;
}

/**
 * Names `ralloc_layout`'s 8 words (a `Uint32Array`, an array, or a layout
 * already named, which is checked and copied); 0xFFFFFFFF as the memory end
 * becomes 4294967296. O(1).
 *
 * @throws RallocError `E_BAD_OPTION` for anything else, or words that are not u32.
 */
export function decodeLayout(words: unknown, who = "decodeLayout"): HeapLayout {
  const names = ["version", "shimBase", "shimEnd", "root", "rootSize", "brk", "memoryEnd", "guardBytes"] as const;
  let values: number[];
  if (typeof words === "object" && words !== null && typeof (words as ArrayLike<number>).length === "number") {
    const a = words as ArrayLike<unknown>;
    if (a.length < 8) throw new RallocError("E_BAD_OPTION", `${who}: layout must have ralloc_layout's 8 words, got ${a.length}`);
    values = Array.from({ length: 8 }, (_, i) => a[i] as number);
  } else if (typeof words === "object" && words !== null && names.every((n) => n in words)) {
    values = names.map((n) => (words as Record<string, unknown>)[n] as number);
  } else {
    throw new RallocError("E_BAD_OPTION", `${who}: layout must be ralloc_layout's 8 words (heap.layout()), got ${describe(words)}`);
  }
  values.forEach((v, i) => {
    const max = i === 6 ? 2 ** 32 : 0xffffffff;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
      throw new RallocError("E_BAD_OPTION", `${who}: layout word ${i} (${names[i]}) must be a u32, got ${describe(v)}`);
    }
  });
  const layout = Object.fromEntries(names.map((n, i) => [n, values[i]!])) as unknown as HeapLayout;
  if (layout.memoryEnd === 0xffffffff) layout.memoryEnd = 2 ** 32;
  return layout;
}
