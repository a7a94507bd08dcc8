// module.ts — the export list of every ralloc-wasm build (build/<target>.wasm).
export {
  malloc, free, realloc, calloc, aligned_alloc, posix_memalign, memalign, malloc_usable_size,
  sbrk, ralloc_init, ralloc_check, ralloc_stats,
} from "./cabi";
