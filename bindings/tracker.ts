/**
 * The allocation tracker: remembers where each live block was allocated (the
 * JavaScript and wasm call stack at its alloc or realloc event) so that a leak
 * report can say who allocated what was never freed. Built on a heap's events
 * (`heap.onEvent`), so it needs a build that sends them (debug, validate).
 *
 * @module
 */

import { checkOptionNames, isIntIn, optionNames } from "./checks.js";
import { RallocError } from "./errors.js";
import { blocksIn, isLive, walkHeap } from "./walk.js";
import { leakHeading, leakLine } from "./messages.js";
import { filePathOf } from "./platform.js";

/** A block the tracker saw allocated and not freed. */
export interface TrackedBlock {
  /** Payload address. */
  address: number;
  /** Bytes asked for (after a realloc, the new size). */
  size: number;
  /** Allocation number (0 when the build has none). */
  serial: number;
  /** The call stack of the allocation (or of the last realloc), one `at ...` frame per line, the tracker's and the allocator's own frames removed. */
  stack: string;
}

/** The events a tracker reads (what `heap.onEvent` passes; other kinds are ignored). */
export type TrackerEvent =
  | { kind: "alloc"; address: number; size: number; serial: number }
  | { kind: "free"; address: number }
  | { kind: "realloc"; address: number; size: number; oldAddress: number }
  | { kind: "dealloc"; address: number; size: number; block: number }
  | { kind: string };

/** What a tracker listens to: a `Heap`, or anything with its `onEvent` (and, to confirm leaks with a walk, its `exports`). */
export interface TrackerSource {
  onEvent(listener: (event: TrackerEvent) => void): () => void;
  exports?: unknown;
}

/** Options of {@link Tracker}. */
export interface TrackerOptions {
  /** Frames kept per stack, after the tracker's and the allocator's own (default 12; 1 to 200). */
  stackDepth?: number;
}

/** Every option of {@link Tracker}, to refuse a misspelled one. */
const TRACKER_OPTIONS = optionNames<TrackerOptions>({ stackDepth: true });

/** The directory of these bindings' compiled files (a path in Node): frames from there are the tracker's plumbing. */
const BINDINGS_DIR = filePathOf(new URL("./", import.meta.url));
const BINDINGS_URL = new URL("./", import.meta.url).href;

/** The wasm module a stack frame runs in (`wasm://wasm/<id>`), or undefined for JavaScript. O(frame). */
function wasmModuleOf(frame: string): string | undefined {
  return /wasm:\/\/wasm\/([^:/)]+)/.exec(frame)?.[1];
}

/** The C allocation entry points a program defines over its malloc imports (bindings/c/ralloc_import.c). */
const ALLOC_ENTRY_POINTS = new Set([
  "malloc", "calloc", "realloc", "reallocf", "reallocarray", "aligned_alloc", "posix_memalign", "memalign", "valloc", "pvalloc",
  "ralloc_alloc", "ralloc_try_alloc", "ralloc_inplace_realloc", "ralloc_heap_alloc", "ralloc_heap_realloc",
]);

