#!/usr/bin/env node
// node scripts/heapmap-example.js [-o OUT.svg] [--build NAME]
//
// Draws docs/heapmap.svg, the heap map in docs/DEBUGGING.md: examples/c/wordfreq.c counting the words
// of the example programs' own sources, pictured at the moment its heap holds the most bytes.
// (In release its small blocks are objects of size-class pages: the map draws each page as ralloc
// metadata with its objects inside.)
// The program runs twice on ralloc-wasm (release build unless --build says otherwise), its malloc,
// calloc, realloc and free imports wrapped to count the calls and read the bytes in use after
// each: the first run finds the call after which they peak, the second walks the heap right
// after that call. Both runs are the same program on the same input and allocator, so they make
// the same calls.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let output = `${ROOT}docs/heapmap.svg`;
let build = 'release';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '-o' && argv[i + 1]) output = argv[++i];
  else if (argv[i] === '--build' && argv[i + 1]) build = argv[++i];
  else {
    console.error(`heapmap-example: unknown argument ${JSON.stringify(argv[i])}\nusage: node scripts/heapmap-example.js [-o OUT.svg] [--build NAME]`);
    process.exit(2);
  }
}

// Build what is missing: the allocator and the JS bindings.
const newest = (dir, ext) => Math.max(0, ...readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => statSync(`${dir}/${f}`).mtimeMs));
if (!existsSync(`${ROOT}build/${build}.wasm`)) execFileSync(process.execPath, [`${ROOT}scripts/build.js`, build], { stdio: 'inherit', cwd: ROOT });
const distIndex = `${ROOT}dist/bindings/index.js`;
if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newest(`${ROOT}bindings`, '.ts')) {
  execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}bindings/tsconfig.json`], { stdio: 'inherit', cwd: ROOT });
}
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) =>
  String(warning?.message ?? warning).startsWith('WASI is an experimental feature') ? undefined : emitWarning.call(process, warning, ...rest);
const { compileC, instantiateProgram } = await import('../dist/bindings/index.js');
const { walkHeap, spans } = await import('../dist/bindings/walk.js');
const { drawHeapMap, heapFigures } = await import('../dist/bindings/heapmap.js');

const { wasm } = await compileC({ sources: { 'wordfreq.c': readFileSync(`${ROOT}examples/c/wordfreq.c`) } });
const inputs = readdirSync(`${ROOT}examples/c`).filter((f) => f.endsWith('.c')).sort();
const text = inputs.map((f) => readFileSync(`${ROOT}examples/c/${f}`, 'utf8')).join('\n');

const mallocImports = WebAssembly.Module.imports(new WebAssembly.Module(wasm))
  .filter((i) => i.module === 'ralloc' && i.kind === 'function' && i.name !== 'ralloc_init').map((i) => i.name);

/**
 * Runs wordfreq once, calling after(index, heap) after each of its malloc, calloc, realloc and
 * free calls; returns the number of calls.
 */
async function runOnce(after) {
  const dir = mkdtempSync(join(tmpdir(), 'ralloc-heapmap-'));
  const inPath = join(dir, 'input.txt');
  writeFileSync(inPath, text);
  const stdin = openSync(inPath, 'r');
  const stdout = openSync(devNull, 'w');
  try {
    let heap;
    let index = 0;
    const wrapped = Object.fromEntries(mallocImports.map((name) => [name, (...args) => {
      const r = heap.exports[name](...args);
      after(index++, heap);
      return r;
    }]));
    const program = await instantiateProgram(wasm, { build, args: ['wordfreq', '10'], stdin, stdout, imports: { ralloc: wrapped } });
    heap = program.heap;
    const code = program.run();
    if (code !== 0) throw new Error(`wordfreq exited with ${code}`);
    return index;
  } finally {
    closeSync(stdin);
    closeSync(stdout);
    rmSync(dir, { recursive: true, force: true });
  }
}

let peak = { index: -1, held: -1 };
const calls = await runOnce((index, heap) => {
  const held = heap.stats().bytesInUse;
  if (held > peak.held) peak = { index, held };
});
let snapshot;
await runOnce((index, heap) => {
  if (index === peak.index) snapshot = { layout: heap.layout(), blocks: walkHeap(heap.exports), spans: spans(heap.exports) };
});
if (snapshot === undefined) throw new Error('the second run did not reach the peak: the runs differ');

const title = `examples/c/wordfreq.c at its peak: ${peak.held} bytes in use (after call ${peak.index + 1} of ${calls} to malloc, calloc, realloc and free; ${build} build)`;
const svg = drawHeapMap({ ...snapshot, title });
writeFileSync(output, svg);
const f = heapFigures(snapshot);
const objects = f.pages > 0 ? ` (${f.usedObjects} in use are objects of ${f.pages} pages, which have ${f.slackSlots} empty slots)` : '';
console.log(`wrote ${output}: ${f.usedBlocks} blocks in use, ${f.freeBlocks} free (largest ${f.largestFree} of ${f.freeBytes} bytes), ${f.cachedBlocks} cached${objects}; ` +
  `input: ${inputs.join(', ')} (${text.length} characters)`);
