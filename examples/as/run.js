// Builds examples/as/jail.ts with the AssemblyScript compiler and runs it:
//   node examples/as/run.js
// The module imports what any program using ralloc-wasm/assembly imports: env.abort (a thrown
// error's message), ralloc_hooks.oom (asked when malloc runs out; 0: do not retry) and, here,
// the example's own print.
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));

/** Compiles jail.ts and runs its main(); returns the lines it printed. */
export async function runJail() {
  let binary;
  let errors = '';
  const { error } = await asc.main([here('jail.ts'), '--config', here('asconfig.json'), '--outFile', 'jail.wasm'], {
    writeFile(name, contents) {
      if (name.endsWith('.wasm')) binary = contents;
    },
    stdout: { write() {} },
    stderr: { write(s) { errors += s; } },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${errors}`);

  let memory;
  const text = (ptr) => Buffer.from(memory.buffer, ptr, new Uint32Array(memory.buffer)[(ptr - 4) >>> 2]).toString('utf16le');
  const lines = [];
  const { exports } = await WebAssembly.instantiate(binary, {
    env: { abort: (msg) => { throw new Error(msg ? text(msg) : 'abort'); } },
    ralloc_hooks: { oom: () => 0 },
    example: { print: (ptr) => lines.push(text(ptr)) },
  }).then((r) => r.instance);
  memory = exports.memory;
  exports.main();
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const line of await runJail()) console.log(line);
}
