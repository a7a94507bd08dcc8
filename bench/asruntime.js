#!/usr/bin/env node
// AssemblyScript programs on ralloc-wasm's runtime against AssemblyScript's own (bench/lib/asruntime.js):
//
//   npm run bench:asruntime               full run: prints the section bench/run.js puts in RESULTS.md
//   npm run bench:asruntime -- --quick    smaller n, 5 rounds
//   npm run bench:asruntime -- --smoke    checksums only
// Options: --reps N; --use KNOB=V[,KNOB=V] (repeatable): an A/B column of ralloc-wasm's runtime
// built with those knobs, e.g. --use RALLOC_PAGES=0. The section also goes to bench/out/ASRUNTIME-<mode>.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The V8 flags of bench/run.js (see there): TurboFan code from the start, and a gc() between runs.
const flags = ['--no-liftoff', '--expose-gc'].filter((f) => !process.execArgv.includes(f));
if (flags.length) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const { asruntimeBench, variant } = await import('./lib/asruntime.js');
const { OUT_DIR } = await import('./lib/toolchain.js');

const argv = process.argv.slice(2);
const mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
const at = argv.indexOf('--reps');
const reps = at >= 0 ? Number(argv[at + 1]) : { full: 15, quick: 5, smoke: 1 }[mode];
for (const [i, a] of argv.entries()) {
  if (a.startsWith('--') && !['--smoke', '--quick', '--reps', '--use'].includes(a)) { console.error(`unknown option ${a}`); process.exit(2); }
  if (a === '--reps' && !(Number(argv[i + 1]) > 0)) { console.error('--reps wants a number of rounds'); process.exit(2); }
  if (a === '--use' && !/^RALLOC_\w+=\w+(,RALLOC_\w+=\w+)*$/.test(argv[i + 1] ?? '')) { console.error('--use wants KNOB=VALUE[,KNOB=VALUE], e.g. RALLOC_PAGES=0'); process.exit(2); }
}
const variants = argv.flatMap((a, i) => (a === '--use' ? [variant(argv[i + 1].split(','))] : []));

const { section, failures } = await asruntimeBench({ mode, reps, log: (s) => console.log(s), gc: globalThis.gc, variants });
console.log(`\n${section}\n`);
const out = path.join(OUT_DIR, `ASRUNTIME-${mode}${variants.length ? '-ab' : ''}.md`);
fs.writeFileSync(out, section + '\n');
console.log(`wrote ${path.relative(process.cwd(), out)}`);
for (const f of failures) console.error(`!! ${f.what}: ${f.msg}`);
process.exit(failures.length ? 1 : 0);
