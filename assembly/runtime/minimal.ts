// minimal.ts — AssemblyScript's minimal runtime with ralloc-wasm as its memory manager:
//   asc app.ts --runtime ./node_modules/ralloc-wasm/assembly/runtime/minimal
// The collector is AssemblyScript's own two-color mark and sweep that runs only when the host
// calls __collect (~lib/rt/tcms), taken from the installed compiler; __alloc, __realloc and
// __free are ralloc-wasm's (runtime/manager.ts), zeroing what they hand out. Imported by the
// package's name, so the program's own "ralloc-wasm/assembly" is the same heap.

// @ts-ignore: decorator
@global const RALLOC_RUNTIME: u32 = 1; // base/config.ts's RUNTIME_MINIMAL
import "ralloc-wasm/assembly/runtime/manager";
import "~lib/rt/tcms";
