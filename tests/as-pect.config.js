// as-pect: the core concepts of ralloc-wasm (assembly/) tested over fixed arenas.
export default {
  entries: ["tests/assembly/**/*.spec.ts"],
  include: ["tests/assembly/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    // ralloc-wasm's optional host hooks: the default OOM answer is "do not retry".
    return instantiate(binary, createImports({ env: { memory }, ralloc_hooks: { oom: () => 0 } }));
  },
  outputBinary: false,
};
