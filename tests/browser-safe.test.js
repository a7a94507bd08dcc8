// The package's main entry is browser-safe: no module it loads imports a Node module, and the
// bindings' browser-safe checks (examples/browser/selftest.js, which the demo page runs in
// Chromium: tests/browser.test.js) pass in Node too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { ROOT, bindings } from './lib/dist.js';

const { CHECKS } = await import('../examples/browser/selftest.js');

/** The specifiers of a module's static imports and re-exports (not `import()` calls). */
function staticImports(source) {
  return [...source.matchAll(/^\s*(?:import|export)\s[^;'"]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]);
}

test('dist/bindings/index.js and every module it loads import nothing but each other', () => {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(readFileSync(`${ROOT}dist/bindings/${file}`, 'utf8'))) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `${file} imports ${spec}: a page without a bundler cannot load it`);
      visit(spec.slice(2));
    }
  };
  visit('index.js');
  assert.ok(seen.has('program.js') && seen.has('link.js') && seen.has('emscripten.js'), `the walk reached the Node-using files too (${[...seen]})`);
  // the check can fail: a Node module imported at the top is found
  assert.deepEqual(staticImports('import { readFileSync } from "node:fs";\nexport { x } from "./x.js";'), ['node:fs', './x.js']);
});

for (const c of CHECKS) {
  test(`browser-safe check, in Node: ${c.name}`, () => c.run(bindings));
}
