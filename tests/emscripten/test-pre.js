// Test hooks for tests/emscripten.test.js, passed to emcc with --pre-js beside
// bindings/emscripten/pre.js: the build comes from RALLOC_BUILD, and at exit what the heap saw
// goes to the file RALLOC_REPORT (JSON), so a test can tell that ralloc-wasm served the program.
Module['ralloc'] = { build: process.env.RALLOC_BUILD || 'release' };
process.on('exit', function () {
  var heap = Module['rallocHeap'];
  if (!process.env.RALLOC_REPORT || !heap) return;
  var s = heap.stats();
  require('fs').writeFileSync(process.env.RALLOC_REPORT, JSON.stringify({
    label: heap.label, check: heap.check(), mallocCalls: Number(s.mallocCalls), freeCalls: Number(s.freeCalls), liveBlocks: s.liveBlocks,
  }));
});
