/**
 * ralloc-wasm's log: the events the debug and validate builds send through
 * `ralloc_hooks.event(kind, a, b, c, d)`, decoded into objects, and the log
 * lines made of them: `<pool> : <text>`, where `<pool>` is a picture of the
 * block pool around the operation (see {@link poolPicture}).
 *
 * @module
 */

import { EVENT } from "./abi.js";
import { hex, hex8, plural } from "./messages.js";
import { walkHeap } from "./walk.js";

export { EVENT };

/** Log levels: 0 nothing, 1 errors (misuse reports), 2 every operation, 3 also pool events. */
export type LogLevel = 0 | 1 | 2 | 3;

/** The level of error lines (misuse reports). */
export const LEVEL_ERROR = 1;

/** Fields every event has. */
interface EventBase {
  /** The kind number (1 ALLOC ... 8 TRIM). */
  code: number;
  /** 2 for operations (alloc, free, realloc, dealloc), 3 for pool events. */
  level: 2 | 3;
  /** The raw arguments of the import, as unsigned numbers. */
  args: [number, number, number, number];
}

/** An allocation (malloc, calloc, aligned allocation, a realloc of null). */
export interface AllocEvent extends EventBase { kind: "alloc"; address: number; size: number; align: number; serial: number }
/** A free of a whole block. */
export interface FreeEvent extends EventBase { kind: "free"; address: number; size: number; serial: number }
/** A realloc: `address === oldAddress` when the block was resized in place; `address` 0 when it failed. */
export interface ReallocEvent extends EventBase { kind: "realloc"; address: number; size: number; oldAddress: number; oldSize: number }
/** A partial free (`ralloc_dealloc`) of [address, address + size) from the block at `block`. */
export interface DeallocEvent extends EventBase { kind: "dealloc"; address: number; size: number; block: number }
/** The heap took `bytes` of new memory at `address`; `growCalls` memory.grow calls so far. */
export interface GrowEvent extends EventBase { kind: "grow"; address: number; bytes: number; growCalls: number }
/** The quick lists gave `bytes` back to the general free lists. */
export interface FlushEvent extends EventBase { kind: "flush"; bytes: number }
/** A request of `size` bytes could not be met (sent before the OOM handler is asked). */
export interface OomEvent extends EventBase { kind: "oom"; size: number }
/** `bytes` were given back to the break. */
export interface TrimEvent extends EventBase { kind: "trim"; bytes: number }
/** An event of a kind these bindings do not know (a newer build). */
export interface UnknownEvent extends EventBase { kind: "unknown" }

/** One event of the allocator, decoded. */
export type RallocEvent = AllocEvent | FreeEvent | ReallocEvent | DeallocEvent | GrowEvent | FlushEvent | OomEvent | TrimEvent | UnknownEvent;

/** Decodes the arguments of `ralloc_hooks.event` into an event object. */
export function decodeEvent(kind: number, a: number, b: number, c: number, d: number): RallocEvent {
  const code = kind >>> 0;
  const args: [number, number, number, number] = [a >>> 0, b >>> 0, c >>> 0, d >>> 0];
  [a, b, c, d] = args;
  switch (code) {
    case EVENT.ALLOC: return { kind: "alloc", code, level: 2, args, address: a, size: b, align: c, serial: d };
    case EVENT.FREE: return { kind: "free", code, level: 2, args, address: a, size: b, serial: c };
    case EVENT.REALLOC: return { kind: "realloc", code, level: 2, args, address: a, size: b, oldAddress: c, oldSize: d };
    case EVENT.DEALLOC: return { kind: "dealloc", code, level: 2, args, address: a, size: b, block: c };
    case EVENT.GROW: return { kind: "grow", code, level: 3, args, address: a, bytes: b, growCalls: c };
    case EVENT.FLUSH: return { kind: "flush", code, level: 3, args, bytes: a };
    case EVENT.OOM: return { kind: "oom", code, level: 3, args, size: a };
    case EVENT.TRIM: return { kind: "trim", code, level: 3, args, bytes: a };
    default: return { kind: "unknown", code, level: 3, args };
  }
}

