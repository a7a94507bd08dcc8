/**
 * The heap map: an SVG picture of a ralloc-wasm heap's address space, drawn
 * from a walk ({@link walkHeap}, {@link spans}) and `ralloc_layout`.
 *
 * Memory is drawn as rows of equal address ranges, low addresses at the top:
 * the program's data and stack below the shim base, ralloc's metadata (the shim
 * state, the heap root, span heads and tails, guard bytes of guarded blocks),
 * blocks in use, free and cached, sbrk regions and unclaimed memory above the
 * break. In the release build small requests live in size-class pages: a page
 * is drawn as ralloc metadata (its header and the bytes after its last object)
 * with its objects drawn inside it as blocks in use or as page slack (its empty
 * object slots, free for their size class only), and the page table as ralloc
 * metadata. A map drawn at a misuse marks the block concerned and prints the message. Long stretches below and above the heap are folded into one row each
 * (not to scale), and so, in a heap too big for its rows, are long stretches of
 * one piece (a big free block, an sbrk region); when a heap has more pieces than
 * can be drawn, tiny neighbours are merged (same kind first, then several kinds
 * side by side). Every shape has a hover title.
 *
 * @module
 */

import { checkOptionNames, describe, isIntIn, optionNames } from "./checks.js";
import { RallocError } from "./errors.js";
import { hex, hex8, plural } from "./messages.js";
import { decodeLayout, SPAN_HEAD, SPAN_TAIL, type BlockKind, type BlockRecord, type BlockState, type HeapLayout, type SpanRecord } from "./walk.js";

/**
 * What a stretch of memory is, on the map. `page` and `table` are ralloc
 * metadata of the release build: a size-class page's header and the bytes
 * after its last object (its objects are drawn as `used` and `slack`), and the
 * page table. `slack` is an empty object slot of a page: free, but for objects
 * of its page's size class only, so it is neither a free block nor fragmentation.
 */
export type MapKind = "program" | "metadata" | "page" | "table" | "used" | "cached" | "free" | "slack" | "sbrk" | "unclaimed" | "unknown";

/** Every kind, in legend order. */
export const MAP_KINDS: readonly MapKind[] = ["program", "metadata", "page", "table", "used", "cached", "free", "slack", "sbrk", "unclaimed", "unknown"];

/** Legend text of each kind. */
export const KIND_LABELS: Readonly<Record<MapKind, string>> = {
  program: "program data and stack (below the shim base)",
  metadata: "ralloc metadata (shim state, heap root, span heads and tails, guard bytes)",
  page: "ralloc metadata: pages of small objects (header and end; the objects are drawn as blocks in use or page slack)",
  table: "ralloc metadata: the page table",
  used: "blocks in use",
  cached: "cached blocks (quick lists: free for the program)",
  free: "free blocks",
  slack: "page slack: empty object slots of pages (free for their size class only)",
  sbrk: "sbrk regions (or memory grown by others)",
  unclaimed: "unclaimed memory (above the break)",
  unknown: "inside a span but not walked",
};

/** Fill colour of each kind. */
export const KIND_COLORS: Readonly<Record<MapKind, string>> = {
  program: "#bdbdbd",
  metadata: "#542788",
  page: "#8073ac",
  table: "#2d004b",
  used: "#d7301f",
  cached: "#74add1",
  free: "#a6d96a",
  slack: "#e0f3d8",
  sbrk: "#f2c14e",
  unclaimed: "#ffffff",
  unknown: "#000000",
};

/** A block as {@link drawHeapMap} takes it: a walk's record; without a kind, a general block. */
export type MapBlock = Omit<BlockRecord, "kind"> & { kind?: BlockKind };

/** What {@link drawHeapMap} draws: a layout, a walk and the spans, of one moment. */
export interface HeapMapInput {
  /** `ralloc_layout`'s 8 words (`heap.layout()`), or the same named ({@link HeapLayout}). */
  layout: ArrayLike<number> | HeapLayout;
  /** The blocks (`heap.walk()` or {@link walkHeap}), objects of pages after their page. */
  blocks: readonly MapBlock[];
  /** The spans ({@link spans}). */
  spans: readonly SpanRecord[];
  /** Heading of the picture (default "ralloc-wasm heap"). */
  title?: string;
  /**
   * The misuse the map is drawn at (an `E_MISUSE` error's `report.address` and
   * `message`): the block holding the address is marked (`data-misuse`), and the
   * message is printed under the heading.
   */
  misuse?: { address: number; message: string };
}

/** Options of {@link drawHeapMap}. */
export interface HeapMapOptions {
  /** Width of a row in pixels (default 800; 200 to 10000). */
  width?: number;
  /** Bytes per row: a power of two from 16 (default: the smallest from 256 that fits the heap in maxRows rows). */
  rowBytes?: number;
  /** Most rows for the heap itself (default 48; 1 to 10000): past it, stretches of one piece 4 rows long or more are folded into one row, and an automatic rowBytes grows until the heap fits. */
  maxRows?: number;
  /** Most shapes before tiny neighbours are merged (default 4000; 100 to 1000000). */
  maxShapes?: number;
  /** Heading; overrides input.title. */
  title?: string;
}

/** Every field of {@link HeapMapInput} and option of {@link HeapMapOptions}, to refuse a misspelled one. */
const MAP_INPUT = optionNames<HeapMapInput>({ layout: true, blocks: true, spans: true, title: true, misuse: true });
const MAP_OPTIONS = optionNames<HeapMapOptions>({ width: true, rowBytes: true, maxRows: true, maxShapes: true, title: true });

/** The figures a heap map prints, from the walk and the layout. */
export interface HeapFigures {
  /**
   * Blocks in use by the program (general blocks and objects of pages), their
   * bytes (headers included; an object's size) and the bytes asked for them.
   * Pages and the page table are not counted here (they are ralloc's).
   */
  usedBlocks: number;
  usedBytes: number;
  requestedBytes: number;
  /** Of the blocks in use, the objects of pages and their bytes. */
  usedObjects: number;
  usedObjectBytes: number;
  /** Free blocks of the general heap (its free lists), their bytes and the largest of them. */
  freeBlocks: number;
  freeBytes: number;
  largestFree: number;
  /** 1 - largestFree / freeBytes (0 with no free bytes): how scattered the free blocks are. */
  fragmentation: number;
  /**
   * Page slack (release): the empty object slots of pages and their bytes. Free, but only
   * for objects of their page's size class, so neither free blocks nor fragmentation.
   */
  slackSlots: number;
  slackBytes: number;
  /** Cached blocks (quick lists) and their bytes. */
  cachedBlocks: number;
  cachedBytes: number;
  /** Pages of small objects and the bytes of their blocks (objects included). */
  pages: number;
  pageBytes: number;
  /** Bytes of the page table's block (0 without one). */
  tableBytes: number;
  /** Spans of the heap. */
  spans: number;
  /** Bytes of each kind of memory on the map (guard bytes count as metadata, not as blocks; empty object slots as slack). */
  bytes: Record<MapKind, number>;
  /** Bytes of memory. */
  memoryBytes: number;
}

