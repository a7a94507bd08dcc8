/**
 * The debug and event API behind `Heap`'s methods: the log level and event
 * listeners of a heap, misuse reports turned into errors, leaks, the layout,
 * the heap map, and the seed of the block check words.
 *
 * @module
 */

import type { BuildName } from "./builds.js";
import { checkFunction, describe } from "./checks.js";
import { RallocError } from "./errors.js";
import type { Heap } from "./heap.js";
import { drawHeapMap, type HeapMapOptions } from "./heapmap.js";
import { decodeEvent, errorLine, eventLine, readPool, LEVEL_ERROR, type LogLevel, type RallocEvent } from "./log.js";
import { leakMessage, opName, reportMessage, REPORT, type LeakedBlock } from "./messages.js";
import { decodeLayout, isLive, spans, type BlockRecord, type HeapLayout } from "./walk.js";
import type { AllocatorExports } from "./wiring.js";

/** Checks a log level (an integer from 0 to 3). */
function checkLogLevel(value: unknown, what: string): LogLevel {
  if (value !== 0 && value !== 1 && value !== 2 && value !== 3) {
    throw new RallocError("E_BAD_OPTION", `${what} must be 0, 1, 2 or 3, got ${describe(value)}`);
  }
  return value;
}

/** Checks the logging options (logLevel, onLog) and returns the level, defaulting to 2 with onLog and 0 without. */
export function checkLogOptions(options: { logLevel?: unknown; onLog?: unknown }, what: string): LogLevel {
  if (options.onLog !== undefined && typeof options.onLog !== "function") {
    throw new RallocError("E_BAD_OPTION", `${what}option onLog must be a function, got ${describe(options.onLog)}`);
  }
  if (options.logLevel === undefined) return options.onLog === undefined ? 0 : 2;
  return checkLogLevel(options.logLevel, `${what}option logLevel`);
}

/**
 * The log level and event listeners of one heap: tells the allocator which
 * events to send (`ralloc_set_log_level`) and hands each event it sends to the
 * listeners, then to the heap's onLog.
 */
export class HeapEvents {
  /** The level of lines onLog receives. */
  #logLevel: LogLevel = 0;
  /** The highest event level the build compiled in (ralloc_set_log_level's answer). */
  #buildLogLevel = 0;
  /** The highest event level that reaches the heap (0 when the event hook is not wired to it). */
  #maxLogLevel = 0;
  /** Listeners added with onEvent. */
  readonly #listeners = new Set<(event: RallocEvent) => void>();

  /** Starts at level 0 with no listeners; `wired` says whether the allocator's ralloc_hooks.event reaches `heap`. */
  constructor(readonly heap: Heap, readonly wired: boolean) {
    this.#applyLevel();
  }

  /** The level of the lines onLog receives (0 to 3). */
  get logLevel(): LogLevel {
    return this.#logLevel;
  }

  /** The highest event level the heap can send (see {@link Heap.maxLogLevel}). */
  get maxLogLevel(): number {
    return this.#maxLogLevel;
  }

  /** Sets which lines reach onLog (see {@link Heap.setLogLevel}). */
  setLogLevel(level: LogLevel): void {
    this.#logLevel = checkLogLevel(level, "setLogLevel: level");
    this.#applyLevel();
  }

  /** Tells the allocator the event level it must send: what onLog wants, and at least 2 while listeners exist. */
  #applyLevel(): void {
    const set = this.heap.exports.ralloc_set_log_level;
    if (typeof set !== "function") return;
    const want = this.wired ? Math.max(this.#logLevel, this.#listeners.size > 0 ? 2 : 0) : 0;
    this.#buildLogLevel = set(want) >>> 0;
    this.#maxLogLevel = this.wired ? this.#buildLogLevel : 0;
  }

