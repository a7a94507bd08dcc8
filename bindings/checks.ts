/**
 * Argument checks shared by the bindings: integers in range (u32, i32, memory
 * pages), functions, and `describe`, which names a wrong value in an error
 * message. Every file that checks an argument uses these, so a value is named
 * the same way in every message, and every bad argument or option is a
 * RallocError `E_BAD_OPTION`.
 *
 * @module
 */

import { RallocError } from "./errors.js";

/** Largest number of 64 KiB pages a wasm32 memory can have. */
export const MAX_PAGES = 65536;

/** Names a value for an error message: strings quoted, bigints with `n`, objects by their class. O(1). */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "object";
  return String(value);
}

/** Whether value is an integer number from min to max. O(1). */
export function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** Returns value when it is an integer from 0 to 2^32 - 1, else throws E_BAD_OPTION naming `what`. O(1). */
export function checkU32(value: unknown, what: string): number {
  if (!isIntIn(value, 0, 0xffffffff)) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer from 0 to 4294967295, got ${describe(value)}`);
  }
  return value;
}

/** Returns value when it is an integer from -2^31 to 2^31 - 1, else throws E_BAD_OPTION naming `what`. O(1). */
export function checkI32(value: unknown, what: string): number {
  if (!isIntIn(value, -0x80000000, 0x7fffffff)) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer from -2147483648 to 2147483647, got ${describe(value)}`);
  }
  return value;
}

/** Returns value when it is a function (or undefined, when `optional`), else throws E_BAD_OPTION naming `what`. O(1). */
export function checkFunction(value: unknown, what: string, optional = false): void {
  if (typeof value !== "function" && !(optional && value === undefined)) {
    throw new RallocError("E_BAD_OPTION", `${what} must be a function${optional ? " or undefined" : ""}, got ${describe(value)}`);
  }
}

/** Returns value when it is a page count from 0 to {@link MAX_PAGES}, else throws E_BAD_OPTION naming `what`. O(1). */
export function checkPages(value: unknown, what: string): number {
  if (!isIntIn(value, 0, MAX_PAGES)) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number of 64 KiB pages from 0 to ${MAX_PAGES}, got ${describe(value)}`);
  }
  return value;
}
