// event.ts — events for the host: ralloc's log lines and the debugger's allocation hooks.
//
// Each operation may tell the host what it did through the `ralloc_hooks.event` import:
//   kind (level)  a            b            c          d
//   1 ALLOC   (2) p            n asked      align      serial
//   2 FREE    (2) p            n asked      serial
//   3 REALLOC (2) new p        new n        old p      old n      (new p == old p: in place)
//   4 DEALLOC (2) range start  length       block p               (a partial free)
//   5 GROW    (3) new memory   bytes        memory.grow calls so far
//   6 FLUSH   (3) bytes the quick lists gave back to the general lists
//   7 OOM     (3) n that memory could not meet, before the OOM handler is asked
//   8 TRIM    (3) bytes given back to the break
// The LOG knob (config.ts) is the highest level compiled in: at 0 (release, small, security)
// none of this exists in the module, not even the import. The host picks the level it wants at
// run time (ralloc_set_log_level). An event is sent once its operation is complete, so the host
// may walk the heap from inside the import. The host formats the lines (bindings/log.ts).

import { LOG } from "./config";

export const EV_ALLOC: u32 = 1;
export const EV_FREE: u32 = 2;
export const EV_REALLOC: u32 = 3;
export const EV_DEALLOC: u32 = 4;
export const EV_GROW: u32 = 5;
export const EV_FLUSH: u32 = 6;
export const EV_OOM: u32 = 7;
export const EV_TRIM: u32 = 8;

// @ts-ignore: decorator
@external("ralloc_hooks", "event")
declare function hostEvent(kind: u32, a: u32, b: u32, c: u32, d: u32): void;

/** The level of events the host asked for (0: none). Per instance. */
let level: u32 = 0;

/** Sets the run-time event level; returns the highest level compiled in. O(1). */
export function setEventLevel(l: u32): u32 {
  level = min<u32>(l, LOG);
  return LOG;
}

/** Whether the host wants operation events (level 2), so their arguments are worth finding. */
@inline export function eventsOn(): bool {
  return LOG >= 2 && level >= 2;
}

/** Sends an operation event (level 2) when the host asked for it. O(1) plus the host's work. */
@inline export function opEvent(kind: u32, a: usize, b: usize, c: usize, d: usize): void {
  if (LOG >= 2) {
    if (level >= 2) hostEvent(kind, <u32>a, <u32>b, <u32>c, <u32>d);
  }
}

/** Sends a pool event (level 3) when the host asked for it. O(1) plus the host's work. */
@inline export function poolEvent(kind: u32, a: usize, b: usize, c: usize): void {
  if (LOG >= 3) {
    if (level >= 3) hostEvent(kind, <u32>a, <u32>b, <u32>c, 0);
  }
}
