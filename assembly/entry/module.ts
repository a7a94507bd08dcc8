// module.ts — the export list of every ralloc-wasm build (build/<target>.wasm) but tiny (tiny.ts,
// its own entry).
import { MODULE } from "../base/config";

// An allocator module shares its memory with a program and serves it through the host hooks;
// built without the MODULE knob it would be a library, growing through AssemblyScript's runtime.
if (!MODULE) ERROR("assembly/entry/module.ts builds an allocator module: compile it with --use RALLOC_MODULE=1 (asconfig.json's targets do)");

export {
  malloc, free, realloc, calloc, aligned_alloc, posix_memalign, memalign, malloc_usable_size,
  sbrk, ralloc_init, ralloc_check, ralloc_stats,
} from "./cabi";
export {
  ralloc_alloc, ralloc_try_alloc, ralloc_inplace_realloc, ralloc_dealloc, ralloc_donate,
  ralloc_trim, ralloc_heap_over, ralloc_heap_new, ralloc_heap_alloc, ralloc_heap_free,
  ralloc_heap_realloc, ralloc_heap_usable_size, ralloc_heap_destroy, ralloc_heap_check,
  ralloc_heap_stats,
} from "./api";
export { ralloc_set_log_level, ralloc_seed } from "./api";
export {
  ralloc_walk, ralloc_block_info, ralloc_block_request, ralloc_block_serial, ralloc_span_next,
  ralloc_span_end, ralloc_layout, ralloc_assert_no_leak,
} from "../inspect/walk";
