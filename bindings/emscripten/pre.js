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
// allocator. This code runs inside the glue, so it reaches the glue's own variables. A program
// built with -pthread (a shared memory) gets the threads build, in its main thread and, through
// rallocPthread below, in each pthread's worker (Node only; docs/THREADS.md).
// A pthread's worker (Emscripten's prog.worker.js, -pthread) instantiates the program itself,
// synchronously, and its hook (and Module.ENVIRONMENT_IS_PTHREAD, which the glue's variable of
// that name reads after this runs) is set before this runs: there, rallocPthread puts the threads
// build in front of that hook instead (Node only: it reads build/threads.wasm from the package).
if (Module['ENVIRONMENT_IS_PTHREAD']) rallocPthread(Module['instantiateWasm']);
else Module['instantiateWasm'] = function (imports, receiveInstance) {
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
    // a program built with -pthread shares its memory: the threads build serves it
    if (!settings['build'] && !settings['allocator'] && typeof SharedArrayBuffer != 'undefined' && wasmMemory.buffer instanceof SharedArrayBuffer) settings['build'] = 'threads';
    return loaded[0].instantiateEmscripten(loaded[1], imports, settings);
  }).then(function (r) {
    Module['rallocHeap'] = r.heap;
    Module['rallocTracker'] = r.tracker;
    Module['_malloc'] = r.malloc;
    Module['_free'] = r.free;
    // the glue's own calls to malloc and free (with -sMALLOC=none they are stubs that abort)
    if (typeof _malloc == 'function') _malloc = r.malloc;
    if (typeof _free == 'function') _free = r.free;
    receiveInstance(r.instance, r.module); // (the module: a -pthread program posts it to its workers)
  }, function (e) {
    err('ralloc-wasm: ' + (e && e.message ? e.message : e));
    abort(e);
  });
  return {};
};

// In a pthread's worker: an instance of the threads build over the program's shared memory
// serves this thread's malloc family; it attaches to the heap the main thread's instance made,
// at the program's __heap_base, once the worker's own hook has instantiated the program.
function rallocPthread(workerInstantiate) {
  Module['instantiateWasm'] = function (imports, receiveInstance) {
    var fs = require('fs');
    var bytes = fs.readFileSync(require.resolve('ralloc-wasm/build/threads.wasm'));
    var alloc = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: wasmMemory },
      ralloc_hooks: { oom: function () { return 0; } },
    }).exports;
    var aliases = {
      emscripten_builtin_malloc: 'malloc', emscripten_builtin_free: 'free', emscripten_builtin_memalign: 'memalign',
      __libc_malloc: 'malloc', __libc_free: 'free', __libc_calloc: 'calloc', __libc_realloc: 'realloc',
    };
    var env = imports['env'];
    for (var name in env) {
      var target = Object.prototype.hasOwnProperty.call(aliases, name) ? aliases[name] : name;
      if (typeof alloc[target] == 'function' && name != 'memory') env[name] = alloc[target];
    }
    Module['_malloc'] = alloc['malloc'];
    Module['_free'] = alloc['free'];
    if (typeof _malloc == 'function') _malloc = alloc['malloc'];
    if (typeof _free == 'function') _free = alloc['free'];
    return workerInstantiate(imports, function (instance, module) {
      alloc['ralloc_init'](Math.max(instance.exports['__heap_base'].value >>> 0, 128));
      receiveInstance(instance, module);
    });
  };
}
