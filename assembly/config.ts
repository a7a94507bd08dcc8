// config.ts — every tunable of ralloc-wasm, in one place.
//
// Each knob is a compile-time constant. Override one with `asc ... --use RALLOC_<NAME>=<value>`
// (or in asconfig.json's "use" list); the README's "Knobs" table lists them with their defaults.
// Build flavours (debug, security) are knobs too, set by the asconfig targets.

/** Largest request (bytes) served by the small-object quick lists; 0 turns them off. */
// @ts-ignore: compile-time constant from --use
export const SMALL_MAX: usize = isDefined(RALLOC_SMALL_MAX) ? RALLOC_SMALL_MAX : 1024;

/** Most bytes the quick lists may cache; past it, frees go straight to the general heap. */
// @ts-ignore: compile-time constant from --use
export const QUICK_LIMIT: usize = isDefined(RALLOC_QUICK_LIMIT) ? RALLOC_QUICK_LIMIT : 262144;

/** Growth: each memory.grow adds at least (heap size >> GROW_SHIFT); 0 doubles, 1 adds half. */
// @ts-ignore: compile-time constant from --use
export const GROW_SHIFT: u32 = isDefined(RALLOC_GROW_SHIFT) ? RALLOC_GROW_SHIFT : 1;

/** Growth: each memory.grow adds at least this many 64 KiB pages. */
// @ts-ignore: compile-time constant from --use
export const GROW_MIN_PAGES: u32 = isDefined(RALLOC_GROW_MIN_PAGES) ? RALLOC_GROW_MIN_PAGES : 1;

/** Automatic trimming: when a free leaves a free block of at least this many bytes at the top
 *  of the global heap, it goes back to the break (as ralloc_trim does). 0 turns it off. */
// @ts-ignore: compile-time constant from --use
export const MEMTRIM_LIMIT: usize = isDefined(RALLOC_MEMTRIM_LIMIT) ? RALLOC_MEMTRIM_LIMIT : 0;

/** Debug build. Today it only makes partial frees always locate their block by walking; the
 *  exact misuse checks and messages of the debug issue build on it. */
// @ts-ignore: compile-time constant from --use
export const DEBUG: bool = isDefined(RALLOC_DEBUG) ? RALLOC_DEBUG != 0 : false;

/** Security build: whatever is freed is zeroed (free, a realloc that shrinks, a partial free);
 *  keyed headers and canaries arrive with the security issue. */
// @ts-ignore: compile-time constant from --use
export const SECURITY: bool = isDefined(RALLOC_SECURITY) ? RALLOC_SECURITY != 0 : false;
