// ralloc-wasm as the malloc of an Emscripten program: pass this file to emcc with --pre-js, and
// build with -sMALLOC=none -sIMPORTED_MEMORY -sERROR_ON_UNDEFINED_SYMBOLS=0
// -Wl,--export=__heap_base (docs/EMSCRIPTEN.md). It sets Module.instantiateWasm, Emscripten's
// hook for instantiating the program itself, to ralloc-wasm's instantiateEmscripten: the program
// gets the allocator's exports as its malloc family (or keeps the allocator `ralloc-wasm link`
// merged into it). Options go in Module.ralloc before the glue runs: build ('release' by
// default), allocator, onOom, seed, logLevel, onLog, track, and bindings (the imported
// 'ralloc-wasm' module, where `import('ralloc-wasm')` cannot find the package, as in a page
// without an import map). Afterwards Module.rallocHeap is the Heap (stats, walk, heapMap),
// Module.rallocTracker the tracker (option track), and Module._malloc / Module._free call the
// allocator. This code runs inside the glue, so it reaches the glue's own variables.
Module['instantiateWasm'] = function (imports, receiveInstance) {
  var options = Module['ralloc'] || {};
  // the glue's function that remakes HEAP8 ... HEAPF64 (named so up to Emscripten 3.1.26, then updateMemoryViews)
  function rallocUpdateViews() {
    if (typeof updateMemoryViews == 'function') updateMemoryViews();
    else updateGlobalBufferAndViews(wasmMemory.buffer);
  }
  var bindings = options['bindings'] ? Promise.resolve(options['bindings']) : import('ralloc-wasm');
  var wasm = Module['wasmBinary'] ? Promise.resolve(Module['wasmBinary']) : getBinaryPromise(wasmBinaryFile);
  Promise.all([bindings, wasm]).then(function (loaded) {
    var settings = Object.assign({}, options, { updateViews: rallocUpdateViews });
    delete settings['bindings'];
    return loaded[0].instantiateEmscripten(loaded[1], imports, settings);
  }).then(function (r) {
    Module['rallocHeap'] = r.heap;
    Module['rallocTracker'] = r.tracker;
    Module['_malloc'] = r.malloc;
    Module['_free'] = r.free;
    // the glue's own calls to malloc and free (with -sMALLOC=none they are stubs that abort)
    if (typeof _malloc == 'function') _malloc = r.malloc;
    if (typeof _free == 'function') _free = r.free;
    receiveInstance(r.instance);
  }, function (e) {
    err('ralloc-wasm: ' + (e && e.message ? e.message : e));
    abort(e);
  });
  return {};
};
