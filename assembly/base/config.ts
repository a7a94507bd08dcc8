// config.ts — every tunable of ralloc-wasm, in one place.
//
// Each knob is a compile-time constant. Override one with `asc ... --use RALLOC_<NAME>=<value>`
// (or in asconfig.json's "use" list); docs/BUILDS.md lists them with their defaults.
// Build flavours (debug, security) are knobs too, set by the asconfig targets.

/** Largest request (bytes) served by the small-object paths (pages, quick lists); 0 turns them
 *  off. 512 by default as AssemblyScript's memory manager (RALLOC_RUNTIME, below): a page per
 *  size class up to 1 KiB held 75% more memory than TLSF on string building (docs/ASRUNTIME.md). */
// @ts-ignore: compile-time constant from --use
export const SMALL_MAX: usize = isDefined(RALLOC_SMALL_MAX) ? RALLOC_SMALL_MAX : isDefined(RALLOC_RUNTIME) ? 512 : 1024;

/** Requests a class without pages makes before it gets its first page (small/page.ts
 *  pageWanted; at most 255): until then a general block serves each, as a class used for a
 *  handful of objects would hold a whole page for them. The counts start again whenever memory
 *  runs out, so a class that asked for a few objects over the heap's life gets no page then. */
// @ts-ignore: compile-time constant from --use
export const PAGE_ASKS: u32 = isDefined(RALLOC_PAGE_ASKS) ? min<u32>(RALLOC_PAGE_ASKS, 255) : 16;

/** Most bytes the quick lists may cache; past it, frees go straight to the general heap. */
// @ts-ignore: compile-time constant from --use
export const QUICK_LIMIT: usize = isDefined(RALLOC_QUICK_LIMIT) ? RALLOC_QUICK_LIMIT : 262144;

/** Growth: each memory.grow adds at least (heap size >> GROW_SHIFT) while the heap is smaller
 *  than GROW_LARGE_PAGES; 0 doubles, 1 adds half. 2 (a quarter) by default as AssemblyScript's
 *  memory manager: doubling or adding half overshot TLSF's memory by a wasm page on string
 *  building and map churn (docs/ASRUNTIME.md). */
// @ts-ignore: compile-time constant from --use
export const GROW_SHIFT: u32 = isDefined(RALLOC_GROW_SHIFT) ? RALLOC_GROW_SHIFT : isDefined(RALLOC_RUNTIME) ? 2 : 1;

/** Growth of a large heap (GROW_LARGE_PAGES or more): at least (heap size >> GROW_SHIFT_LARGE),
 *  so the last step overshoots the need by at most that fraction (3: an eighth). */
// @ts-ignore: compile-time constant from --use
export const GROW_SHIFT_LARGE: u32 = isDefined(RALLOC_GROW_SHIFT_LARGE) ? RALLOC_GROW_SHIFT_LARGE : 3;

/** The heap size (64 KiB pages) from which growth steps are GROW_SHIFT_LARGE's. */
// @ts-ignore: compile-time constant from --use
export const GROW_LARGE_PAGES: u32 = isDefined(RALLOC_GROW_LARGE_PAGES) ? RALLOC_GROW_LARGE_PAGES : 16;

/** Growth: each memory.grow adds at least this many 64 KiB pages. */
// @ts-ignore: compile-time constant from --use
export const GROW_MIN_PAGES: u32 = isDefined(RALLOC_GROW_MIN_PAGES) ? RALLOC_GROW_MIN_PAGES : 1;

/** Automatic trimming: when a free leaves a free block of at least this many bytes at the top
 *  of the global heap, it goes back to the break (as ralloc_trim does). 0 turns it off. */
// @ts-ignore: compile-time constant from --use
export const MEMTRIM_LIMIT: usize = isDefined(RALLOC_MEMTRIM_LIMIT) ? RALLOC_MEMTRIM_LIMIT : 0;

/** Debug build: guarded blocks (diag/guard.ts), exact misuse checks that stop with one message
 *  (diag/report.ts), tombstones for merged blocks, ralloc_check() stopping on the first failure. */
// @ts-ignore: compile-time constant from --use
export const DEBUG: bool = isDefined(RALLOC_DEBUG) ? RALLOC_DEBUG != 0 : false;

/** Security build: guarded blocks whose check words are keyed by the host's seed, the same
 *  misuse checks as debug, whatever is freed is zeroed and every allocation reads zero. */
// @ts-ignore: compile-time constant from --use
export const SECURITY: bool = isDefined(RALLOC_SECURITY) ? RALLOC_SECURITY != 0 : false;

/** Memory-validating variant of the debug build: the heap walker runs after every operation. */
// @ts-ignore: compile-time constant from --use
export const VALIDATE: bool = isDefined(RALLOC_VALIDATE) ? RALLOC_VALIDATE != 0 : false;

/** Whether blocks carry a canary and a trailer and misuse stops the program (debug, security). */
export const GUARDED: bool = DEBUG || SECURITY || VALIDATE;

