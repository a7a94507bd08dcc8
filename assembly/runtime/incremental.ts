// incremental.ts — AssemblyScript's incremental runtime with ralloc-wasm as its memory manager:
//   asc app.ts --runtime ./node_modules/ralloc-wasm/assembly/runtime/incremental
// The collector is AssemblyScript's own incremental tri-color mark and sweep (~lib/rt/itcms),
// taken from the installed compiler; __alloc, __realloc and __free are ralloc-wasm's
// (runtime/manager.ts) in place of its TLSF. Imported by the package's name, so the program's
// own "ralloc-wasm/assembly" is the same heap.

// @ts-ignore: decorator
@global const RALLOC_RUNTIME: u32 = 2; // base/config.ts's RUNTIME_INCREMENTAL
import "ralloc-wasm/assembly/runtime/manager";
import "~lib/rt/itcms";