/** A stretch of the map: one block, one piece of metadata or background, or several merged. */
interface Piece {
  kind: MapKind;
  start: number;
  end: number;
  /** Hover text (blocks: made when drawn, from block and guard). */
  title?: string;
  /** The block drawn, when the piece is one block (or a page's header, or the table). */
  block?: BlockRecord;
  /** The page holding the object drawn. */
  page?: number;
  /** Start of a used guarded block's guard bytes (to its end). */
  guard?: number;
  /** Blocks (or pieces) of each kind inside a merged piece. */
  counts?: Partial<Record<MapKind, number>>;
  /** Bytes of each kind inside a merged piece. */
  kindBytes?: Partial<Record<MapKind, number>>;
  /** The misuse the map is drawn at concerns this block: it is marked, and never merged away. */
  misuse?: string;
}

const BLOCK_KINDS: readonly BlockState[] = ["used", "free", "cached"];
/** Kinds drawn for blocks and object slots: a merged piece holding any is named after them. */
const DRAWN_AS_BLOCKS = new Set<MapKind>(["used", "free", "cached", "slack"]);
const RECORD_KINDS: readonly BlockKind[] = ["block", "object", "page", "table"];
/** The colour of a misuse: the frame around the block concerned, and the message. */
const MISUSE_COLOR = "#e31a1c";
/** Kinds drawn dark enough to need white text. */
const DARK_KINDS = new Set<MapKind>(["metadata", "page", "table", "used", "unknown"]);
/** What a folded row of one kind is called. */
const FOLD_NOUN: Record<MapKind, string> = {
  program: "program data and stack",
  metadata: "inside ralloc metadata",
  page: "inside pages of small objects",
  table: "inside the page table",
  used: "inside a block in use",
  cached: "inside a cached block",
  free: "inside a free block",
  slack: "inside empty object slots",
  sbrk: "sbrk region",
  unclaimed: "unclaimed memory",
  unknown: "not walked",
};
const KIND_NOUN: Record<MapKind, string> = {
  program: "program data",
  metadata: "ralloc metadata",
  page: "page metadata",
  table: "page table",
  used: "in use",
  cached: "cached",
  free: "free",
  slack: "empty (page slack)",
  sbrk: "sbrk",
  unclaimed: "unclaimed",
  unknown: "not walked",
};

/** The E_BAD_OPTION error for a message about drawHeapMap's input. O(1). */
function bad(message: string): RallocError {
  return new RallocError("E_BAD_OPTION", `drawHeapMap: ${message}`);
}

