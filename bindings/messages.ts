/**
 * The texts of ralloc-wasm's misuse reports. The wasm builds carry no strings:
 * on a misuse the debug, validate and security builds call
 * `ralloc_hooks.report(code, op, addr, size, aux)` with numbers only, and these
 * functions turn them into the exact messages docs/DEBUGGING.md lists.
 *
 * @module
 */

import { CHECK, OP, REPORT } from "./abi.js";

export { REPORT };

/** The C name of each operation a report can come from, by op number (index 0 is unused). */
const OP_C_NAMES: Record<keyof typeof OP, string> = {
  FREE: "free",
  REALLOC: "realloc",
  USABLE: "malloc_usable_size",
  DEALLOC: "ralloc_dealloc",
  INPLACE: "ralloc_inplace_realloc",
  CHECK: "ralloc_check",
  MALLOC: "malloc",
  LEAK: "ralloc_assert_no_leak",
  HEAP_FREE: "ralloc_heap_free",
  HEAP_REALLOC: "ralloc_heap_realloc",
  HEAP_USABLE: "ralloc_heap_usable_size",
  CALLOC: "calloc",
  ALIGNED: "aligned_alloc",
  ALLOC: "ralloc_alloc",
  HEAP_ALLOC: "ralloc_heap_alloc",
  HEAP_CHECK: "ralloc_heap_check",
};

/** Names of the calls a report can come from, by op number (index 0 is unused). */
export const OP_NAMES: readonly string[] = byNumber(OP, (key) => OP_C_NAMES[key]);

/**
 * Names of the heap check codes (`ralloc_check`'s results, the keys of
 * {@link CHECK}), by code (index 0 is unused: 0 means the heap is sound).
 */
export const CHECK_NAMES: readonly string[] = byNumber(CHECK, (key) => key);

/** A table's names in the order of their numbers (1, 2, ...); index 0 is "". O(table). */
function byNumber<K extends string>(table: Record<K, number>, name: (key: K) => string): string[] {
  const out = [""];
  for (const key of Object.keys(table) as K[]) out[table[key]] = name(key);
  return out;
}

/** The name of an op number; `op <n>` for a number no build uses. */
export function opName(op: number): string {
  op >>>= 0;
  return (op > 0 && OP_NAMES[op]) || `op ${op}`;
}

/** The name of a heap check code (`UNMERGED` for 5); `UNKNOWN` for a code no build uses. */
export function checkName(code: number): string {
  code >>>= 0;
  return (code > 0 && CHECK_NAMES[code]) || "UNKNOWN";
}

/** An address as `0x` and 8 lowercase hex digits (`0x00012340`). */
export function hex8(addr: number): string {
  return `0x${(addr >>> 0).toString(16).padStart(8, "0")}`;
}

/** A size as `0x` and lowercase hex digits, unpadded (`0x20`). */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** `1 byte`, `32 bytes`: a count with its noun, plural unless it is 1. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** One live block, as a leak report lists it. */
export interface LeakedBlock {
  /** Payload address. */
  address: number;
  /** Bytes the program asked for (the usable size in builds that do not record it). */
  size: number;
  /** Allocation number (1 for the first allocation of the instance); 0 when the build has none. */
  serial: number;
}

/** The line of one leaked block: `  0x00012340 32 bytes #17` (`#?` when the serial is unknown). */
export function leakLine(block: LeakedBlock): string {
  return `  ${hex8(block.address)} ${plural(block.size >>> 0, "byte")} #${block.serial ? block.serial >>> 0 : "?"}`;
}

/**
 * The whole leak report: `ralloc: 3 blocks leaked (96 bytes)` and one line per
 * block (in the order given, address order from a walk). `count` and `bytes`
 * default to the blocks' number and the sum of their sizes.
 */
export function leakMessage(blocks: readonly LeakedBlock[], count = blocks.length, bytes = blocks.reduce((s, b) => s + (b.size >>> 0), 0)): string {
  return [leakHeading(count, bytes), ...blocks.map(leakLine)].join("\n");
}

/** The first line of a leak report: `ralloc: 3 blocks leaked (96 bytes)`. */
export function leakHeading(count: number, bytes: number): string {
  return `ralloc: ${plural(count, "block")} leaked (${plural(bytes >>> 0, "byte")})`;
}

/**
 * The exact message of a misuse report (the arguments of
 * `ralloc_hooks.report`). For code 11 (LEAK) this is the first line only; add
 * the block lines with {@link leakMessage}.
 */
export function reportMessage(code: number, op: number, addr: number, size: number, aux: number): string {
  const call = opName(op);
  const a = hex8(addr);
  size >>>= 0;
  switch (code >>> 0) {
    case REPORT.USE_FREED:
      return op === OP.FREE || op === OP.HEAP_FREE
        ? `ralloc: double free of ${a} (${plural(size, "byte")})`
        : `ralloc: ${call} of freed ${a} (${plural(size, "byte")})`;
    case REPORT.OUTSIDE:
      return `ralloc: invalid ${call} of ${a} (outside the heap)`;
    case REPORT.MISALIGNED:
      return `ralloc: invalid ${call} of ${a} (misaligned)`;
    case REPORT.STATIC:
      return `ralloc: invalid ${call} of ${a} (static data, below the heap)`;
    case REPORT.NEVER:
      return `ralloc: invalid ${call} of ${a} (never allocated)`;
    case REPORT.INTERIOR:
      return `ralloc: invalid ${call} of ${a} (inside the ${size}-byte block at ${hex8(aux)})`;
    case REPORT.OVERFLOW:
      return `ralloc: write past the end of ${a} (${plural(size, "byte")}), found by ${call}`;
    case REPORT.BAD_HEADER:
      return `ralloc: corrupted header of ${a} (${plural(size, "byte")}), found by ${call}`;
    case REPORT.BAD_LIST:
      return `ralloc: corrupted free list at ${a} (${plural(size, "byte")}), found by ${call}`;
    case REPORT.CHECK:
      return `ralloc: heap check failed: ${checkName(size)} (code ${size}) at ${a}, after ${call}`;
    case REPORT.LEAK:
      return leakHeading(addr >>> 0, size);
    case REPORT.RANGE:
      return `ralloc: invalid ${call} of ${a} (${plural(size, "byte")}: not inside one live block)`;
    case REPORT.UNSEEDED:
      return `ralloc: ${call} before the security build's key was seeded (call ralloc_seed first, or give it the ralloc_hooks.entropy hook)`;
    default:
      return `ralloc: misuse report ${code >>> 0} from ${call} (address ${a}, size ${size}, aux ${hex8(aux)})`;
  }
}
