// as-pect: the core concepts of ralloc-wasm (assembly/) tested over fixed arenas.
export default {
  entries: ["tests/assembly/**/*.spec.ts"],
  include: ["tests/assembly/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    // The specs build ralloc-wasm as a library (no RALLOC_MODULE knob): it imports no host hook.
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