/** Escapes text for XML content and attribute values. O(length). */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!)
    // Characters XML 1.0 forbids (C0 controls other than tab, newline, return; lone surrogates).
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Bytes for people: "900 bytes", "12.5 KiB", "3.0 MiB". O(1). */
function formatBytes(n: number): string {
  if (n < 1024) return plural(n, "byte");
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Checks an integer option; undefined gives the default. O(1). */
function intOption(options: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = options[name];
  if (v === undefined) return def;
  if (!isIntIn(v, min, max)) {
    throw bad(`option ${name} must be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

/** Checks a u32-valued field of an input record. O(1). */
function u32Field(record: Record<string, unknown>, name: string, where: string, optional = false): number {
  const v = record[name];
  if (v === undefined && optional) return 0;
  if (!isIntIn(v, 0, 0xffffffff)) {
    throw bad(`${where}.${name} must be an integer from 0 to 4294967295, got ${describe(v)}`);
  }
  return v;
}

/** Checks and copies the blocks, sorted by address. O(blocks log blocks). */
function checkBlocks(value: unknown): BlockRecord[] {
  if (!Array.isArray(value)) throw bad(`input.blocks must be an array of blocks (heap.walk()), got ${describe(value)}`);
  const out = value.map((b: unknown, i): BlockRecord => {
    const where = `input.blocks[${i}]`;
    if (typeof b !== "object" || b === null) throw bad(`${where} must be a block record, got ${describe(b)}`);
    const r = b as Record<string, unknown>;
    const address = u32Field(r, "address", where);
    const size = u32Field(r, "size", where);
    if (address % 16 !== 0 || address === 0) throw bad(`${where}.address must be a nonzero multiple of 16, got ${hex8(address)}`);
    if (size % 16 !== 0 || size < 16) throw bad(`${where}.size must be a multiple of 16 from 16, got ${size}`);
    const kind = r["kind"] ?? "block";
    if (!RECORD_KINDS.includes(kind as BlockKind)) {
      throw bad(`${where}.kind must be "block", "object", "page" or "table", got ${describe(kind)}`);
    }
    if (!BLOCK_KINDS.includes(r["state"] as BlockState)) {
      throw bad(`${where}.state must be "used", "free" or "cached", got ${describe(r["state"])}`);
    }
    if (kind === "object" && r["state"] === "cached") throw bad(`${where}.state must be "used" or "free" for an object, got "cached"`);
    if ((kind === "page" || kind === "table") && r["state"] !== "used") throw bad(`${where}.state must be "used" for a ${kind}, got ${describe(r["state"])}`);
    return {
      address, size, state: r["state"] as BlockState, kind: kind as BlockKind,
      request: u32Field(r, "request", where, true),
      serial: u32Field(r, "serial", where, true),
      leadDead: r["leadDead"] === true,
    };
  });
  return out.sort((a, b) => a.address - b.address);
}

/** Checks and copies the spans, sorted by start. O(spans log spans). */
function checkSpans(value: unknown): SpanRecord[] {
  if (!Array.isArray(value)) throw bad(`input.spans must be an array of spans ({ start, end }), got ${describe(value)}`);
  const out = value.map((s: unknown, i): SpanRecord => {
    const where = `input.spans[${i}]`;
    if (typeof s !== "object" || s === null) throw bad(`${where} must be a span record, got ${describe(s)}`);
    const start = u32Field(s as Record<string, unknown>, "start", where);
    const end = u32Field(s as Record<string, unknown>, "end", where);
    if (end < start + SPAN_HEAD + 16 + SPAN_TAIL) throw bad(`${where} [${hex8(start)}, ${hex8(end)}) is too short for a span`);
    return { start, end };
  });
  return out.sort((a, b) => a.start - b.start);
}

/** Where a block's bytes start: below its header, or at an object's address. O(1). */
function startOf(b: BlockRecord): number {
  return b.kind === "object" ? b.address : b.address - 4;
}

/** The hover text of a block. O(1). */
function blockTitle(b: BlockRecord, guard: number | undefined, page: number | undefined): string {
  const range = `[${hex8(startOf(b))}, ${hex8(startOf(b) + b.size)})`;
  let text: string;
  if (b.kind === "object") {
    const where = `${b.size}-byte object ${range} of page ${hex8(page ?? 0)}`;
    text = b.state === "used" ? `${hex8(b.address)}: in use, ${where}, ${b.request} bytes requested`
      : `${hex8(b.address)}: empty slot (page slack), ${where}`;
  } else if (b.kind === "table") {
    text = `${hex8(b.address)}: the page table (ralloc metadata), ${b.size}-byte block ${range}`;
  } else if (b.state === "used") {
    text = `${hex8(b.address)}: in use, ${b.size}-byte block ${range}, ${b.request} bytes requested`;
    if (b.serial !== 0) text += `, allocation #${b.serial}`;
    if (b.leadDead) text += ", first bytes freed by a partial free";
    if (guard !== undefined) text += `; guard bytes [${hex8(guard)}, ${hex8(b.address - 4 + b.size)})`;
  } else if (b.state === "free") {
    text = `${hex8(b.address)}: free, ${b.size}-byte block ${range}`;
  } else {
    text = `${hex8(b.address)}: cached in a quick list, ${b.size}-byte block ${range}`;
  }
  return text;
}

/**
 * Cuts the whole address space [0, memory end) into pieces in address order:
 * structures (shim state, root, span heads, blocks, span tails) and, between
 * them, background (program data, sbrk, unclaimed). O(blocks + spans).
 */
function buildPieces(layout: HeapLayout, blocks: BlockRecord[], spanList: SpanRecord[]): Piece[] {
  const memEnd = layout.memoryEnd;
  const structures: Piece[] = [];
  if (layout.shimBase !== 0 && layout.shimEnd > layout.shimBase) {
    structures.push({ kind: "metadata", start: layout.shimBase, end: layout.shimEnd, title: `shim state [${hex8(layout.shimBase)}, ${hex8(layout.shimEnd)})` });
  }
  if (layout.root !== 0 && layout.rootSize > 0) {
    structures.push({ kind: "metadata", start: layout.root, end: layout.root + layout.rootSize, title: `heap root [${hex8(layout.root)}, ${hex8(layout.root + layout.rootSize)}), ${layout.rootSize} bytes` });
  }
  let bi = 0;
  for (const s of spanList) {
    const spanName = `span [${hex8(s.start)}, ${hex8(s.end)})`;
    structures.push({ kind: "metadata", start: s.start, end: s.start + SPAN_HEAD, title: `head of ${spanName}` });
    let at = s.start + SPAN_HEAD;
    const stop = s.end - SPAN_TAIL;
    // The page being drawn: its header piece (ending at its first object), its end, where its
    // next object may start, and its objects in use and free.
    let page: { header: Piece; block: BlockRecord; end: number; at: number; used: number; free: number; size: number } | undefined;
    const closePage = () => {
      if (page === undefined) return;
      const { header, block, end, used, free, size } = page;
      const pg = block.address;
      const range = `[${hex8(pg - 4)}, ${hex8(end)})`;
      header.title = used + free === 0
        ? `${hex8(pg)}: page of small objects (ralloc metadata), ${block.size}-byte block ${range}; no objects walked`
        : `${hex8(pg)}: page of ${size}-byte objects (ralloc metadata), ${block.size}-byte block ${range}; header [${hex8(pg - 4)}, ${hex8(header.end)}); ${used} of ${used + free} objects in use`;
      if (used + free > 0 && page.at < end) {
        structures.push({ kind: "page", start: page.at, end, title: `end of page ${hex8(pg)} [${hex8(page.at)}, ${hex8(end)}), ${end - page.at} bytes after its last object` });
      }
      page = undefined;
    };
    for (; bi < blocks.length && startOf(blocks[bi]!) < s.end; bi++) {
      const b = blocks[bi]!;
      const start = startOf(b);
      const end = start + b.size;
      if (b.kind === "object") {
        const name = `object ${hex8(b.address)} (${b.size} bytes)`;
        if (page === undefined || b.address < page.block.address + 16) throw bad(`${name} lies outside every page`);
        if (end > page.end) throw bad(`${name} runs past the end of page ${hex8(page.block.address)}`);
        if (start < page.at) throw bad(`${name} overlaps the object before it`);
        if (page.used + page.free === 0) page.header.end = start;
        else if (start > page.at) structures.push({ kind: "unknown", start: page.at, end: start, title: `[${hex8(page.at)}, ${hex8(start)}) in page ${hex8(page.block.address)}: no object was walked here` });
        if (b.state === "used") page.used++;
        else page.free++;
        page.size = b.size;
        structures.push({ kind: b.state === "used" ? "used" : "slack", start, end, block: b, page: page.block.address });
        page.at = end;
        continue;
      }
      closePage();
      if (start < at) {
        throw bad(start < s.start + SPAN_HEAD
          ? `block ${hex8(b.address)} (${b.size} bytes) lies outside every span`
          : `block ${hex8(b.address)} (${b.size} bytes) overlaps the block before it`);
      }
      if (end > stop) throw bad(`block ${hex8(b.address)} (${b.size} bytes) runs past the end of ${spanName}`);
      if (start > at) structures.push({ kind: "unknown", start: at, end: start, title: `[${hex8(at)}, ${hex8(start)}) in ${spanName}: no block was walked here` });
      if (b.kind === "page") {
        // The header piece stands for the page (its address and size); its objects follow.
        const header: Piece = { kind: "page", start, end, block: b };
        structures.push(header);
        page = { header, block: b, end, at: start, used: 0, free: 0, size: 0 };
      } else if (b.kind === "table") {
        structures.push({ kind: "table", start, end, block: b });
      } else {
        let guard: number | undefined;
        if (b.state === "used" && layout.guardBytes > 0 && b.request + 4 < b.size) {
          guard = b.address + b.request;
        }
        structures.push({ kind: b.state, start, end, block: b, ...(guard !== undefined ? { guard } : {}) });
      }
      at = end;
    }
    closePage();
    if (at < stop) structures.push({ kind: "unknown", start: at, end: stop, title: `[${hex8(at)}, ${hex8(stop)}) in ${spanName}: no block was walked here` });
    structures.push({ kind: "metadata", start: stop, end: s.end, title: `tail of ${spanName}` });
  }
  if (bi < blocks.length) {
    const b = blocks[bi]!;
    throw bad(`${b.kind === "object" ? "object" : "block"} ${hex8(b.address)} (${b.size} bytes) lies outside every span`);
  }
  structures.sort((a, b) => a.start - b.start || a.end - b.end);

  const pieces: Piece[] = [];
  const what = (p: Piece) => (p.block ? `${p.block.kind === "object" ? "object" : "block"} ${hex8(p.block.address)} (${p.block.size} bytes)` : p.title!.split(":")[0]!.replace(/\), .*/, ")"));
  const background = (from: number, to: number) => {
    // Split at the shim base and the break: program data below, sbrk between, unclaimed above.
    const cuts = [from, to];
    if (layout.shimBase > from && layout.shimBase < to) cuts.push(layout.shimBase);
    if (layout.brk > from && layout.brk < to) cuts.push(layout.brk);
    cuts.sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const a = cuts[i]!;
      const b = cuts[i + 1]!;
      if (b <= a) continue;
      const kind: MapKind = layout.shimBase !== 0 && a < layout.shimBase ? "program" : a < layout.brk ? "sbrk" : "unclaimed";
      const noun = kind === "program" ? "program data and stack" : kind === "sbrk" ? "sbrk region (or memory grown by others)" : "unclaimed memory";
      pieces.push({ kind, start: a, end: b, title: `${noun} [${hex8(a)}, ${hex8(b)}), ${formatBytes(b - a)}` });
    }
  };
  let at = 0;
  for (const p of structures) {
    if (p.start < at) {
      const prev = pieces[pieces.length - 1]!;
      throw bad(`${what(p)} overlaps ${what(prev)}`);
    }
    if (p.end > memEnd) throw bad(`${what(p)} ends beyond the end of memory (${hex8(memEnd)})`);
    if (p.start > at) background(at, p.start);
    pieces.push(p);
    at = p.end;
  }
  if (at < memEnd) background(at, memEnd);
  return pieces;
}

