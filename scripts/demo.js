#!/usr/bin/env node
// npm run demo [-- EXAMPLE] [--build NAME]
//
// Compiles an example C program with clang running in Node (@yowasp/clang), runs it with
// ralloc-wasm as its malloc, prints its output and what the allocator saw. Builds whatever is
// missing first (the allocator and the JS bindings), so it works right after `npm ci`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = {
  wordfreq: { input: 'words.txt', args: ['10'], about: 'counts words with a hash table, strdup and growing arrays' },
  exprtree: { input: 'exprs.txt', args: [], about: 'parses expressions into trees, evaluates and frees them' },
  records: { input: 'records.csv', args: [], about: 'sorts records with qsort and builds a report string' },
};

// A failure (clang missing, a build that does not compile...) is one line, not a stack trace.
process.on('uncaughtException', (e) => {
  console.error(`demo: ${e?.name === 'RallocError' ? e.message : e?.stack ?? e}`);
  process.exit(1);
});

// The builds are asconfig.json's targets: known before anything is built. Not threads: it serves
// programs that share their memory between threads (docs/THREADS.md), and these examples do not.
const BUILDS = Object.keys(JSON.parse(readFileSync(`${ROOT}asconfig.json`, 'utf8')).targets).filter((b) => b !== 'threads');

/** Prints what went wrong and the usage in two lines, and exits with status 2. */
function usage(message) {
  console.error(`demo: ${message}\nusage: npm run demo [-- ${Object.keys(EXAMPLES).join('|')}] [--build ${BUILDS.join('|')}]`);
  process.exit(2);
}

let example = 'wordfreq';
let build = 'release';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--build') build = argv[++i] ?? usage(`--build needs a name: ${BUILDS.join(', ')}`);
  else if (argv[i].startsWith('--build=')) build = argv[i].slice('--build='.length);
  else if (argv[i] in EXAMPLES) example = argv[i];
  else usage(`unknown argument ${JSON.stringify(argv[i])}`);
}
if (!BUILDS.includes(build)) usage(`unknown build ${JSON.stringify(build)}; the builds are ${BUILDS.join(', ')}`);

// 0. Build what is missing: the allocator (build/*.wasm) and the bindings (dist/).
const newest = (dir, ext) => Math.max(0, ...readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => statSync(`${dir}/${f}`).mtimeMs));
if (!existsSync(`${ROOT}build/${build}.wasm`)) {
  console.log('Building the allocator (node scripts/build.js) ...');
  execFileSync(process.execPath, [`${ROOT}scripts/build.js`], { stdio: 'inherit', cwd: ROOT });
}
const distIndex = `${ROOT}dist/bindings/index.js`;
if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newest(`${ROOT}bindings`, '.ts')) {
  console.log('Building the JS bindings (tsc -p bindings/tsconfig.json) ...');
  execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}bindings/tsconfig.json`], { stdio: 'inherit', cwd: ROOT });
}
// node:wasi announces itself as experimental on every run; that is noise in a demo.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) =>
  String(warning?.message ?? warning).startsWith('WASI is an experimental feature') ? undefined : emitWarning.call(process, warning, ...rest);
const { compileC, runProgram, C_ONLY_BUILD_NAMES } = await import('../dist/bindings/index.js');

const { input: inputFile, args, about } = EXAMPLES[example];
const source = `examples/c/${example}.c`;
const inputPath = `examples/c/input/${inputFile}`;
const n = (x) => x.toLocaleString('en-US');

console.log(`\nralloc-wasm demo: a C program whose malloc is ralloc-wasm\n`);
console.log(`1. Compile ${source} (${about})`);
console.log(`   with clang running in Node (@yowasp/clang), adding bindings/c/ralloc_import.c:`);
let t = Date.now();
const { wasm, command } = await compileC({ sources: { [`${example}.c`]: readFileSync(`${ROOT}${source}`, 'utf8') } });
console.log(`   ${command.filter((a) => !a.startsWith('-Wl,--why')).join(' ')}`);
console.log(`   -> ${n(wasm.length)} bytes of wasm in ${((Date.now() - t) / 1000).toFixed(1)} s; its malloc, free, realloc... are imports from ralloc-wasm.\n`);

console.log(`2. Run it with ralloc-wasm's ${build} build as its allocator (stdin: ${inputPath}):\n`);
t = Date.now();
const result = await runProgram(wasm, { build, args: [example, ...args], input: readFileSync(`${ROOT}${inputPath}`) });
const output = Buffer.from(result.stdout).toString('utf8').replace(/\n$/, '');
for (const line of output.split('\n')) console.log(`   | ${line}`);
const errors = Buffer.from(result.stderr).toString('utf8').trim();
if (errors) for (const line of errors.split('\n')) console.log(`   ! ${line}`);
console.log(`   (exit code ${result.exitCode}, ${Date.now() - t} ms)\n`);

const s = result.stats;
const check = result.heap.check();
console.log('3. What the allocator saw:');
// the C-only builds (tiny) keep no counters: their stats come from a walk of the heap
const counted = !C_ONLY_BUILD_NAMES.includes(build);
console.log(counted ? `   calls          ${n(s.mallocCalls)} allocations, ${n(s.reallocCalls)} reallocs, ${n(s.freeCalls)} frees`
  : `   calls          not counted by the ${build} build (its stats come from a walk of the heap)`);
console.log(`   live at exit   ${n(s.liveBlocks)} blocks holding ${n(s.bytesInUse)} bytes`);
if (counted) console.log(`   peak held      ${n(s.peakBytesHeld)} bytes (live and cached blocks, headers included)`);
console.log(`   heap           starts at ${n(s.heapBase)} (the program's __heap_base); ${n(s.bytesFromMemory)} bytes taken from memory, ${n(s.growCalls)} memory.grow calls`);
console.log(`   heap check     ${check === 0 ? 'ok: every block and free list is consistent' : `FAILED with code ${check}`}`);
console.log(`\nNext: npx ralloc-wasm run PROG.wasm (dynamic), npx ralloc-wasm link PROG.wasm -o OUT.wasm (static);`);
console.log(`other examples: npm run demo -- exprtree | records`);
if (check !== 0) process.exitCode = 1;