/** The function a wasm frame names, without its module prefix (`out.wasm.calloc` is `calloc`). O(frame). */
function wasmFunctionOf(frame: string): string | undefined {
  const name = /^at (\S+) \(wasm:\/\//.exec(frame)?.[1];
  return name?.slice(name.lastIndexOf(".") + 1);
}

/** Whether a stack frame is in these bindings' own files. O(frame). */
function isBindingsFrame(frame: string): boolean {
  return frame.includes(BINDINGS_URL) || (BINDINGS_DIR !== undefined && (frame.includes(`(${BINDINGS_DIR}`) || frame.includes(` ${BINDINGS_DIR}`)));
}

/**
 * The caller's stack at an allocator event, without the plumbing above the
 * caller: the bindings' frames (the tracker, the heap's event dispatch), then
 * the allocator's wasm frames (the module that called the event import), then
 * the bindings' frames again (`Heap.malloc`), then a C program's own `malloc`,
 * `calloc`... wrappers over the allocator's imports. What is left starts at the
 * code that asked for memory: a JavaScript function or the program's wasm. O(frames).
 */
export function callerStack(depth: number): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = depth + 40;
  const raw = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const frames = raw.split("\n").filter((l) => /^\s+at /.test(l)).map((l) => l.trim());
  let i = 0;
  while (i < frames.length && isBindingsFrame(frames[i]!)) i++;
  const allocator = i < frames.length ? wasmModuleOf(frames[i]!) : undefined;
  if (allocator !== undefined) while (i < frames.length && wasmModuleOf(frames[i]!) === allocator) i++;
  while (i < frames.length && isBindingsFrame(frames[i]!)) i++;
  // A C program's own malloc entry points (which call the allocator's imports) are plumbing too.
  while (i < frames.length && ALLOC_ENTRY_POINTS.has(wasmFunctionOf(frames[i]!) ?? "")) i++;
  return frames.slice(i, i + depth).join("\n");
}


/**
 * Tracks a heap's live blocks with the call stack of their allocation, from
 * its events: an alloc or realloc records the block with `new Error().stack`, a
 * free drops it, a partial free keeps what is left under the first stack.
 * Blocks allocated before the tracker started are not tracked. Each event costs
 * a stack capture (a few microseconds), a partial free also a walk of its span.
 *
 * Local heaps send events too: their blocks are tracked while they live, but a
 * local heap destroyed whole sends no frees, so {@link leaks} (which confirms
 * each block with a walk of the global heap) is the list to trust.
 *
 * @example
 * const tracker = heap.track();
 * runTheCode();
 * console.log(tracker.report());   // who allocated what is still live
 * tracker.stop();
 */
export class Tracker {
  readonly #source: TrackerSource;
  readonly #depth: number;
  readonly #blocks = new Map<number, TrackedBlock>();
  #unsubscribe: (() => void) | undefined;

  /**
   * Starts tracking: subscribes to `source.onEvent`. O(1).
   *
   * @throws RallocError `E_BAD_OPTION` for a source without onEvent or a bad
   * option; whatever `onEvent` throws (`E_UNSUPPORTED` on builds without events).
   */
  constructor(source: TrackerSource, options: TrackerOptions = {}) {
    if (typeof source !== "object" || source === null || typeof (source as TrackerSource).onEvent !== "function") {
      throw new RallocError("E_BAD_OPTION", "Tracker: expected a heap (an object with onEvent), such as createHeap({ build: \"debug\" })");
    }
    if (typeof options !== "object" || options === null) throw new RallocError("E_BAD_OPTION", `Tracker: options must be an object, got ${String(options)}`);
    checkOptionNames(options, TRACKER_OPTIONS, "Tracker");
    const depth = options.stackDepth ?? 12;
    if (!isIntIn(depth, 1, 200)) {
      throw new RallocError("E_BAD_OPTION", `Tracker: option stackDepth must be an integer from 1 to 200, got ${String(depth)}`);
    }
    this.#source = source;
    this.#depth = depth;
    this.#unsubscribe = source.onEvent((event) => this.#record(event));
  }

  /** Whether the tracker still listens (false after {@link stop}). O(1). */
  get tracking(): boolean {
    return this.#unsubscribe !== undefined;
  }

