// event.ts — events for the host: ralloc's log lines and the debugger's allocation hooks.
//
// Each operation may tell the host what it did through the `ralloc_hooks.event` hook
// (platform/hooks.ts); base/abi.ts lists the kinds and their arguments. The LOG knob
// (base/config.ts) is the highest level compiled in: at 0 (release, small, security, and any
// build without the HOOKS knob) none of this exists in the module, not even the import. The host picks the level it wants at run time
// (ralloc_set_log_level). An event is sent once its operation is complete, so the host may walk
// the heap from inside the hook. The host formats the lines (bindings/log.ts).

import { LOG } from "../base/config";
import { hookEvent } from "../platform/hooks";

/** The level of events the host asked for (0: none). Per instance. */
let level: u32 = 0;

/** Sets the run-time event level; returns the highest level compiled in. O(1). */
export function setEventLevel(l: u32): u32 {
  level = min<u32>(l, LOG);
  return LOG;
}

/** Whether the host wants operation events (level 2), so their arguments are worth finding. O(1). */
@inline export function eventsOn(): bool {
  return LOG >= 2 && level >= 2;
}

/** Sends an operation event (level 2) when the host asked for it. O(1) plus the host's work. */
@inline export function opEvent(kind: u32, a: usize, b: usize, c: usize, d: usize): void {
  if (LOG >= 2) {
    if (level >= 2) hookEvent(kind, <u32>a, <u32>b, <u32>c, <u32>d);
  }
}

/** Sends a pool event (level 3) when the host asked for it. O(1) plus the host's work. */
@inline export function poolEvent(kind: u32, a: usize, b: usize, c: usize): void {
  if (LOG >= 3) {
    if (level >= 3) hookEvent(kind, <u32>a, <u32>b, <u32>c, 0);
  }
}
