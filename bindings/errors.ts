/**
 * Errors raised by the ralloc-wasm bindings, and the error values they give
 * to wasm code.
 *
 * @module
 */

/**
 * Machine-readable reasons for a {@link RallocError}.
 *
 * - `E_NOT_WASM`: the input is not a core WebAssembly module.
 * - `E_WASM_MALFORMED`: the input has the wasm magic but cannot be read.
 * - `E_MEMORY_NOT_IMPORTED`: the program defines its own memory (recompile with `-Wl,--import-memory`).
 * - `E_MISSING_IMPORT`: the program imports something nobody provides.
 * - `E_SIGNATURE`: an import's signature does not match the allocator's export.
 * - `E_HAS_MALLOC`: the program already contains a malloc (for example wasi-libc's dlmalloc).
 * - `E_BAD_OPTION`: an argument or an option has a wrong type or value, or an option is unknown.
 * - `E_NO_BUILD`: the requested allocator build is missing on disk.
 * - `E_TOOL`: an external tool (wasm-merge, binaryen) failed.
 * - `E_EXPORT_CONFLICT`: an export name is already taken.
 * - `E_UNSUPPORTED`: the allocator does not export the call asked for, or the build lacks the feature.
 * - `E_MISUSE`: the program misused the heap (double free, bad pointer, overflow, ...); the message
 *   is the allocator's exact report (debug, validate and security builds).
 * - `E_LEAK`: `assertNoLeak()` found live blocks; the message lists them.
 */
export type RallocErrorCode =
  | "E_NOT_WASM"
  | "E_WASM_MALFORMED"
  | "E_MEMORY_NOT_IMPORTED"
  | "E_MISSING_IMPORT"
  | "E_SIGNATURE"
  | "E_HAS_MALLOC"
  | "E_BAD_OPTION"
  | "E_NO_BUILD"
  | "E_TOOL"
  | "E_EXPORT_CONFLICT"
  | "E_UNSUPPORTED"
  | "E_MISUSE"
  | "E_LEAK";

/** The numbers of a misuse report (`ralloc_hooks.report`'s arguments, unsigned), on an `E_MISUSE` error. */
export interface MisuseReport {
  /** Report code (REPORT in abi.ts: 1 USE_FREED ... 13 UNSEEDED; docs/DEBUGGING.md). */
  code: number;
  /** The call that found the misuse (`free`, `realloc`, ...). */
  op: string;
  /** The address concerned (for LEAK: the number of live blocks). */
  address: number;
  /** The size concerned (for CHECK: the check code; for LEAK: the bytes). */
  size: number;
  /** The block an interior pointer points into (INTERIOR), else 0. */
  aux: number;
}

/** A live block listed by an `E_LEAK` error (see `Heap.leaks()`). */
export interface LeakedBlockInfo {
  address: number;
  size: number;
  serial: number;
}

/** An error with a stable {@link RallocErrorCode} and a message that says what to do. */
export class RallocError extends Error {
  /** The reason, stable across versions. */
  readonly code: RallocErrorCode;
  /** For `E_MISUSE`: the allocator's report, as numbers. */
  readonly report: MisuseReport | undefined;
  /** For `E_LEAK` (and an `E_MISUSE` leak report): the live blocks, in address order. */
  readonly leaks: LeakedBlockInfo[] | undefined;

  constructor(code: RallocErrorCode, message: string, details: { report?: MisuseReport; leaks?: LeakedBlockInfo[]; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RallocError";
    this.code = code;
    this.report = details.report;
    this.leaks = details.leaks;
  }
}

/** The error for a call the allocator does not export (`E_UNSUPPORTED`). */
export function notExported(name: string): RallocError {
  return new RallocError("E_UNSUPPORTED", `this allocator does not export ${name}`);
}

/** errno ENOSYS on wasi: what the ralloc_init stand-in given to a custom allocator without one returns. */
export const ENOSYS = 52;
