#!/usr/bin/env node
// Long soak of the shadow-model fuzzer (tests/lib/fuzz.js), outside `npm test`.
//
//   node scripts/soak.js [--build NAME|all] [--ops N] [--seed S] [--chunk N] [--scenario JSON]
//
//   --build     a build name (release, small, debug, security) or "all" (default: all)
//   --ops       operations per build (default 20,000,000)
//   --seed      first scenario seed (default: derived from the time, and printed); scenario k of a
//               build is scenarioFromSeed(S + k), so any failure can be rerun from its seed
//   --chunk     operations per scenario (default 2,000,000: long runs are what find slow leaks)
//   --scenario  replay one exact scenario (the JSON a failure printed) for --ops operations
//
// Exit status 0 when every run passed, 1 on the first failure (its message says how to replay it).
import { BUILDS, availableBuilds } from '../tests/lib/instance.js';
import { runFuzz, scenarioFromSeed } from '../tests/lib/fuzz.js';

function parseArgs(argv) {
  const args = { build: 'all', ops: 20_000_000, seed: undefined, chunk: 2_000_000, scenario: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--build': args.build = value(); break;
      case '--ops': args.ops = Number(value().replace(/_/g, '')); break;
      case '--seed': args.seed = Number(value()); break;
      case '--chunk': args.chunk = Number(value().replace(/_/g, '')); break;
      case '--scenario': args.scenario = JSON.parse(value()); break;
      case '-h': case '--help':
        console.log('usage: node scripts/soak.js [--build NAME|all] [--ops N] [--seed S] [--chunk N] [--scenario JSON]');
        process.exit(0);
        break;
      default:
        console.error(`unknown argument ${argv[i]}`);
        process.exit(2);
    }
  }
  for (const k of ['ops', 'chunk']) if (!Number.isSafeInteger(args[k]) || args[k] <= 0) { console.error(`--${k} must be a positive integer`); process.exit(2); }
  if (args.seed !== undefined && !Number.isSafeInteger(args.seed)) { console.error('--seed must be an integer'); process.exit(2); }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const builds = args.build === 'all' ? availableBuilds() : [args.build];
if (args.build === 'all' && builds.length < BUILDS.length) console.warn(`missing builds: ${BUILDS.filter((b) => !builds.includes(b)).join(', ')}`);
if (builds.length === 0) { console.error('no build to soak (run node scripts/build.js)'); process.exit(2); }
const seed0 = args.seed ?? (Date.now() % 1_000_000_000);
console.log(`soak: builds ${builds.join(', ')}; ${args.ops} ops each; ${args.scenario ? 'one replayed scenario' : `scenario seeds from ${seed0}, ${args.chunk} ops per scenario`}`);

let failed = false;
for (const build of builds) {
  const t0 = performance.now();
  let done = 0;
  let k = 0;
  try {
    if (args.scenario) {
      const res = runFuzz(build, args.scenario, args.ops);
      done = res.ops;
      console.log(`  ${build}: scenario passed ${res.ops} ops (peak need ${res.peakNeed} B, memory ${res.maxMem} B, ratio ${res.ratio.toFixed(2)})`);
    } else {
      while (done < args.ops) {
        const s = seed0 + k++;
        const sc = scenarioFromSeed(s);
        const n = Math.min(args.chunk, args.ops - done);
        const res = runFuzz(build, sc, n);
        done += res.ops;
        console.log(`  ${build} seed ${s}: ${res.ops} ops ok (${done}/${args.ops}; ratio memory/peak need ${res.ratio.toFixed(2)}; ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
  } catch (e) {
    failed = true;
    console.error(`\n${build}: FAILED${args.scenario ? '' : ` (scenario seed ${seed0 + k - 1}: node scripts/soak.js --build ${build} --seed ${seed0 + k - 1} --ops ${args.chunk})`}`);
    console.error(e.message);
    break;
  }
  console.log(`${build}: ${done} ops in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
process.exit(failed ? 1 : 0);