  /** Updates the records for one event. O(1) plus a stack capture; a partial free also walks its span. */
  #record(event: TrackerEvent): void {
    const e = event as Record<string, number> & { kind: string };
    switch (e.kind) {
      case "alloc":
        this.#blocks.set(e["address"]! >>> 0, { address: e["address"]! >>> 0, size: e["size"]! >>> 0, serial: e["serial"]! >>> 0, stack: callerStack(this.#depth) });
        return;
      case "free":
        this.#blocks.delete(e["address"]! >>> 0);
        return;
      case "realloc": {
        const q = e["address"]! >>> 0;
        if (q === 0) return; // failed: the old block stays
        this.#blocks.delete(e["oldAddress"]! >>> 0);
        this.#blocks.set(q, { address: q, size: e["size"]! >>> 0, serial: this.#serialOf(q), stack: callerStack(this.#depth) });
        return;
      }
      case "dealloc":
        this.#partialFree(e["block"]! >>> 0, e["address"]! >>> 0);
        return;
      default:
        return;
    }
  }

  /** The allocation number of live block p from the allocator, or 0 when it cannot say. O(1). */
  #serialOf(p: number): number {
    const f = (this.#source.exports as Record<string, unknown> | undefined)?.["ralloc_block_serial"];
    return typeof f === "function" ? (f as (p: number) => number)(p) >>> 0 : 0;
  }

  /**
   * After a partial free of a range starting at `start` from block b: the blocks
   * left in use inside b's old payload take over its record (its stack). O(blocks of the span).
   */
  #partialFree(b: number, start: number): void {
    let rec = this.#blocks.get(b);
    if (rec === undefined) {
      // The event names the block in the guarded builds; otherwise find the record holding the range.
      for (const r of this.#blocks.values()) if (start >= r.address && start < r.address + Math.max(r.size, 1)) rec = r;
    }
    if (rec === undefined) return;
    this.#blocks.delete(rec.address);
    let kept;
    try {
      kept = blocksIn(this.#source.exports, rec.address, rec.address + Math.max(rec.size, 1));
    } catch {
      return; // no walk exports: the record is dropped, which under-reports rather than invents
    }
    for (const k of kept) {
      if (!isLive(k)) continue;
      this.#blocks.set(k.address, { address: k.address, size: k.request, serial: k.serial || rec.serial, stack: rec.stack });
    }
  }

  /**
   * The blocks allocated while tracking and not freed, in address order, as the
   * events tell it (no walk). O(live log live).
   */
  live(): TrackedBlock[] {
    return [...this.#blocks.values()].map((b) => ({ ...b })).sort((a, b) => a.address - b.address);
  }

  /**
   * The leaks: tracked blocks that a walk of the global heap confirms in use
   * now, with the walk's size and allocation number and the tracked stack, in
   * address order. Without walk exports, {@link live}. O(blocks of the heap).
   */
  leaks(): TrackedBlock[] {
    let walked;
    try {
      walked = walkHeap(this.#source.exports);
    } catch (e) {
      if (e instanceof RallocError && (e.code === "E_UNSUPPORTED" || e.code === "E_BAD_OPTION")) return this.live();
      throw e;
    }
    const out: TrackedBlock[] = [];
    for (const b of walked) {
      const rec = this.#blocks.get(b.address);
      if (!isLive(b) || rec === undefined) continue;
      out.push({ address: b.address, size: b.request, serial: b.serial || rec.serial, stack: rec.stack });
    }
    return out;
  }

  /**
   * The leak report: `ralloc: 2 blocks leaked (48 bytes)`, then per block the
   * line of the LEAK report (`  0x00012340 32 bytes #17`) and its stack, indented;
   * `ralloc: no leaks` when there are none. O(blocks of the heap).
   */
  report(): string {
    const leaks = this.leaks();
    if (leaks.length === 0) return "ralloc: no leaks\n";
    const bytes = leaks.reduce((s, b) => s + b.size, 0);
    const lines = [leakHeading(leaks.length, bytes)];
    for (const b of leaks) {
      lines.push(leakLine(b));
      for (const frame of b.stack === "" ? ["(no stack)"] : b.stack.split("\n")) lines.push(`      ${frame}`);
    }
    return lines.join("\n") + "\n";
  }

  /** Stops listening; the records stay as they were for live(), leaks() and report(). O(1). */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