/** Whether small requests live in headerless size-class pages (small/page.ts): the release build.
 *  Guarded builds keep a header (and a guard) on every block and use the quick lists instead;
 *  `small` (SMALL_MAX 0) has neither. RALLOC_PAGES=0 gives release the quick lists too (the
 *  as-pect specs of the quick lists build so). */
// @ts-ignore: compile-time constant from --use (RALLOC_PAGES=0: quick lists instead, as guarded)
export const PAGES: bool = !GUARDED && SMALL_MAX > 0 && (isDefined(RALLOC_PAGES) ? RALLOC_PAGES != 0 : true);

/** The small build (no small-object path, SMALL_MAX 0): where speed and code size pull apart,
 *  it takes the shorter code (merges always re-list the merged block; one scan of a list). */
export const COMPACT: bool = SMALL_MAX == 0;

/** Canary bytes at least after each block's requested bytes, in guarded builds. */
// @ts-ignore: compile-time constant from --use
export const CANARY: usize = isDefined(RALLOC_CANARY) ? RALLOC_CANARY : 4;

/** Built as one of ralloc-wasm's allocator modules (build/<target>.wasm: asconfig.json's targets
 *  set it): the module imports its host hooks, and nothing else allocates in its memory. Off, the
 *  default, in a module that imports `ralloc-wasm/assembly`: no hook is imported, and the heap
 *  shares memory with AssemblyScript's runtime (heaps/global.ts, platform/shim.ts). */
// @ts-ignore: compile-time constant from --use
export const MODULE: bool = isDefined(RALLOC_MODULE) ? RALLOC_MODULE != 0 : false;

/** Whether the host hooks (platform/hooks.ts: oom, report, event, entropy) are imported from
 *  `ralloc_hooks`. On in the allocator modules; a library user turns them on with
 *  `--use RALLOC_HOOKS=1` (for the exact misuse messages). Off: out of memory asks only the
 *  AssemblyScript handler, a misuse aborts, no event is sent, the security key needs a seed. */
// @ts-ignore: compile-time constant from --use
export const HOOKS: bool = isDefined(RALLOC_HOOKS) ? RALLOC_HOOKS != 0 : MODULE;

/** Threads build (asconfig's `threads` target, with a shared memory and atomics): each instance
 *  (thread) allocates from a heap of its own; a global part in shared memory, behind a lock that
 *  waits (platform/lock.ts), hands out and takes back spans (heaps/hub.ts); a block freed by
 *  another thread goes back to its owner (heaps/thread.ts). docs/THREADS.md. Off elsewhere, where
 *  every piece of it compiles away. */
// @ts-ignore: compile-time constant from --use
export const THREADS: bool = isDefined(RALLOC_THREADS) ? RALLOC_THREADS != 0 : false;
if (THREADS && (DEBUG || SECURITY || VALIDATE)) ERROR("RALLOC_THREADS builds on release's engine: it cannot be combined with RALLOC_DEBUG, RALLOC_SECURITY or RALLOC_VALIDATE");

/** Threads build: requests of at least this many bytes are blocks of the global part, taken
 *  under the lock, rather than blocks of the thread's heap (which would hold their memory after
 *  they are freed). */
// @ts-ignore: compile-time constant from --use
export const THREAD_LARGE: usize = isDefined(RALLOC_THREAD_LARGE) ? RALLOC_THREAD_LARGE : 262144;

/** Threads build: a thread heap grows by chunks of the global part that double with it, up to
 *  this many bytes each (a larger request still gets a chunk its size), so a thread claims at
 *  most about this much more than it needs. */
// @ts-ignore: compile-time constant from --use
export const THREAD_CHUNK: usize = isDefined(RALLOC_THREAD_CHUNK) ? RALLOC_THREAD_CHUNK : 4194304;

/** Highest event level compiled in (0 none, 1 errors, 2 every operation, 3 pool events). The
 *  host picks what it receives at run time (ralloc_set_log_level); the debug build has 3.
 *  Without the hooks there is no one to send events to: 0. */
// @ts-ignore: compile-time constant from --use
export const LOG: u32 = HOOKS && isDefined(RALLOC_LOG) ? RALLOC_LOG : 0;

/** Whether ralloc-wasm is AssemblyScript's memory manager, and under which collector: set only
 *  by the runtime files (`asc --runtime …/assembly/runtime/incremental`, `…/minimal`), which
 *  declare RALLOC_RUNTIME as a global; never by --use. Then the runtime's __alloc, __realloc
 *  and __free are ralloc-wasm's (runtime/manager.ts), no other allocator shares memory, and the
 *  heap starts at __heap_base (platform/shim.ts). 0: not the runtime (an allocator module, or
 *  the library beside AssemblyScript's own TLSF); RUNTIME_MINIMAL: under the collector that
 *  leaves new memory as it is (~lib/rt/tcms); RUNTIME_INCREMENTAL: under the one that zeroes
 *  it (~lib/rt/itcms). */
// @ts-ignore: a global declared by the runtime files
export const RUNTIME: u32 = isDefined(RALLOC_RUNTIME) ? RALLOC_RUNTIME : 0;
export const RUNTIME_MINIMAL: u32 = 1;
export const RUNTIME_INCREMENTAL: u32 = 2;
