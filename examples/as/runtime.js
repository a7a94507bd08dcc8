// Builds examples/as/library.ts twice, on AssemblyScript's incremental runtime and on
// ralloc-wasm's, runs both and compares them (npm run example:asruntime):
//   node examples/as/runtime.js [days]
// The only difference between the builds is the flag
//   --runtime ./node_modules/ralloc-wasm/assembly/runtime/incremental
// which a project with ralloc-wasm installed passes as is. Here the package is this checkout,
// so a scratch directory holds node_modules/ralloc-wasm (a link to it), as npm would place it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const ROOT = here('../../');

/** The two builds: a name and the --runtime flag. */
export const RUNTIMES = [
  ['AssemblyScript (TLSF)', 'incremental'],
  ['ralloc-wasm', './node_modules/ralloc-wasm/assembly/runtime/incremental'],
];

/** Compiles library.ts with `--runtime runtime` in dir; returns the module's bytes. */
async function build(dir, runtime) {
  let binary;
  let errors = '';
  const { error } = await asc.main([here('library.ts'), '--config', here('asconfig.json'), '--runtime', runtime,
    '--baseDir', dir, '--path', path.join(dir, 'node_modules'), '--outFile', 'library.wasm'], {
    writeFile(name, contents) {
      if (name.endsWith('.wasm')) binary = contents;
    },
    stdout: { write() {} },
    stderr: { write(s) { errors += s; } },
  });
  if (error) throw new Error(`asc --runtime ${runtime} failed: ${error.message}\n${errors}`);
  return binary;
}

/** Runs main(days) of a build; returns the lines it printed, its time, its memory's size and
 *  the module's bytes. */
async function run(binary, days) {
  let memory;
  const text = (ptr) => Buffer.from(memory.buffer, ptr, new Uint32Array(memory.buffer)[(ptr - 4) >>> 2]).toString('utf16le');
  const lines = [];
  const { exports } = (await WebAssembly.instantiate(binary, {
    env: { abort: (msg) => { throw new Error(msg ? text(msg) : 'abort'); } },
    example: { print: (ptr) => lines.push(text(ptr)) },
  })).instance;
  memory = exports.memory;
  const start = performance.now();
  exports.main(days);
  return { lines, ms: performance.now() - start, bytes: memory.buffer.byteLength, binary };
}

/** Builds and runs both; returns [{ name, lines, ms, bytes, binary }] in RUNTIMES' order. */
export async function runBoth(days = 300) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralloc-example-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'ralloc-wasm'), 'dir');
    const results = [];
    for (const [name, runtime] of RUNTIMES) results.push({ name, ...(await run(await build(dir, runtime), days)) });
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [a, b] = await runBoth(Number(process.argv[2] ?? 300));
  for (const line of a.lines) console.log(line);
  console.log(a.lines.join('\n') === b.lines.join('\n') ? '(the same lines on both runtimes)' : 'THE RUNTIMES DIFFER');
  for (const r of [a, b]) console.log(`${r.name.padEnd(22)} ${r.ms.toFixed(0).padStart(5)} ms, memory ${(r.bytes / 1024).toFixed(0)} KiB`);
}