  /** Adds an event listener and returns its remover (see {@link Heap.onEvent}). */
  add(listener: (event: RallocEvent) => void): () => void {
    checkFunction(listener, "onEvent: listener");
    if (this.#maxLogLevel < 2) {
      const label = this.heap.label;
      throw new RallocError("E_UNSUPPORTED", this.#buildLogLevel < 2
        ? `onEvent: ${label} sends no events; use the debug or validate build`
        : `onEvent: ${label} cannot send events to the host (its ralloc_hooks.event is not wired to this heap); instantiate the program with instantiateProgram instead of linking it statically`);
    }
    const entry = (event: RallocEvent) => listener(event);
    this.#listeners.add(entry);
    this.#applyLevel();
    return () => {
      if (this.#listeners.delete(entry)) this.#applyLevel();
    };
  }

  /** Handles `ralloc_hooks.event`: tells the listeners, then onLog (with the pool picture, a walk) when the level allows. */
  dispatch(kind: number, a: number, b: number, c: number, d: number): void {
    const event = decodeEvent(kind, a, b, c, d);
    for (const listener of [...this.#listeners]) listener(event);
    const onLog = this.heap.onLog;
    if (onLog !== undefined && event.level <= this.#logLevel) onLog(eventLine(event, readPool(this.heap.exports)), event.level);
  }
}

/** Whether the allocator exports what a walk needs. O(1). */
function canWalk(exports: AllocatorExports): boolean {
  return ["ralloc_walk", "ralloc_block_info", "ralloc_block_request", "ralloc_block_serial", "ralloc_span_next", "ralloc_span_end"]
    .every((name) => typeof exports[name] === "function");
}

/** The `E_MISUSE` error of a misuse report (`ralloc_hooks.report`'s arguments), logged at level 1; a leak report walks the heap to list its blocks. */
export function misuseError(heap: Heap, code: number, op: number, addr: number, size: number, aux: number, cause?: unknown): RallocError {
  let message = reportMessage(code, op, addr, size, aux);
  let leaks: LeakedBlock[] | undefined;
  if (code >>> 0 === REPORT.LEAK) {
    try {
      leaks = canWalk(heap.exports) ? heap.leaks() : undefined;
    } catch {
      leaks = undefined; // a heap too corrupted to walk: the first line alone
    }
    if (leaks !== undefined) message = leakMessage(leaks, addr >>> 0, size >>> 0);
  }
  const report = { code: code >>> 0, op: opName(op), address: addr >>> 0, size: size >>> 0, aux: aux >>> 0 };
  if (heap.onLog !== undefined && heap.logLevel >= LEVEL_ERROR) heap.onLog(errorLine(message), LEVEL_ERROR);
  return new RallocError("E_MISUSE", message, { report, ...(leaks === undefined ? {} : { leaks }), ...(cause === undefined ? {} : { cause }) });
}

/** The blocks of a walk that are live for the program, as a leak report lists them. O(blocks). */
export function liveBlocks(blocks: readonly BlockRecord[]): LeakedBlock[] {
  return blocks.filter(isLive).map((b) => ({ address: b.address, size: b.request, serial: b.serial }));
}

/** Throws the `E_LEAK` error listing `leaks` unless there are none. O(leaks). */
export function checkNoLeaks(leaks: LeakedBlock[]): void {
  if (leaks.length > 0) throw new RallocError("E_LEAK", leakMessage(leaks), { leaks });
}

/** Reads `ralloc_layout`'s words (`layout` is that export) through the heap's scratch area. O(1). */
export function readLayout(heap: Heap, layout: (ptr: number) => number): HeapLayout {
  const size = layout(0) >>> 0;
  if (size < 32) throw new RallocError("E_UNSUPPORTED", `ralloc_layout reports ${size} bytes; these bindings read version 1 (32 bytes)`);
  return heap.borrowScratch(size, "layout()", (ptr) => {
    layout(ptr);
    return decodeLayout(new Uint32Array(heap.memory.buffer, ptr, 8), "layout()");
  });
}

/** Draws the heap map of the heap as it is now: its layout, a walk and its spans. O(blocks log blocks). */
export function heapMapOf(heap: Heap, options: HeapMapOptions): string {
  return drawHeapMap({ layout: heap.layout(), blocks: heap.walk(), spans: spans(heap.exports) }, options);
}

/** The largest seed: 2^64 - 1. */
const MAX_SEED = (1n << 64n) - 1n;

/**
 * Checks a seed (an integer number from 0 to 2^53 - 1 or a bigint from 0 to
 * 2^64 - 1) and splits it into the low and high 32 bits `ralloc_seed` takes.
 */
export function splitSeed(value: unknown, what: string): [number, number] {
  const big = typeof value === "bigint" ? value : typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (big === undefined || big < 0n || big > MAX_SEED) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number from 0 to 9007199254740991 or a bigint from 0n to 18446744073709551615n, got ${describe(value)}`);
  }
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

/** 8 random bytes from `globalThis.crypto`, as the low and high halves of a seed. */
function randomSeed(what: string): [number, number] {
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (typeof crypto?.getRandomValues !== "function") {
    throw new RallocError("E_UNSUPPORTED", `${what}: the security build needs a random seed, but globalThis.crypto.getRandomValues is missing; pass options.seed`);
  }
  const w = crypto.getRandomValues(new Uint32Array(2));
  return [w[0]!, w[1]!];
}

/**
 * Seeds the allocator's check words (`ralloc_seed`) from `seed`, or from
 * crypto on the security build when no seed is given; does nothing otherwise.
 */
export function applySeed(exports: AllocatorExports, seed: unknown, build: BuildName | undefined, what: string): void {
  const f = exports.ralloc_seed;
  if (seed === undefined && (build !== "security" || typeof f !== "function")) return;
  const [lo, hi] = seed === undefined ? randomSeed(what) : splitSeed(seed, `${what}: option seed`);
  if (typeof f !== "function") {
    throw new RallocError("E_UNSUPPORTED", `${what}: option seed needs an allocator that exports ralloc_seed, which this one does not`);
  }
  const r = f(lo, hi) >>> 0;
  if (r !== 0) {
    throw new RallocError("E_BAD_OPTION", `${what}: option seed came too late: the heap already holds blocks (ralloc_seed returned ${r}); the seed must be set before the first allocation`);
  }
}
