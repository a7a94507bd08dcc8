/**
 * Walking a ralloc-wasm heap from the host: its blocks (`ralloc_walk`,
 * `ralloc_block_info`, `ralloc_block_request`, `ralloc_block_serial`) and its
 * spans (`ralloc_span_next`, `ralloc_span_end`). Every function takes only an
 * allocator's exports object, so it works for any instance (a `Heap`'s
 * `exports`, or the allocator a program imports).
 *
 * The release build serves small requests from size-class pages (assembly/page.ts):
 * a page is a block of the general heap (ralloc's own) holding headerless objects,
 * and a page table (also ralloc's own) maps memory to pages. The walk gives a
 * page's record, then a record for each of its object slots (live or free), then
 * the block after the page: the blocks (kind `block`, `page`, `table`) tile each
 * span, and a page's objects tile a stretch inside the page.
 *
 * @module
 */

import { INFO, LAYOUT } from "./abi.js";
import { describe, isIntIn } from "./checks.js";
import { RallocError } from "./errors.js";
import { hex8 } from "./messages.js";

/**
 * What a block is: `used` (in use), `free` (in the general free lists, or a
 * free object slot of a page) or `cached` (in a quick list: free for the
 * program). A page and the page table are in use by ralloc itself: their
 * `kind` says so, and {@link isLive} tells the program's live blocks.
 */
export type BlockState = "used" | "free" | "cached";

/**
 * What a record is: `block` (a block of the general heap, with a header),
 * `object` (a headerless object of a size-class page, release), `page` (a page
 * of objects: a general block that is ralloc's own; its objects follow it in the
 * walk) or `table` (the page table: a general block that is ralloc's own).
 */
export type BlockKind = "block" | "object" | "page" | "table";