/** The figures of a heap from its pieces. O(pieces). */
function figuresOf(pieces: readonly Piece[], spanCount: number, memEnd: number): HeapFigures {
  const bytes = Object.fromEntries(MAP_KINDS.map((k) => [k, 0])) as Record<MapKind, number>;
  const f: HeapFigures = {
    usedBlocks: 0, usedBytes: 0, requestedBytes: 0, usedObjects: 0, usedObjectBytes: 0,
    freeBlocks: 0, freeBytes: 0, largestFree: 0, fragmentation: 0, slackSlots: 0, slackBytes: 0,
    cachedBlocks: 0, cachedBytes: 0, pages: 0, pageBytes: 0, tableBytes: 0, spans: spanCount, bytes, memoryBytes: memEnd,
  };
  for (const p of pieces) {
    const b = p.block;
    if (b !== undefined) {
      const object = b.kind === "object";
      if (b.kind === "page") {
        f.pages++;
        f.pageBytes += b.size;
      } else if (b.kind === "table") {
        f.tableBytes += b.size;
      } else if (b.state === "used") {
        f.usedBlocks++;
        f.usedBytes += b.size;
        f.requestedBytes += b.request;
        if (object) {
          f.usedObjects++;
          f.usedObjectBytes += b.size;
        }
      } else if (b.state === "free" && object) {
        f.slackSlots++;
        f.slackBytes += b.size;
      } else if (b.state === "free") {
        f.freeBlocks++;
        f.freeBytes += b.size;
        f.largestFree = Math.max(f.largestFree, b.size);
      } else {
        f.cachedBlocks++;
        f.cachedBytes += b.size;
      }
    }
    const guard = p.guard === undefined ? 0 : p.end - p.guard;
    bytes[p.kind] += p.end - p.start - guard;
    bytes.metadata += guard;
  }
  f.fragmentation = f.freeBytes === 0 ? 0 : 1 - f.largestFree / f.freeBytes;
  return f;
}

/** Checks a heap map's input; returns the layout, blocks and spans. O(blocks log blocks). */
function checkInput(input: unknown): {
  layout: HeapLayout; blocks: BlockRecord[]; spans: SpanRecord[]; title: string | undefined; misuse: { address: number; message: string } | undefined;
} {
  if (typeof input !== "object" || input === null) throw bad(`input must be { layout, blocks, spans }, got ${describe(input)}`);
  checkOptionNames(input, MAP_INPUT, "drawHeapMap: input");
  const i = input as Record<string, unknown>;
  const layout = decodeLayout(i["layout"], "drawHeapMap: input.layout");
  if (layout.memoryEnd === 0) throw bad("input.layout says memory is empty (word 6 is 0)");
  const title = i["title"];
  if (title !== undefined && typeof title !== "string") throw bad(`input.title must be a string, got ${describe(title)}`);
  return { layout, blocks: checkBlocks(i["blocks"]), spans: checkSpans(i["spans"]), title, misuse: checkMisuse(i["misuse"]) };
}

/** Checks input.misuse: { address, message }, or undefined. O(1). */
function checkMisuse(value: unknown): { address: number; message: string } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) throw bad(`input.misuse must be { address, message } (an E_MISUSE error's report.address and message), got ${describe(value)}`);
  const m = value as Record<string, unknown>;
  checkOptionNames(m, ["address", "message"], "drawHeapMap: input.misuse");
  const address = u32Field(m, "address", "input.misuse");
  if (typeof m["message"] !== "string") throw bad(`input.misuse.message must be a string, got ${describe(m["message"])}`);
  return { address, message: m["message"] };
}

/**
 * Marks the block (or object) holding `address` with the misuse message; returns whether one
 * does (an address outside every block, such as a pointer into static data, marks none). O(pieces).
 */
function markMisuse(pieces: Piece[], misuse: { address: number; message: string }): boolean {
  const at = pieces.find((p) => p.block !== undefined && p.start <= misuse.address && misuse.address < p.end);
  if (at !== undefined) at.misuse = misuse.message;
  return at !== undefined;
}

/**
 * The figures a heap map prints (block counts and bytes, free bytes, largest
 * free block, fragmentation = 1 - largest / free, page slack, bytes of each
 * kind), from the same input as {@link drawHeapMap}. Objects of pages in use
 * count as blocks in use; a free object slot is page slack, free for its size
 * class only, so it is neither a free block nor fragmentation; pages and the
 * page table count apart, as ralloc's. O(blocks log blocks + spans).
 *
 * @throws RallocError `E_BAD_OPTION` for malformed input (as drawHeapMap).
 */
export function heapFigures(input: HeapMapInput): HeapFigures {
  const { layout, blocks, spans } = checkInput(input);
  return figuresOf(buildPieces(layout, blocks, spans), spans.length, layout.memoryEnd);
}

/** Adds piece p's blocks and bytes to a merged piece's tallies. O(kinds). */
function tally(into: Piece, p: Piece): void {
  const counts = (into.counts ??= {});
  const kb = (into.kindBytes ??= {});
  if (p.counts) {
    for (const [k, n] of Object.entries(p.counts) as [MapKind, number][]) counts[k] = (counts[k] ?? 0) + n;
    for (const [k, n] of Object.entries(p.kindBytes!) as [MapKind, number][]) kb[k] = (kb[k] ?? 0) + n;
  } else {
    counts[p.kind] = (counts[p.kind] ?? 0) + 1;
    const guard = p.guard === undefined ? 0 : p.end - p.guard;
    kb[p.kind] = (kb[p.kind] ?? 0) + p.end - p.start - guard;
    if (guard > 0) kb.metadata = (kb.metadata ?? 0) + guard;
  }
}

/** The hover text of a merged piece. O(kinds). */
function mergedTitle(p: Piece): string {
  const parts = MAP_KINDS.filter((k) => p.counts![k]).map((k) => {
    const n = p.counts![k]!;
    const noun = k === "slack" ? plural(n, "empty slot") : DRAWN_AS_BLOCKS.has(k) ? plural(n, "block") : plural(n, "piece");
    return `${noun} ${KIND_NOUN[k]} (${p.kindBytes![k]} bytes)`;
  });
  return `[${hex8(p.start)}, ${hex8(p.end)}), ${formatBytes(p.end - p.start)}, merged: ${parts.join(", ")}`;
}

