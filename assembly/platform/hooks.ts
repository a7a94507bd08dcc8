// hooks.ts — the host hooks: optional imports from module "ralloc_hooks". A build imports only
// the hooks it calls (the release build: oom alone; tiny: none), and only with the HOOKS knob
// (base/config.ts: on in the allocator modules, off by default in a module that imports
// ralloc-wasm/assembly). A host may supply no-ops, or functions returning 0; the JS bindings
// supply them all.
//   oom(size) -> i32                      memory cannot meet `size` bytes; nonzero: retry once
//   report(code, op, addr, size, aux)     a misuse (guarded builds; base/abi.ts lists the codes);
//                                         the host formats the message and throws, and the
//                                         module traps if it returns
//   event(kind, a, b, c, d)               a log or debugger event (base/abi.ts lists the kinds),
//                                         sent only at the level the host asked for
//   entropy(ptr, len) -> i32              the security build, once, unless ralloc_seed came
//                                         first: fill len random bytes at ptr and return nonzero
//                                         (a WASI host's random_get does it); 0 refuses, and the
//                                         build then stops rather than use a public key

/** Host hook: memory ran out for a request of `size` bytes; nonzero asks for one retry. */
// @ts-ignore: decorator
@external("ralloc_hooks", "oom")
export declare function hookOom(size: usize): i32;

/** Host hook: a misuse; the host throws (the module traps if it returns). */
// @ts-ignore: decorator
@external("ralloc_hooks", "report")
export declare function hookReport(code: u32, op: u32, addr: u32, size: u32, aux: u32): void;

/** Host hook: an event of the log or the debugger. */
// @ts-ignore: decorator
@external("ralloc_hooks", "event")
export declare function hookEvent(kind: u32, a: u32, b: u32, c: u32, d: u32): void;

/** Host hook: fill len random bytes at ptr; nonzero when it did. */
// @ts-ignore: decorator
@external("ralloc_hooks", "entropy")
export declare function hookEntropy(ptr: usize, len: usize): i32;