/** One block of the global heap, as the walk sees it. */
export interface BlockRecord {
  /**
   * The payload address (a multiple of 16): for a block, page or table its
   * 4-byte header lies just below it; an object has no header and starts here.
   */
  address: number;
  /**
   * Bytes of the record (a multiple of 16). A block, page or table covers
   * [address - 4, address - 4 + size), header included (a page's size covers its
   * objects); an object covers [address, address + size).
   */
  size: number;
  /** In use, free or cached (a page and the table: in use, by ralloc). */
  state: BlockState;
  /** A general block, an object of a page, a page, or the page table. */
  kind: BlockKind;
  /** Bytes the program asked for (guarded builds), or the usable payload (release, small; an object's size); 0 unless in use. */
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

/** Block flags of `ralloc_block_info` ({@link INFO}). */
export const BLOCK_FREE = INFO.FREE;
export const BLOCK_CACHED = INFO.CACHED;
export const BLOCK_LEAD_DEAD = INFO.LEAD_DEAD;
/**
 * `ralloc_block_info`'s low 4 bits for the release build's page kinds (bit 1
 * marks them): an object in use (2; with BLOCK_FREE, 3: a free object slot), a
 * page (6) and the page table (10).
 */
export const BLOCK_OBJECT = INFO.OBJECT;
export const BLOCK_PAGE = INFO.PAGE;
export const BLOCK_TABLE = INFO.TABLE;

/** Bytes of a span's head before its first block's header. */
export const SPAN_HEAD = 12;
/** Bytes of a span's tail. */
export const SPAN_TAIL = 4;

type Fn = (...args: number[]) => number;

/**
 * Whether a walked block is live for the program: in use, and a general block
 * or an object of a page (a page and the page table are ralloc's own). A record
 * without a kind is a general block. O(1).
 */
export function isLive(b: Pick<BlockRecord, "state"> & { kind?: BlockKind | undefined }): boolean {
  return b.state === "used" && (b.kind === undefined || b.kind === "block" || b.kind === "object");
}

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
    if (seen.has(s)) throw corrupted("spans", `the span list loops at ${hex8(s)}`);
    seen.add(s);
    const e = end(s) >>> 0;
    if (s % 16 !== 0 || e % 16 !== 0 || e < s + SPAN_HEAD + 16 + SPAN_TAIL) {
      throw corrupted("spans", `span ${hex8(s)} ends at ${hex8(e)}`);
    }
    out.push({ start: s, end: e });
  }
  out.sort((a, b) => a.start - b.start);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.start < out[i - 1]!.end) {
      throw corrupted("spans", `span ${hex8(out[i]!.start)} overlaps span ${hex8(out[i - 1]!.start)}`);
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

/** The record of block p (`ralloc_block_info` and friends); its bounds are the caller's to check. O(1). */
function readBlock(p: number, who: string, info: Fn, request: Fn, serial: Fn): BlockRecord {
  const word = info(p) >>> 0;
  const size = word & ~15;
  const low = word & 15;
  let kind: BlockKind = "block";
  let state: BlockState;
  if (low & BLOCK_OBJECT) {
    // The release build's page kinds.
    if ((low & ~BLOCK_FREE) === BLOCK_OBJECT) {
      kind = "object";
      state = low & BLOCK_FREE ? "free" : "used";
    } else if (low === BLOCK_PAGE || low === BLOCK_TABLE) {
      kind = low === BLOCK_PAGE ? "page" : "table";
      state = "used"; // by ralloc itself
    } else {
      throw corrupted(who, `block ${hex8(p)} has kind bits ${low} that no build uses`);
    }
  } else {
    state = word & BLOCK_FREE ? "free" : word & BLOCK_CACHED ? "cached" : "used";
  }
  const used = state === "used" && (kind === "block" || kind === "object");
  return {
    address: p,
    size,
    state,
    kind,
    request: used ? request(p) >>> 0 : 0,
    serial: used && kind === "block" ? serial(p) >>> 0 : 0,
    leadDead: kind === "block" && (word & BLOCK_LEAD_DEAD) !== 0,
  };
}

/**
 * Checks a walk of one span step by step: the blocks (pages and the table
 * included) tile the span from its first block; after a page come its objects,
 * all of one size, one after the other, inside the page; after them the block
 * after the page.
 */
class SpanCursor {
  /** Where the next block's payload must be. */
  #next: number;
  /** The page whose objects are being walked, or undefined. */
  #page: BlockRecord | undefined;
  /** Where the page's next object must start (0: none walked yet). */
  #objectNext = 0;
  /** Size of the page's objects (0: none walked yet). */
  #objectSize = 0;

  constructor(readonly span: SpanRecord, readonly who: string) {
    this.#next = span.start + SPAN_HEAD + 4;
  }

  /** Checks that b, read at b.address, comes next in the walk; throws a corrupted-heap error when it does not. O(1). */
  accept(b: BlockRecord): void {
    const { span, who } = this;
    const p = b.address;
    if (b.size < 16) throw corrupted(who, `block ${hex8(p)} claims ${b.size} bytes in span ${hex8(span.start)}-${hex8(span.end)}`);
    const page = this.#page;
    if (b.kind === "object") {
      if (page === undefined) throw corrupted(who, `object ${hex8(p)} follows the block ending at ${hex8(this.#next - 4)}, not a page`);
      const pageEnd = page.address - 4 + page.size;
      if (this.#objectNext === 0 ? p <= page.address || p % 16 !== 0 : p !== this.#objectNext) {
        throw corrupted(who, this.#objectNext === 0
          ? `the first object of page ${hex8(page.address)} is at ${hex8(p)}`
          : `the walk goes from the object ending at ${hex8(this.#objectNext)} to ${hex8(p)} in page ${hex8(page.address)}`);
      }
      if ((this.#objectSize !== 0 && b.size !== this.#objectSize) || p + b.size > pageEnd) {
        throw corrupted(who, `object ${hex8(p)} claims ${b.size} bytes in page ${hex8(page.address)}-${hex8(pageEnd)}`);
      }
      this.#objectNext = p + b.size;
      this.#objectSize = b.size;
      return;
    }
    this.leave();
    if (p !== this.#next) throw corrupted(who, `the walk goes from the block ending at ${hex8(this.#next - 4)} to ${hex8(p)}`);
    if (p - 4 + b.size > span.end - SPAN_TAIL) {
      throw corrupted(who, `block ${hex8(p)} claims ${b.size} bytes in span ${hex8(span.start)}-${hex8(span.end)}`);
    }
    this.#next = p + b.size;
    if (b.kind === "page") this.#page = b;
  }

  /** Ends the walk of this span (or of a page in it): a page walked must have had objects. O(1). */
  leave(): void {
    const page = this.#page;
    if (page !== undefined && this.#objectNext === 0) {
      throw corrupted(this.who, `the walk leaves page ${hex8(page.address)} before its first object`);
    }
    this.#page = undefined;
    this.#objectNext = 0;
    this.#objectSize = 0;
  }
}

const WALK_CALLS = ["ralloc_walk", "ralloc_block_info", "ralloc_block_request", "ralloc_block_serial"] as const;

/**
 * Every block of the global heap, in address order: its payload address, size,
 * state, kind, request, serial and LEAD_DEAD mark (`ralloc_walk` and the
 * `ralloc_block_*` calls). In the release build a page's record comes before
 * the records of its objects (every slot, live or free), which lie inside it.
 * Safe from inside an allocator event. Checks each step against the spans, so a
 * corrupted heap raises an error instead of looping.
 * O(blocks + spans · log spans).
 *
 * @throws RallocError `E_UNSUPPORTED` when the exports lack the walk calls,
 * `E_MISUSE` when a block lies outside every span, is malformed, the walk
 * goes backwards within a span, or objects do not tile a stretch of their page.
 */
export function walkHeap(exports: unknown): BlockRecord[] {
  const [walk, info, request, serial] = functions(exports, "walkHeap", WALK_CALLS) as [Fn, Fn, Fn, Fn];
  const spanList = spans(exports);
  const out: BlockRecord[] = [];
  // Within a span the walk must move up, ending each block where the next begins (a page's
  // objects in between); it may jump to another span's first block, once per span.
  const entered = new Set<number>();
  let cursor: SpanCursor | undefined;
  for (let p = walk(0) >>> 0; p !== 0; p = walk(p) >>> 0) {
    if (cursor === undefined || p < cursor.span.start || p >= cursor.span.end) {
      cursor?.leave();
      const i = spanIndex(spanList, p);
      if (i < 0 || p % 16 !== 0) throw corrupted("walkHeap", `block ${hex8(p)} lies outside every span`);
      const span = spanList[i]!;
      if (entered.has(i) || p !== span.start + SPAN_HEAD + 4) {
        throw corrupted("walkHeap", `the walk enters span ${hex8(span.start)} at ${hex8(p)}, not at its first block`);
      }
      entered.add(i);
      cursor = new SpanCursor(span, "walkHeap");
    }
    const block = readBlock(p, "walkHeap", info, request, serial);
    cursor.accept(block);
    out.push(block);
  }
  cursor?.leave();
  out.sort((a, b) => a.address - b.address);
  return out;
}

/**
 * The blocks whose payload address lies in [from, to), in address order, from a
 * walk of the one span that holds `from` (empty when no span does). Objects of
 * a page are included when their address is in the range (their page only when
 * its own address is). O(spans · log spans + blocks of that span up to `to`).
 *
 * @throws as {@link walkHeap}.
 */
export function blocksIn(exports: unknown, from: number, to: number): BlockRecord[] {
  const [walk, info, request, serial] = functions(exports, "blocksIn", WALK_CALLS) as [Fn, Fn, Fn, Fn];
  const spanList = spans(exports);
  const i = spanIndex(spanList, from);
  if (i < 0) return [];
  const span = spanList[i]!;
  const cursor = new SpanCursor(span, "blocksIn");
  const out: BlockRecord[] = [];
  for (let p = span.start + SPAN_HEAD + 4; p < to;) {
    const block = readBlock(p, "blocksIn", info, request, serial);
    cursor.accept(block);
    if (p >= from) out.push(block);
    const next = walk(p) >>> 0;
    if (next === 0 || next < span.start || next >= span.end) break; // the walk left the span
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
  const names = Object.keys(LAYOUT.OFFSET) as (keyof typeof LAYOUT.OFFSET)[]; // in offset order
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
    const max = names[i] === "memoryEnd" ? 2 ** 32 : 0xffffffff;
    if (!isIntIn(v, 0, max)) {
      throw new RallocError("E_BAD_OPTION", `${who}: layout word ${i} (${names[i]}) must be a u32, got ${describe(v)}`);
    }
  });
  const layout = Object.fromEntries(names.map((n, i) => [n, values[i]!])) as unknown as HeapLayout;
  if (layout.memoryEnd === 0xffffffff) layout.memoryEnd = 2 ** 32;
  return layout;
}