/** Closes a merged piece: its kind is the one with the most bytes. O(kinds). */
function finishMerged(p: Piece): Piece {
  if (!p.counts) return p;
  // Guard bytes are metadata but belong to blocks: a piece holding blocks is named after them.
  const holdsBlocks = [...DRAWN_AS_BLOCKS].some((k) => p.counts![k]);
  let best: MapKind | undefined;
  for (const k of MAP_KINDS) {
    if (holdsBlocks && !DRAWN_AS_BLOCKS.has(k)) continue;
    if (best === undefined || (p.kindBytes![k] ?? 0) > (p.kindBytes![best] ?? 0)) best = k;
  }
  best ??= p.kind;
  p.kind = best;
  p.title = mergedTitle(p);
  return p;
}

/**
 * Merges tiny pieces until at most about maxShapes remain: first runs of tiny
 * neighbours of one kind, then tiny pieces of any kind into stretches of at
 * least minBytes, each kind's share drawn side by side (the group's kind is the one
 * holding most bytes). O(pieces).
 */
function mergePieces(pieces: Piece[], tinyBytes: number, maxShapes: number, total: number): { pieces: Piece[]; merged: boolean } {
  if (pieces.length <= maxShapes) return { pieces, merged: false };
  const single = (p: Piece): Piece => ({ kind: p.kind, start: p.start, end: p.start, title: "" });
  const out: Piece[] = [];
  let run: Piece[] = [];
  const flushRun = () => {
    if (run.length === 1) out.push(run[0]!);
    if (run.length > 1) {
      const m = single(run[0]!);
      for (const q of run) tally(m, q);
      m.end = run[run.length - 1]!.end;
      out.push(m);
    }
    run = [];
  };
  for (const p of pieces) {
    const tiny = p.end - p.start < tinyBytes && p.misuse === undefined;
    if (tiny && run.length > 0 && p.kind === run[0]!.kind && p.start === run[run.length - 1]!.end) {
      run.push(p);
      continue;
    }
    flushRun();
    if (tiny) run.push(p);
    else out.push(p);
  }
  flushRun();
  if (out.length <= maxShapes) return { pieces: out.map(finishMerged), merged: true };

  const minBytes = Math.ceil((2 * total) / maxShapes);
  const bucketed: Piece[] = [];
  let bucket: Piece | undefined;
  const flush = () => {
    if (bucket) bucketed.push(finishMerged(bucket));
    bucket = undefined;
  };
  for (const p of out) {
    if (p.end - p.start >= minBytes || p.misuse !== undefined) {
      flush();
      bucketed.push(finishMerged(p));
      continue;
    }
    if (bucket && bucket.end !== p.start) flush();
    if (!bucket) bucket = single(p);
    tally(bucket, p);
    bucket.end = p.end;
    if (bucket.end - bucket.start >= minBytes) flush();
  }
  flush();
  return { pieces: bucketed, merged: true };
}

/** A stretch of one piece this many whole rows long, or longer, is folded into one row. */
const FOLD_ROWS = 4;
/** Most rows the heap may be cut into before folding (a guard against a tiny rowBytes on a big heap). */
const MAX_LINEAR_ROWS = 1 << 20;

/** Where the rows go for one row size: the stretch drawn row by row and the rows it takes. */
interface RowPlan {
  /** [loD, hiD): drawn in rows of rowBytes (below folded into one row, above too). */
  loD: number;
  hiD: number;
  /** Rows of [loD, hiD) before folding. */
  linearRows: number;
  /** Rows of [loD, hiD) after folding long pieces. */
  heapRows: number;
  /** Runs of whole rows [first, end) inside one piece, each folded into one row. */
  folds: [number, number][];
  memEnd: number;
}

/**
 * Plans the rows for row size rb: the heap proper [lo, hi) widened to whole rows (and to
 * the ends of memory when little is left), and, when `fold` is set, the runs of at least
 * FOLD_ROWS whole rows inside one piece. O(pieces).
 */
function planRows(pieces: readonly Piece[], lo: number, hi: number, memEnd: number, rb: number, fold: boolean): RowPlan {
  let loD = Math.floor(lo / rb) * rb;
  let hiD = Math.min(memEnd, Math.ceil(hi / rb) * rb);
  if (hi <= lo) { loD = 0; hiD = 0; }
  if (loD <= 2 * rb) loD = 0;
  if (memEnd - hiD <= 2 * rb && hiD > loD) hiD = memEnd;
  if (hiD <= loD && memEnd <= 4 * rb) { loD = 0; hiD = memEnd; }
  const linearRows = Math.max(0, Math.ceil((hiD - loD) / rb));
  const folds: [number, number][] = [];
  let heapRows = linearRows;
  for (const p of fold ? pieces : []) {
    if (p.end - p.start < FOLD_ROWS * rb || p.end <= loD || p.start >= hiD) continue;
    const first = Math.ceil((Math.max(p.start, loD) - loD) / rb);
    const end = Math.floor((Math.min(p.end, hiD) - loD) / rb);
    if (end - first >= FOLD_ROWS) {
      folds.push([first, end]);
      heapRows -= end - first - 1;
    }
  }
  return { loD, hiD, linearRows, heapRows, folds, memEnd };
}

/** A row of the picture: [start, end), drawn to scale or folded (a stretch of any length in one row). */
interface MapRow {
  start: number;
  end: number;
  folded: boolean;
}

/** The rows to draw for a plan, and for each linear row its display row (-1 when folded). O(rows). */
function layRows(plan: RowPlan, rb: number): { rows: MapRow[]; display: Int32Array } {
  const { loD, hiD, memEnd } = plan;
  const rows: MapRow[] = [];
  const display = new Int32Array(plan.linearRows);
  if (loD > 0) rows.push({ start: 0, end: loD, folded: true });
  let f = 0;
  for (let r = 0; r < plan.linearRows;) {
    const fold = plan.folds[f];
    if (fold !== undefined && fold[0] === r) {
      rows.push({ start: loD + r * rb, end: Math.min(loD + fold[1] * rb, hiD), folded: true });
      display.fill(-1, r, fold[1]);
      r = fold[1];
      f++;
      continue;
    }
    display[r] = rows.length;
    rows.push({ start: loD + r * rb, end: Math.min(loD + (r + 1) * rb, hiD), folded: false });
    r++;
  }
  if (hiD < memEnd) rows.push({ start: Math.max(hiD, loD), end: memEnd, folded: true });
  return { rows, display };
}

/** A number for an SVG attribute: at most 2 decimals. O(1). */
function n2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** drawHeapMap's options, checked (rowBytes 0: chosen to fit maxRows). */
interface MapOptions {
  plotW: number;
  maxRows: number;
  maxShapes: number;
  rowBytes: number;
  title: string | undefined;
}

