// library.ts -- ralloc-wasm/assembly in a module built for threads (tests/threads.test.js):
// --use RALLOC_THREADS=1 with a shared imported memory, one instance per worker, each calling
// ralloc_init with the same heap base first. It allocates no managed object (AssemblyScript's
// runtime keeps its state per instance), only raw blocks through the library.
import {
  malloc, free, ralloc_init, check, lock, unlock, lockedAlloc, lockedFree, setOomHandler, setThreadOomHandler, HeapLock,
  threadExit,
} from "../../assembly";

export { ralloc_init, check, threadExit };

/** This instance's (thread's) counts of the handlers' calls. */
let globalCalls: u32 = 0;
let ownCalls: u32 = 0;

/** A random walk of index's own: iters steps over 64 slots, each block filled with a pattern
 *  and checked before it is freed; every fourth block goes through `ring` (256 words at `ring`,
 *  shared by the workers) to whichever thread takes it out. Returns the blocks found changed. */
export function work(ring: usize, seed: u32, iters: i32, index: i32): u32 {
  let s = seed * 2654435761 + <u32>index;
  let slots = malloc(64 * 4);
  memory.fill(slots, 0, 64 * 4);
  let bad: u32 = 0;
  for (let k = 0; k < iters; k++) {
    s = s * 1103515245 + 12345;
    let r = s >> 8;
    let at = slots + ((r % 64) << 2);
    let p = <usize>load<u32>(at);
    if (p) {
      if (!intact(p)) bad++;
      if ((r >> 6) % 4 == 0) {
        let old = <usize>atomic.xchg<u32>(ring + (((r >> 8) % 256) << 2), <u32>p);
        if (old) {
          if (!intact(old)) bad++;
          free(old);
        }
      } else {
        free(p);
      }
    }
    let n = <usize>(8 + (r >> 10) % 3000);
    p = malloc(n);
    if (!p) return 0xFFFF;
    store<u32>(p, <u32>n);
    for (let i: usize = 4; i < n; i++) store<u8>(p + i, <u8>(p + i));
    store<u32>(at, <u32>p);
  }
  for (let i = 0; i < 64; i++) {
    let p = <usize>load<u32>(slots + (i << 2));
    if (p) {
      if (!intact(p)) bad++;
      free(p);
    }
  }
  free(slots);
  return bad;
}

/** Whether block p still holds its pattern. */
function intact(p: usize): bool {
  let n = <usize>load<u32>(p);
  for (let i: usize = 4; i < n; i++) if (load<u8>(p + i) != <u8>(p + i)) return false;
  return true;
}

/** Frees what is left in the ring (after every worker is done); returns how many. */
export function drain(ring: usize): u32 {
  let n: u32 = 0;
  for (let i: usize = 0; i < 256; i++) {
    let p = <usize>atomic.xchg<u32>(ring + (i << 2), 0);
    if (p) {
      free(p);
      n++;
    }
  }
  return n;
}

/** The lock lockAndAlloc took, for unlockNow. */
let held: HeapLock | null = null;

/** Lock reuse: takes the lock, makes `count` blocks of the global part under it (half through
 *  the handle lock() returns, half through lockedAlloc), frees them, and returns whether every
 *  one was had; the lock stays held until unlockNow. */
export function lockAndAlloc(count: i32): bool {
  let l = lock();
  held = l;
  let ok = true;
  for (let i = 0; i < count; i++) {
    let size = 100 + 1000 * <usize>i;
    let p = i & 1 ? l.alloc(size, 64) : lockedAlloc(size, 64);
    if (!p || (p & 63) != 0) ok = false;
    if (i & 1) l.free(p);
    else lockedFree(p);
  }
  return ok;
}

/** Gives the lock back through its handle: true when this thread held it. */
export function unlockNow(): bool {
  let l = held;
  held = null;
  return l ? l.release() : unlock();
}

/** Sets the global handler (any thread, once). */
export function setGlobalHandler(): void {
  setOomHandler((size: usize): bool => {
    globalCalls++;
    return false;
  });
}

/** Thread `index`: index 0 sets its own handler; then one request more than memory can hold.
 *  Returns the calls of the global handler here, and of this thread's own in the high half. */
export function oom(index: i32): u32 {
  if (index == 0) {
    setThreadOomHandler((size: usize): bool => {
      ownCalls++;
      return false;
    });
  }
  if (malloc(3 << 30)) return 0xFFFF_FFFF;
  return globalCalls | ownCalls << 16;
}
