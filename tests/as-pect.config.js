// as-pect: the core concepts of ralloc-wasm (assembly/) tested over fixed arenas, one spec file per
// source file, compiled as the release build ships (tests/as-pect.asconfig.json: the default knobs,
// so small requests live in size-class pages). The specs of what only the guarded builds have
// (small/quick.ts's quick lists, diag/guard.ts's guards, misuse reports) are in
// tests/assembly/guarded/ and run under tests/as-pect.guarded.config.js, compiled with the debug
// build's knobs. `npm run test:as` runs both.

/** The last misuse the module reported through ralloc_hooks.report, and how many it reported. */
const reports = { last: [0, 0, 0, 0, 0], count: 0 };

/** The hooks both configurations give the test module (each build imports only what it calls). */
export function hostImports() {
  return {
    ralloc_hooks: {
      // the default OOM answer: do not retry
      oom: () => 0,
      // a misuse (guarded builds): recorded, then thrown, as the JS bindings do, so that a spec's
      // expect(fn).toThrow() sees it and ralloc_test.last_report tells which it was
      report(code, op, addr, size, aux) {
        reports.last = [code, op, addr, size, aux].map((x) => x >>> 0);
        reports.count++;
        throw new Error(`ralloc report: code ${code}, op ${op}, at 0x${(addr >>> 0).toString(16)}, size ${size >>> 0}, aux ${aux >>> 0}`);
      },
      event: () => {},
    },
    ralloc_test: {
      // field 0..4: code, op, addr, size, aux of the last report; 5: reports so far
      last_report: (field) => (field < 5 ? reports.last[field] : reports.count),
    },
  };
}

export default {
  entries: ["tests/assembly/*.spec.ts"],
  include: ["tests/assembly/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    // The specs build ralloc-wasm as a library (no RALLOC_MODULE knob): it imports a host hook
    // only where a configuration sets RALLOC_HOOKS (the guarded one does, for its reports).
    return instantiate(binary, createImports({ env: { memory }, ...hostImports() }));
  },
  outputBinary: false,
};