/** Checks drawHeapMap's options and fills in the defaults. O(1). */
function checkOptions(options: unknown): MapOptions {
  if (typeof options !== "object" || options === null) throw bad(`options must be an object, got ${describe(options)}`);
  checkOptionNames(options, MAP_OPTIONS, "drawHeapMap");
  const o = options as Record<string, unknown>;
  const plotW = intOption(o, "width", 800, 200, 10000);
  const maxRows = intOption(o, "maxRows", 48, 1, 10000);
  const maxShapes = intOption(o, "maxShapes", 4000, 100, 1000000);
  const rowBytes = intOption(o, "rowBytes", 0, 16, 2 ** 31);
  if (o["rowBytes"] !== undefined && (rowBytes & (rowBytes - 1)) !== 0) throw bad(`option rowBytes must be a power of two, got ${rowBytes}`);
  if (o["title"] !== undefined && typeof o["title"] !== "string") throw bad(`option title must be a string, got ${describe(o["title"])}`);
  return { plotW, maxRows, maxShapes, rowBytes, title: o["title"] as string | undefined };
}

/**
 * The heap proper [lo, hi): from the lowest structure (the shim base, or a donated
 * span below it) to the break or the highest span end. Program data below and
 * unclaimed memory above it are folded. O(pieces).
 */
function heapExtent(pieces: readonly Piece[], layout: HeapLayout): { lo: number; hi: number } {
  const structural = pieces.filter((p) => p.kind !== "program" && p.kind !== "unclaimed");
  let lo = structural.length ? structural[0]!.start : 0;
  let hi = structural.length ? structural[structural.length - 1]!.end : 0;
  if (layout.shimBase !== 0) lo = Math.min(lo, layout.shimBase);
  hi = Math.min(layout.memoryEnd, Math.max(hi, layout.brk));
  return { lo, hi };
}

/**
 * Chooses the row size (`rowBytes`, or from 256 up when it is 0) and plans the rows
 * of the heap proper [lo, hi): when it takes more than maxRows rows, long stretches
 * of one piece are folded, and an automatic row size doubles until the heap fits.
 * O(pieces · log rowBytes).
 */
function chooseRows(pieces: readonly Piece[], lo: number, hi: number, memEnd: number, rowBytes: number, maxRows: number): { rowBytes: number; plan: RowPlan } {
  const plan = (rb: number, fold: boolean): RowPlan => planRows(pieces, lo, hi, memEnd, rb, fold);
  let rowPlan: RowPlan;
  if (rowBytes === 0) {
    rowBytes = 256;
    rowPlan = plan(rowBytes, false);
    if (rowPlan.linearRows > maxRows) {
      while (rowBytes < 2 ** 31 && plan(rowBytes, true).heapRows > maxRows) rowBytes *= 2;
      rowPlan = plan(rowBytes, true);
    }
  } else {
    rowPlan = plan(rowBytes, false);
    if (rowPlan.linearRows > maxRows) rowPlan = plan(rowBytes, true);
  }
  if (rowPlan.linearRows > MAX_LINEAR_ROWS) {
    throw bad(`option rowBytes ${rowBytes} cuts the heap into ${rowPlan.linearRows} rows; use a larger rowBytes (at most ${MAX_LINEAR_ROWS} rows)`);
  }
  return { rowBytes, plan: rowPlan };
}

/** Where the picture puts things: the axis, the plot, the rows, the legend and the figures (pixels). */
interface Frame {
  /** Width of the address axis left of the plot. */
  axisW: number;
  /** Width of the plot (a row). */
  plotW: number;
  width: number;
  height: number;
  /** Height of a row. */
  rowH: number;
  /** Gap between rows. */
  rowGap: number;
  /** Top of the first row. */
  top: number;
  /** Top of the legend and of the figures. */
  legendTop: number;
  figuresTop: number;
}

/**
 * Lays out a picture of `rowCount` rows, `kindCount` legend lines and `figureCount` figure
 * lines; `misuse` leaves a line under the heading for the message. O(1).
 */
function frameOf(plotW: number, rowCount: number, kindCount: number, figureCount: number, misuse: boolean): Frame {
  const axisW = 100;
  const width = axisW + plotW + 20;
  const f = { axisW, plotW, width, height: 0, rowH: 14, rowGap: 4, top: misuse ? 96 : 80, legendTop: 0, figuresTop: 0 };
  f.legendTop = rowY(f, rowCount) + 16;
  f.figuresTop = f.legendTop + kindCount * 18 + 14;
  f.height = f.figuresTop + figureCount * 16 + 10;
  return f;
}

/** The y of display row i. O(1). */
function rowY(f: Pick<Frame, "top" | "rowH" | "rowGap">, i: number): number {
  return f.top + i * (f.rowH + f.rowGap);
}

/** The two lines under the heading: memory, shim base, break and guard bytes; then the scale, folds and merging. O(rows). */
function noteLines(layout: HeapLayout, rowBytes: number, rows: readonly MapRow[], merged: { pieces: number; shapes: number } | undefined): [string, string] {
  const notes = [`memory ${formatBytes(layout.memoryEnd)}`, `shim base ${hex8(layout.shimBase)}`, `break ${hex8(layout.brk)}`];
  if (layout.guardBytes > 0) notes.push(`guarded blocks (${layout.guardBytes} guard bytes each)`);
  const scaleNotes = [`1 row = ${rowBytes} bytes`];
  if (rows.some((r) => r.folded)) scaleNotes.push("rows marked ≈ are folded (not to scale)");
  if (merged) scaleNotes.push(`${merged.pieces} pieces drawn as ${merged.shapes} shapes (tiny neighbours merged)`);
  return [notes.join(" · "), scaleNotes.join(" · ")];
}

/**
 * The document's opening: the svg element, its title and style, the heading, the two note
 * lines, the misuse message (in the map's misuse colour, when the map is drawn at one) and the
 * ruler. O(1).
 */
