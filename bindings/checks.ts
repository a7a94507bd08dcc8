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

/**
 * Every option name of an options type T, as a list: the object literal must name each key
 * of T once and nothing else (the compiler checks it), so the list cannot drift from T. O(keys).
 */
export function optionNames<T>(names: Record<keyof T & string, true>): readonly string[] {
  return Object.keys(names);
}

/** Edits (insertions, deletions, substitutions; case ignored) that turn a into b. O(|a| · |b|). */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Whether the letters of a appear in b in order (case ignored). O(|a| + |b|). */
function isSubsequence(a: string, b: string): boolean {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let i = 0;
  for (let j = 0; j < b.length && i < a.length; j++) if (a[i] === b[j]) i++;
  return i === a.length;
}

/**
 * The name of `valid` nearest to `name` (fewest edits, the first on a tie), when it is near
 * enough to be what was meant: at most a third of the letters wrong (two for short names), or
 * the letters of one inside the other in order (`depth` and `stackDepth`, `maxPages` and
 * `maximumPages`). O(valid · name²).
 */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const v of valid) {
    const inside = Math.min(name.length, v.length) >= 4 && (isSubsequence(name, v) || isSubsequence(v, name));
    const d = Math.min(editDistance(name, v), inside ? 2 : Infinity);
    if (d < bestDistance) {
      best = v;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Throws E_BAD_OPTION for the first key of `options` that `valid` does not list, naming the
 * valid option nearest it and the others, so a misspelled option is never silently ignored.
 * `who` starts the message (`createHeap`). O(keys · valid · name²).
 */
export function checkOptionNames(options: object, valid: readonly string[], who: string): void {
  for (const key of Object.keys(options)) {
    if (valid.includes(key)) continue;
    const near = nearestName(key, valid);
    throw new RallocError("E_BAD_OPTION",
      `${who}: unknown option ${JSON.stringify(key)}; ${near === undefined ? "" : `did you mean ${near}? `}its options are ${valid.join(", ")}`);
  }
}

/** Returns value when it is a page count from 0 to {@link MAX_PAGES}, else throws E_BAD_OPTION naming `what`. O(1). */
export function checkPages(value: unknown, what: string): number {
  if (!isIntIn(value, 0, MAX_PAGES)) {
    throw new RallocError("E_BAD_OPTION", `${what} must be an integer number of 64 KiB pages from 0 to ${MAX_PAGES}, got ${describe(value)}`);
  }
  return value;
}
