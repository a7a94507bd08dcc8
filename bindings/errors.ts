/**
 * Errors raised by the ralloc-wasm bindings.
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
 * - `E_BAD_OPTION`: an option has a wrong type or value.
 * - `E_NO_BUILD`: the requested allocator build is missing on disk.
 * - `E_TOOL`: an external tool (wasm-merge, binaryen) failed.
 * - `E_EXPORT_CONFLICT`: an export name is already taken.
 * - `E_UNSUPPORTED`: the allocator does not export the call asked for.
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
  | "E_UNSUPPORTED";

/** An error with a stable {@link RallocErrorCode} and a message that says what to do. */
export class RallocError extends Error {
  /** The reason, stable across versions. */
  readonly code: RallocErrorCode;

  constructor(code: RallocErrorCode, message: string) {
    super(message);
    this.name = "RallocError";
    this.code = code;
  }
}