function drawHeading(f: Frame, title: string, notes: [string, string], rowBytes: number, misuse: string | undefined): string[] {
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<style>.ax{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:10px;fill:#444}.fold{stroke:#888;stroke-dasharray:4 3}g[data-kind]:hover rect{stroke:#000;stroke-width:1}</style>`);
  out.push(`<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#fff"/>`);
  // A long title shrinks to fit the width (bold sans-serif runs about 0.6 em per character).
  const titleSize = Math.max(8, Math.min(15, Math.floor((f.width - 20) / (0.6 * Math.max(1, title.length)))));
  out.push(`<text x="10" y="20" font-size="${titleSize}" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="10" y="38" fill="#444">${escapeXml(notes[0])}</text>`);
  out.push(`<text x="10" y="54" fill="#444">${escapeXml(notes[1])}</text>`);
  if (misuse !== undefined) out.push(`<text id="misuse" x="10" y="72" fill="${MISUSE_COLOR}" font-weight="bold">${escapeXml(misuse)}</text>`);
  // The ruler: offsets within a row.
  for (let q = 0; q <= 4; q++) {
    const x = f.axisW + (f.plotW * q) / 4;
    out.push(`<text class="ax" x="${n2(x)}" y="${f.top - 6}" text-anchor="${q === 0 ? "start" : q === 4 ? "end" : "middle"}">+${hex((rowBytes * q) / 4)}</text>`);
  }
  return out;
}

/** What a folded row's title says it holds: one block or piece by name, or the kind of all its pieces. O(1). */
function foldedRowText(inside: readonly Piece[], kinds: readonly MapKind[], r: MapRow): string {
  const only = inside.length === 1 ? inside[0]! : undefined;
  const noun = only?.block?.kind === "object" ? "object" : "block";
  const what = only?.block ? `inside ${only.kind === "page" ? "page" : only.kind === "table" ? "page table" : only.kind === "used" ? `${noun} in use` : only.kind === "slack" ? "empty object slot" : `${only.kind} ${noun}`} ${hex8(only.block.address)} `
    : only?.kind === "metadata" && only.title ? `inside ${only.title.split(" [")[0]} `
    : kinds.length === 1 ? `${FOLD_NOUN[kinds[0]!]} ` : "";
  return `${what}[${hex8(r.start)}, ${hex8(r.end)}), ${formatBytes(r.end - r.start)} (not to scale)`;
}

/**
 * A folded row drawn whole at a scale of its own: a long stretch of one piece (or
 * of program data or unclaimed memory), its pieces as dashed rects, and its title
 * written across it. O(pieces).
 */
function drawFoldedRow(f: Frame, r: MapRow, y: number, pieces: readonly Piece[]): string {
  const inside = pieces.filter((p) => p.end > r.start && p.start < r.end);
  const kinds = [...new Set(inside.map((p) => p.kind))];
  const text = foldedRowText(inside, kinds, r);
  const scale = f.plotW / (r.end - r.start);
  let rects = "";
  for (const p of inside) {
    const a = Math.max(p.start, r.start);
    const b = Math.min(p.end, r.end);
    rects += `<rect class="fold" x="${n2(f.axisW + (a - r.start) * scale)}" y="${y}" width="${n2((b - a) * scale)}" height="${f.rowH}" fill="${KIND_COLORS[p.kind]}"/>`;
  }
  return `<g data-kind="${kinds.length === 1 ? kinds[0] : "mixed"}" data-folded="true"><title>${escapeXml(text)}</title>${rects}` +
    `<text x="${n2(f.axisW + f.plotW / 2)}" y="${y + f.rowH - 3}" text-anchor="middle" font-size="10" fill="${kinds.length === 1 && DARK_KINDS.has(kinds[0]!) ? "#fff" : "#222"}">≈ ${escapeXml(text)} ≈</text></g>`;
}

/** The rows group: each row's address on the axis, and the folded rows drawn whole. O(rows + folded rows · pieces). */
function drawRows(f: Frame, rows: readonly MapRow[], pieces: readonly Piece[]): string[] {
  const out: string[] = [`<g id="rows">`];
  rows.forEach((r, i) => {
    const y = rowY(f, i);
    out.push(`<text class="ax" x="${f.axisW - 6}" y="${y + f.rowH - 3}" text-anchor="end">${hex8(r.start)}</text>`);
    if (r.folded) out.push(drawFoldedRow(f, r, y, pieces));
  });
  out.push(`</g>`);
  return out;
}

/** How addresses map to rows: [loD, hiD) in rows of rowBytes, each at its display row (-1: in a folded row). */
interface RowGrid {
  loD: number;
  hiD: number;
  rowBytes: number;
  pxPerByte: number;
  display: Int32Array;
}

/**
 * The rects drawing [start, end), one per row it crosses; rows inside a folded row
 * are skipped (the folded row draws them). A rect 4 pixels wide or more gets a
 * white edge unless `extra` marks it. O(rows crossed).
 */
function rowRects(f: Frame, g: RowGrid, start: number, end: number, fill: string, extra = ""): string {
  let s = "";
  const first = Math.floor((start - g.loD) / g.rowBytes);
  const last = Math.floor((end - 1 - g.loD) / g.rowBytes);
  for (let r = first; r <= last; r++) {
    if (g.display[r]! < 0) continue; // a folded row draws this stretch itself
    const rs = g.loD + r * g.rowBytes;
    const a = Math.max(start, rs);
    const b = Math.min(end, rs + g.rowBytes);
    const w = (b - a) * g.pxPerByte;
    const stroke = w >= 4 && extra === "" ? ` stroke="#fff" stroke-width="0.5"` : "";
    s += `<rect x="${n2(f.axisW + (a - rs) * g.pxPerByte)}" y="${rowY(f, g.display[r]!)}" width="${n2(w)}" height="${f.rowH}" fill="${fill}"${stroke}${extra}/>`;
  }
  return s;
}

/**
 * One piece's group: its data attributes, hover title and rects (for a merged piece
 * of several kinds, each kind's share side by side; for a guarded block in use,
 * its guard bytes as metadata). O(rows it crosses).
 */
function drawPiece(f: Frame, g: RowGrid, p: Piece): string {
  const start = Math.max(p.start, g.loD);
  const end = Math.min(p.end, g.hiD);
  let attrs = ` data-kind="${p.kind}"`;
  if (p.block) attrs += ` data-address="${hex8(p.block.address)}" data-size="${p.block.size}"`;
  if (p.misuse !== undefined) attrs += ` data-misuse="true"`;
  if (p.counts) {
    for (const k of MAP_KINDS) if (p.counts[k]) attrs += ` data-count-${k}="${p.counts[k]}"`;
  }
  let body = "";
  const mixed = p.kindBytes ? MAP_KINDS.filter((k) => p.kindBytes![k]) : [];
  if (mixed.length > 1) {
    let a = p.start;
    for (const k of mixed) {
      const b = a + p.kindBytes![k]!;
      const ca = Math.max(a, start);
      const cb = Math.min(b, end);
      if (cb > ca) body += rowRects(f, g, ca, cb, KIND_COLORS[k], ` data-share="${k}"`);
      a = b;
    }
  } else if (p.guard !== undefined && p.guard > start && p.guard < end) {
    body = rowRects(f, g, start, p.guard, KIND_COLORS[p.kind]) + rowRects(f, g, p.guard, end, KIND_COLORS.metadata, ` data-guard="true"`);
  } else {
    body = rowRects(f, g, start, end, KIND_COLORS[p.kind], p.kind === "unclaimed" ? ` class="fold"` : "");
  }
  let title = p.title ?? blockTitle(p.block!, p.guard, p.page);
  if (p.misuse !== undefined) {
    title = `${p.misuse} · ${title}`;
    body += rowRects(f, g, start, end, "none", ` stroke="${MISUSE_COLOR}" stroke-width="2" data-mark="misuse"`);
  }
  return `<g${attrs}><title>${escapeXml(title)}</title>${body}</g>`;
}

/** The map group: one group per piece, one rect per row it crosses. O(shapes + rows they cross). */
function drawShapes(f: Frame, g: RowGrid, shapes: readonly Piece[]): string[] {
  return [`<g id="map" shape-rendering="crispEdges">`, ...shapes.map((p) => drawPiece(f, g, p)), `</g>`];
}

/** The legend group: a swatch and a line for each kind present, with its bytes (and blocks, objects or pages). O(kinds). */
function drawLegend(f: Frame, kinds: readonly MapKind[], figures: HeapFigures): string[] {
  const out: string[] = [`<g id="legend">`];
  kinds.forEach((k, i) => {
    const y = f.legendTop + i * 18;
    let text = `${KIND_LABELS[k]}: ${formatBytes(figures.bytes[k])}`;
    if (k === "used") text += `, ${plural(figures.usedBlocks, "block")}${figures.usedObjects > 0 ? ` (${plural(figures.usedObjects, "small object")})` : ""}`;
    if (k === "free") text += `, ${plural(figures.freeBlocks, "block")}`;
    if (k === "slack") text += `, ${plural(figures.slackSlots, "empty slot")}`;
    if (k === "page") text += `, ${plural(figures.pages, "page")} of ${formatBytes(figures.pageBytes)} in all`;
    if (k === "cached") text += `, ${plural(figures.cachedBlocks, "block")}`;
    out.push(`<g data-legend="${k}"><rect x="10" y="${y}" width="14" height="12" fill="${KIND_COLORS[k]}" stroke="#666" stroke-width="0.5"/>` +
      `<text x="30" y="${y + 10}">${escapeXml(text)}</text></g>`);
  });
  out.push(`</g>`);
  return out;
}

/** The figures as lines of text: in use, free, cached, spans and background; with pages, a line for them and the page table and one for the page slack. O(1). */
function figureLines(figures: HeapFigures, layout: HeapLayout): string[] {
  const pct = (figures.fragmentation * 100).toFixed(1);
  const objects = (n: number, bytes: number) => ` (${plural(n, "small object")} of pages, ${bytes} bytes)`;
  const lines = [
    `in use: ${plural(figures.usedBlocks, "block")}, ${figures.usedBytes} bytes of blocks${layout.guardBytes > 0 ? " (guard bytes included)" : ""}` +
      `${figures.usedObjects > 0 ? objects(figures.usedObjects, figures.usedObjectBytes) : ""}, ${figures.requestedBytes} bytes requested`,
    `free: ${plural(figures.freeBlocks, "block")}, ${figures.freeBytes} bytes; largest free block ${figures.largestFree} bytes; fragmentation ${pct}%`,
    `cached: ${plural(figures.cachedBlocks, "block")}, ${figures.cachedBytes} bytes`,
    `${plural(figures.spans, "span")}; ralloc metadata ${figures.bytes.metadata} bytes; sbrk ${figures.bytes.sbrk} bytes; program data ${figures.bytes.program} bytes; unclaimed ${figures.bytes.unclaimed} bytes`,
  ];
  if (figures.pages > 0 || figures.tableBytes > 0) {
    lines.push(`${plural(figures.pages, "page")} of small objects, ${figures.pageBytes} bytes (${figures.bytes.page} bytes of headers and ends); page table ${figures.tableBytes} bytes`);
    lines.push(`page slack: ${plural(figures.slackSlots, "empty object slot")}, ${figures.slackBytes} bytes (free for their size class only: not free blocks, not fragmentation)`);
  }
  return lines;
}

/** The figures group: the figures as data attributes, and their lines of text. O(1). */
function drawFigures(f: Frame, figures: HeapFigures, lines: readonly string[]): string[] {
  const out: string[] = [];
  out.push(`<g id="figures" data-used-blocks="${figures.usedBlocks}" data-used-bytes="${figures.usedBytes}" data-requested-bytes="${figures.requestedBytes}"` +
    ` data-free-blocks="${figures.freeBlocks}" data-free-bytes="${figures.freeBytes}" data-largest-free="${figures.largestFree}"` +
    ` data-fragmentation="${figures.fragmentation}" data-cached-blocks="${figures.cachedBlocks}" data-cached-bytes="${figures.cachedBytes}" data-spans="${figures.spans}"` +
    ` data-used-objects="${figures.usedObjects}" data-slack-slots="${figures.slackSlots}" data-slack-bytes="${figures.slackBytes}"` +
    ` data-pages="${figures.pages}" data-page-bytes="${figures.pageBytes}" data-table-bytes="${figures.tableBytes}">`);
  lines.forEach((line, i) => out.push(`<text x="10" y="${f.figuresTop + i * 16}">${escapeXml(line)}</text>`));
  out.push(`</g>`);
  return out;
}

/**
 * Draws a heap map: an SVG document (a string) showing the heap's address space
 * as rows, with a legend of the kinds present, the figures of
 * {@link heapFigures}, row addresses on the axis, and a hover `<title>` on every
 * block. Shapes carry `data-kind` (and `data-address` for a single block,
 * `data-count-<kind>` for merged pieces) so tools can read the picture back.
 * O(blocks log blocks + spans + rows), output at most about maxShapes + rows shapes.
 *
 * @example
 * const svg = drawHeapMap({ layout: heap.layout(), blocks: walkHeap(heap.exports), spans: spans(heap.exports) });
 *
 * @throws RallocError `E_BAD_OPTION` for malformed input or options (a block
 * outside every span, overlapping blocks, a field that is not a u32, ...).
 */
export function drawHeapMap(input: HeapMapInput, options: HeapMapOptions = {}): string {
  const o = checkOptions(options);
  const { layout, blocks, spans: spanList, title: inputTitle, misuse } = checkInput(input);
  const title = o.title ?? inputTitle ?? "ralloc-wasm heap";
  const pieces = buildPieces(layout, blocks, spanList);
  const marked = misuse !== undefined && markMisuse(pieces, misuse);
  const figures = figuresOf(pieces, spanList.length, layout.memoryEnd);

  // Rows for the heap proper, and the pieces in them, merged when there are too many to draw.
  const { lo, hi } = heapExtent(pieces, layout);
  const { rowBytes, plan } = chooseRows(pieces, lo, hi, layout.memoryEnd, o.rowBytes, o.maxRows);
  const { rows, display } = layRows(plan, rowBytes);
  const grid: RowGrid = { loD: plan.loD, hiD: plan.hiD, rowBytes, pxPerByte: o.plotW / rowBytes, display };
  const inView = pieces.filter((p) => p.end > grid.loD && p.start < grid.hiD);
  const { pieces: shapes, merged } = mergePieces(inView, Math.ceil(2 / grid.pxPerByte), o.maxShapes, grid.hiD - grid.loD);

  const kinds = MAP_KINDS.filter((k) => figures.bytes[k] > 0);
  const lines = figureLines(figures, layout);
  const f = frameOf(o.plotW, rows.length, kinds.length, lines.length, misuse !== undefined);
  const notes = noteLines(layout, rowBytes, rows, merged ? { pieces: inView.length, shapes: shapes.length } : undefined);
  const out = [
    ...drawHeading(f, title, notes, rowBytes, misuse && (marked ? misuse.message : `${misuse.message} (no block holds ${hex8(misuse.address)})`)),
    ...drawRows(f, rows, pieces),
    ...drawShapes(f, grid, shapes),
    ...drawLegend(f, kinds, figures),
    ...drawFigures(f, figures, lines),
    `</svg>`,
  ];
  return out.join("\n") + "\n";
}
