// Code-size budgets of issue 3, measured as the benchmark measures them (bench/lib/codesize.js):
// the malloc family (malloc, free, realloc, calloc, ralloc_init: what a statically linked C
// program keeps) after wasm-opt -Oz, in bytes of the code section. A change that grows a
// build past its budget fails here, not only in a benchmark table nobody reads.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { buildPath } from './lib/instance.js';
import { keepExports, wasmOptCli, codeBytes } from '../bench/lib/toolchain.js';

const FAMILY = ['malloc', 'free', 'realloc', 'calloc', 'ralloc_init'];
/** Budget per build, bytes of code: the targets of issue 3 (talc 1,663, AS TLSF 1,847 and
 *  dlmalloc 11,090 measured by the benchmark, for scale). */
const BUDGETS = { tiny: 1600, release: 8192 };

describe('code size of the malloc family after wasm-opt -Oz', () => {
  for (const [build, budget] of Object.entries(BUDGETS)) {
    it(`${build}: at most ${budget.toLocaleString('en-US')} bytes`, { skip: !existsSync(buildPath(build)) && `missing build/${build}.wasm` }, async () => {
      const bytes = new Uint8Array(readFileSync(buildPath(build)));
      const family = codeBytes(await wasmOptCli(await keepExports(bytes, FAMILY), ['-Oz']));
      assert.ok(family <= budget, `${build}'s malloc family is ${family} bytes of code, over its budget of ${budget}`);
    });
  }
});
