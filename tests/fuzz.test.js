// Shadow-model fuzzer over random malloc / calloc / realloc / aligned_alloc / posix_memalign /
// memalign / free sequences, on every build, with fixed seeds. fast-check generates the scenarios
// (memory shape, heap base, size and op mixes, live-set target, PRNG seed); tests/lib/fuzz.js
// expands each into OPS_PER_SCENARIO operations and checks them against a shadow model: no overlap,
// alignment, contents kept across realloc, usable size >= request, calloc memory zero,
// ralloc_check() == 0 every 256 operations, stats consistent, bounded footprint (see
// footprintBound in lib/fuzz.js). A failure prints the scenario, the op index, the last operations
// and a `node scripts/soak.js ... --scenario '...'` command that replays it.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { C_ABI_BUILDS, buildPath } from './lib/instance.js';
import { runFuzz, scenarioArb } from './lib/fuzz.js';

const SCENARIOS_PER_TEST = 4;
const TESTS_PER_BUILD = 4;
const OPS_PER_SCENARIO = 62_500; // 4 x 4 x 62,500 = 1,000,000 operations per build
const MIN_OPS_PER_BUILD = 1_000_000;
// one fixed fast-check seed per (build, test): every run of `npm test` replays the same scenarios
const SEED_BASE = { release: 0x1000, small: 0x2000, debug: 0x3000, security: 0x4000, tiny: 0x5000 };

for (const build of C_ABI_BUILDS) {
  describe(`shadow-model fuzz: ${build}`, () => {
    if (!existsSync(buildPath(build))) {
      it(`build/${build}.wasm exists (run node scripts/build.js)`, () => assert.fail(`missing ${buildPath(build)}`));
      return;
    }
    let opsRun = 0;
    for (let t = 0; t < TESTS_PER_BUILD; t++) {
      const seed = SEED_BASE[build] + t;
      it(`${SCENARIOS_PER_TEST} scenarios x ${OPS_PER_SCENARIO} ops keep every shadow-model invariant (fast-check seed ${seed})`, { timeout: 600_000 }, () => {
        fc.assert(
          fc.property(scenarioArb, (sc) => {
            const res = runFuzz(build, sc, OPS_PER_SCENARIO, { replay: 'node scripts/soak.js' });
            opsRun += res.ops;
          }),
          { seed, numRuns: SCENARIOS_PER_TEST, endOnFailure: true, includeErrorInReport: true },
        );
      });
    }
    it(`ran at least ${MIN_OPS_PER_BUILD} operations on ${build}`, () => {
      assert.ok(opsRun >= MIN_OPS_PER_BUILD, `only ${opsRun} operations ran on ${build}`);
    });
  });
}
