// report.ts — how the guarded builds (debug, validate, security) stop on a misuse: they name
// the mistake with a code and the operation under way (base/abi.ts lists both), tell the host
// through the `ralloc_hooks.report` hook, which formats the one-line message
// (bindings/messages.ts) and normally throws, and trap if it returns (a library built without
// the HOOKS knob aborts instead). Release builds never come here: they ignore what they cannot
// use. Naming the mistake exactly is inspect/classify.ts's job.

import { FREE, CACHED } from "../base/block";
import { HOOKS } from "../base/config";
import { hookReport } from "../platform/hooks";

/** The operation under way, for reports made deep inside it (a broken free list). */
let opNow: u32 = 7; // OP_MALLOC, written as a literal: an imported constant here would need a start function

/** Records the operation under way (guarded builds). O(1). */
@inline export function noteOp(op: u32): void {
  opNow = op;
}

/** The operation under way. O(1). */
export function currentOp(): u32 {
  return opNow;
}

/** A tombstone: the header a guarded build leaves on a block absorbed by a merge (size | FREE |
 *  CACHED, a pair no real block carries), so freeing it again is still a double free. O(1). */
@inline export function tombstone(s: usize): u32 {
  return <u32>s | FREE | CACHED;
}

/** Tells the host about a misuse and stops (without the hooks: aborts, saying how to get the
 *  message). Never returns. */
export function report(code: u32, op: u32, addr: usize, size: usize, aux: usize): void {
  if (HOOKS) hookReport(code, op, <u32>addr, <u32>size, <u32>aux);
  else abort("ralloc-wasm: heap misuse; compile with --use RALLOC_HOOKS=1 and give ralloc_hooks.report for its exact message");
  unreachable();
}