/** The text of an event's log line (`Allocating 0x20 (align 16) -> 0x00012340 #5`). */
export function eventText(e: RallocEvent): string {
  switch (e.kind) {
    case "alloc": return `Allocating ${hex(e.size)} (align ${e.align}) -> ${hex8(e.address)} #${e.serial || "?"}`;
    case "free": return `Freeing ${hex8(e.address)}[${hex(e.size)}]`;
    case "realloc": return `Reallocating ${hex8(e.oldAddress)}[${hex(e.oldSize)}] to ${hex(e.size)} (align 16) -> ${hex8(e.address)}`;
    case "dealloc": return `Deallocating ${hex8(e.address)}[${hex(e.size)}] of ${hex8(e.block)}`;
    case "grow": return `Growing by ${hex(e.bytes)} at ${hex8(e.address)} (${plural(e.growCalls, "memory.grow call")})`;
    case "flush": return `Flushing ${hex(e.bytes)} cached bytes`;
    case "oom": return `Out of memory for ${hex(e.size)}`;
    case "trim": return `Trimming ${hex(e.bytes)}`;
    default: return `Event ${e.code} (${e.args.map(hex).join(", ")})`;
  }
}

/**
 * The address an event revolves around, where its pool picture puts the `|`:
 * the new block of an allocation or realloc (the old one when a realloc
 * failed), the freed block, the block of a partial free, the new memory of a
 * growth; undefined for events about no block (flush, oom, trim).
 */
export function eventFocus(e: RallocEvent): number | undefined {
  switch (e.kind) {
    case "alloc": case "free": case "grow": return e.address || undefined;
    case "realloc": return e.address || e.oldAddress || undefined;
    case "dealloc": return e.block || undefined;
    default: return undefined;
  }
}

/** A block of the pool, as a picture needs it. */
export interface PoolBlock {
  /** Payload address (the 4-byte header lies just below it). */
  address: number;
  /** Block size in bytes, header included. */
  size: number;
  /** `used` (the program's), `free` (in the general free lists), `cached` (in a quick list; free for the program). */
  state: "used" | "free" | "cached";
}

/** Blocks shown on each side of the `|` in a pool picture. */
export const POOL_SIDE = 16;

/** The picture's character for one block: `x` used, `_` free, `c` cached. */
function poolChar(b: PoolBlock): string {
  return b.state === "free" ? "_" : b.state === "cached" ? "c" : "x";
}

/**
 * The picture of a pool: one character per block in address order (`x` in
 * use, `_` free, `c` cached), `|` just before the block containing `focus` (or,
 * when `focus` lies between blocks, the next block; at the end when it lies
 * past all of them), at most {@link POOL_SIDE} blocks on each side of it with
 * `…` where the picture is cut. Without a focus: the top 2 × POOL_SIDE blocks.
 * An empty pool is `-`.
 */
export function poolPicture(blocks: readonly PoolBlock[], focus?: number): string {
  const n = blocks.length;
  if (n === 0) return focus === undefined ? "-" : "|";
  const chars = (from: number, to: number) => blocks.slice(from, to).map(poolChar).join("");
  if (focus === undefined) {
    const from = Math.max(0, n - 2 * POOL_SIDE);
    return (from > 0 ? "…" : "") + chars(from, n);
  }
  focus >>>= 0;
  let i = blocks.findIndex((b) => b.address - 4 + b.size > focus);
  if (i < 0) i = n;
  const from = Math.max(0, i - POOL_SIDE);
  const to = Math.min(n, i + POOL_SIDE);
  return (from > 0 ? "…" : "") + chars(from, i) + "|" + chars(i, to) + (to < n ? "…" : "");
}

/**
 * The global heap's blocks in address order (walk.ts's checked walk), or
 * undefined when the allocator lacks the walk exports or its heap cannot be
 * walked: a log line then shows `?` for the pool rather than failing.
 */
export function readPool(exports: unknown): PoolBlock[] | undefined {
  try {
    return walkHeap(exports);
  } catch {
    return undefined;
  }
}

/** A log line: `<pool> : <text>`. */
function logLine(pool: string, text: string): string {
  return `${pool} : ${text}`;
}

/** The log line of an event, with the picture of `blocks` (`?` for the pool when they are unknown). */
export function eventLine(e: RallocEvent, blocks: readonly PoolBlock[] | undefined): string {
  return logLine(blocks === undefined ? "?" : poolPicture(blocks, eventFocus(e)), eventText(e));
}

/** The log line of a misuse report: the message with the pool `!`. */
export function errorLine(message: string): string {
  return logLine("!", message);
}
