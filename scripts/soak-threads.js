#!/usr/bin/env node
// Long soak of the threads build under real threads (tests/lib/threads-stress.js), outside
// `npm test`: round after round of N workers on one heap, random allocations and frees of mixed
// sizes, a share of the blocks freed or reallocated by another worker, contents checked, a
// shadow map in shared memory catching any block live twice, every heap checked at the end of a
// round and the freed memory reused.
//
//   node scripts/soak-threads.js [--minutes M] [--threads N] [--ops N] [--seed S]
//
//   --minutes  how long to run (default 10)
//   --threads  workers per round (default: 2, 3 and 4 in turn)
//   --ops      operations per worker per round (default 200,000)
//   --seed     first round's seed (default: from the time, and printed); round k uses S + k
//
// Exit status 0 when every round passed, 1 on the first failure (its seed and worker count say
// how to replay it: --seed S --threads N --minutes 0 runs one round).
import { fileURLToPath } from 'node:url';
import { runStress } from '../tests/lib/threads-stress.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv) {
  const args = { minutes: 10, threads: undefined, ops: 200_000, seed: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--minutes': args.minutes = Number(value()); break;
      case '--threads': args.threads = Number(value()); break;
      case '--ops': args.ops = Number(value().replace(/_/g, '')); break;
      case '--seed': args.seed = Number(value()); break;
      case '-h': case '--help':
        console.log('usage: node scripts/soak-threads.js [--minutes M] [--threads N] [--ops N] [--seed S]');
        process.exit(0);
        break;
      default:
        console.error(`soak-threads: unknown option ${flag}`);
        process.exit(2);
    }
  }
  return args;
}

/** The first thing wrong with a round, or undefined. */
function problemOf(r) {
  for (const w of r.workers) {
    if (w.errors.length) return w.errors.join('; ');
    if (w.check) return `worker ${w.index}: ralloc_check returned ${w.check}`;
  }
  if (r.after.check || r.after.finalCheck) return `ralloc_check after the round returned ${r.after.check || r.after.finalCheck}`;
  const mibs = Math.floor(r.after.pagesBefore / 16);
  if (r.after.mib < mibs - 4) return `the freed memory held only ${r.after.mib} of ${mibs} MiB`;
  return undefined;
}

const args = parseArgs(process.argv.slice(2));
const seed0 = args.seed ?? (Date.now() % 1_000_000);
const bindings = await import(`${ROOT}dist/bindings/index.js`);
const end = Date.now() + args.minutes * 60_000;
console.log(`soak-threads: seed ${seed0}, ${args.ops} operations per worker per round, ${args.minutes} min`);
let rounds = 0;
let ops = 0;
do {
  const seed = seed0 + rounds;
  const threads = args.threads ?? 2 + (rounds % 3);
  const t0 = Date.now();
  const r = await runStress(bindings, { threads, ops: args.ops, seed, largeEvery: rounds % 4 === 3 ? 0 : 2 });
  const problem = problemOf(r);
  if (problem) {
    console.error(`soak-threads: round ${rounds} failed (replay: --seed ${seed} --threads ${threads} --ops ${args.ops} --minutes 0): ${problem}`);
    process.exit(1);
  }
  rounds++;
  ops += threads * args.ops;
  console.log(`round ${rounds}: ${threads} workers, seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s, ` +
    `${r.workers.reduce((n, w) => n + w.received, 0)} blocks crossed, peak ${(r.peakLive / 1048576).toFixed(1)} MiB live in ${r.after.pagesBefore} pages`);
} while (Date.now() < end);
console.log(`soak-threads: ${rounds} rounds, ${ops} operations, no failure`);
