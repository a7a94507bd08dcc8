// The package as a user gets it: `npm pack`, the tarball installed offline into a new project
// (no install script, nothing built, no optional peer pulled in), then a JavaScript, a
// TypeScript (strict tsc), a C (compiled with @yowasp/clang, run through the package) and an
// AssemblyScript consumer run against the installed copy, not against this checkout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ROOT } from './lib/dist.js'; // (re)builds dist/ first when a bindings source is newer

const BUILDS = ['release', 'small', 'tiny', 'debug', 'security', 'validate'];
/**
 * The npm a user runs: the first on PATH outside any node_modules. (Under `npm test`, PATH
 * starts with node_modules/.bin, where a dev dependency of as-pect puts an npm 6.)
 */
function userNpm() {
  const name = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d && !d.split(/[\\/]/).includes('node_modules') && existsSync(join(d, name))) return join(d, name);
  }
  return name;
}
const NPM = userNpm();
/** The environment without the npm_* variables of the npm running this test, so that the npm run here reads only its own config. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

let dir; // the consumer project
let files; // the tarball's file list
let manifest; // its package.json
let installLog;

/** Runs a command in the consumer project; returns { status, stdout, stderr }. */
function inProject(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: dir, encoding: 'utf8', env: CLEAN_ENV, ...options });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Makes a package of this checkout's node_modules visible to the consumer (an optional peer it chose to install). */
function provide(name) {
  const target = join(dir, 'node_modules', name);
  mkdirSync(join(target, '..'), { recursive: true });
  if (!existsSync(target)) symlinkSync(join(ROOT, 'node_modules', name), target, 'dir');
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ralloc-package-'));
  // The build is what `npm test` just made: prepack would build it again (and rewrite build/
  // under the other test files), so the tarball is packed as it stands.
  const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', env: CLEAN_ENV }));
  files = packed[0].files.map((f) => f.path);
  const tarball = join(dir, packed[0].filename);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const r = inProject(NPM, ['install', '--offline', '--no-audit', '--no-fund', tarball]);
  assert.equal(r.status, 0, r.stderr);
  installLog = r.stdout + r.stderr;
  manifest = JSON.parse(readFileSync(join(dir, 'node_modules', 'ralloc-wasm', 'package.json'), 'utf8'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the packed package', () => {
  test('holds the builds, the bindings with their types, the C side, the AssemblyScript library, LICENSE and CHANGELOG, and nothing of the repo\'s work', () => {
    for (const b of BUILDS) assert.ok(files.includes(`build/${b}.wasm`), `build/${b}.wasm`);
    for (const f of ['dist/bindings/index.js', 'dist/bindings/index.d.ts', 'dist/bindings/link.js', 'dist/bindings/clang.d.ts',
      'bindings/c/ralloc.h', 'bindings/c/ralloc_import.c', 'assembly/index.ts', 'bin/ralloc-wasm.js', 'LICENSE', 'CHANGELOG.md', 'README.md']) {
      assert.ok(files.includes(f), f);
    }
    const stray = files.filter((f) => /^(tests|scripts|bench|docs|\.ci)\/|\.wat$|\.d\.ts\.map$|^bindings\/[^/]+\.ts$|^asconfig\.json$/.test(f));
    assert.deepEqual(stray, [], 'no tests, scripts, text builds, declaration maps or TypeScript sources');
    assert.match(readFileSync(join(dir, 'node_modules', 'ralloc-wasm', 'LICENSE'), 'utf8'), /^MIT License\n/);
  });

  test('its source maps embed their sources (the .ts files are not shipped)', () => {
    const maps = files.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 10);
    for (const f of maps) {
      const map = JSON.parse(readFileSync(join(dir, 'node_modules', 'ralloc-wasm', f), 'utf8'));
      assert.equal(map.sourcesContent?.length, map.sources.length, `${f} embeds its sources`);
      assert.ok(map.sourcesContent.every((s) => typeof s === 'string' && s.length > 0), f);
    }
  });

  test('installs without a script or a warning, builds nothing, and pulls in no optional peer', () => {
    assert.doesNotMatch(installLog, /install-scripts|prepare|warn/i, installLog);
    for (const event of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(manifest.scripts?.[event], undefined, `the published package has no ${event} script`);
    }
    assert.match(manifest.scripts.prepack, /npm run build/, 'npm pack and npm publish build it');
    assert.deepEqual(Object.keys(manifest.dependencies ?? {}), [], 'no dependency: binaryen is an optional peer');
    for (const peer of ['@yowasp/clang', 'binaryen']) {
      assert.equal(manifest.peerDependenciesMeta[peer]?.optional, true, `${peer} is an optional peer`);
      assert.ok(!existsSync(join(dir, 'node_modules', peer)), `${peer} was not installed`);
    }
    assert.equal(manifest.license, 'MIT');
    for (const field of ['repository', 'homepage', 'bugs']) assert.ok(manifest[field], field);
  });
});

describe('consumers of the installed package', () => {
  test('JavaScript: a heap, a clear E_TOOL naming binaryen while it is missing, and the command', () => {
    writeFileSync(join(dir, 'consumer.js'), `import { createHeap, RallocError } from 'ralloc-wasm';
import { linkStatic } from 'ralloc-wasm/link';
const heap = createHeap({ build: 'small' });
const p = heap.malloc(100);
heap.HEAPU8.fill(7, p, p + 100);
const q = heap.alloc(300, 100);
console.log(q % 100, heap.stats().liveBlocks);
heap.free(p);
heap.free(q);
console.log(heap.check(), heap.stats().liveBlocks);
try {
  await linkStatic(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 15, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 0, 1])); // (module (import "env" "memory" (memory 1)))
} catch (e) {
  console.log(e instanceof RallocError, e.code, e.message);
}
`);
    const r = inProject(process.execPath, ['consumer.js']);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.split('\n'), ['0 2', '0 0', 'true E_TOOL linkStatic needs the npm package binaryen (an optional peer of ralloc-wasm, for wasm-merge and wasm-opt); install it with `npm install binaryen`', '']);
    const version = inProject(join(dir, 'node_modules', '.bin', 'ralloc-wasm'), ['--version']);
    assert.equal(version.stdout, `ralloc-wasm ${manifest.version}\n`, 'npm linked the command');
  });

  test('TypeScript: strict tsc --noEmit passes over a program using the types (the package\'s own checked too), which then runs', () => {
    provide('typescript');
    provide('@types/node');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], noEmit: true, skipLibCheck: false },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(dir, 'consumer.ts'), `import { createHeap, RallocError, type HeapStats, type HeapOptions, type RallocErrorCode } from 'ralloc-wasm';
const options: HeapOptions = { build: 'debug', maximumPages: 64 };
const heap = createHeap(options);
const p: number = heap.malloc(64);
heap.free(p);
let code: RallocErrorCode | undefined;
try {
  heap.free(p);
} catch (e) {
  if (e instanceof RallocError) code = e.code;
}
const stats: HeapStats = heap.stats();
console.log(code, stats.liveBlocks, stats.peakBytesHeld > 0);
`);
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = inProject(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json']);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    // The check can fail: a wrong field is a type error (the package's own types checked above).
    writeFileSync(join(dir, 'wrong.ts'), `import { createHeap } from 'ralloc-wasm';\nconsole.log(createHeap().stats().peakHeld);\n`);
    const wrong = inProject(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', 'wrong.ts']);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stdout, /Property 'peakHeld' does not exist on type 'HeapStats'/);
    // and the program runs, its types stripped
    const strip = `import ts from 'typescript'; import { readFileSync, writeFileSync } from 'node:fs';
      writeFileSync('consumer.mjs', ts.transpileModule(readFileSync('consumer.ts', 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);`;
    assert.equal(inProject(process.execPath, ['--input-type=module', '-e', strip]).status, 0);
    assert.equal(inProject(process.execPath, ['consumer.mjs']).stdout, 'E_MISUSE 0 true\n');
  });

  test('C: compiled with @yowasp/clang from the package\'s ralloc_import.c and ralloc.h, run through the package, linked, and run by bare node:wasi', async () => {
    provide('@yowasp/clang');
    writeFileSync(join(dir, 'hello.c'), `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ralloc.h"
int main(void) {
  char *s = strdup("hello from C");
  puts(s);
  free(s);
  char *p = ralloc_alloc(300, 100);
  printf("%d\\n", (int)((unsigned long)p % 100));
  free(p);
  return ralloc_check();
}
`);
    writeFileSync(join(dir, 'build-c.js'), `import { commands } from '@yowasp/clang';
import { readFileSync, writeFileSync } from 'node:fs';
import { instantiateProgram } from 'ralloc-wasm';
const files = {
  'hello.c': readFileSync('hello.c'),
  'ralloc_import.c': readFileSync(new URL(import.meta.resolve('ralloc-wasm/c/ralloc_import.c'))),
  'ralloc.h': readFileSync(new URL(import.meta.resolve('ralloc-wasm/ralloc.h'))),
};
const out = await commands.clang(['--target=wasm32-wasip1', '-O2', 'hello.c', 'ralloc_import.c',
  '-Wl,--import-memory', '-Wl,--export=__heap_base', '-o', 'hello.wasm'], files);
writeFileSync('hello.wasm', out['hello.wasm']);
const { run, heap } = await instantiateProgram(out['hello.wasm'], { build: 'debug' });
const code = run();
console.log('exit', code, 'live', heap.stats().liveBlocks);
`);
    const built = inProject(process.execPath, ['--no-warnings', 'build-c.js']);
    assert.equal(built.status, 0, built.stderr);
    // (clang's first run says how it loads its resources: @yowasp/clang's own lines)
    assert.equal(built.stdout.replace(/^yowasp-llvm: fetched .*\n/gm, ''), 'hello from C\n0\nexit 0 live 0\n');
    const bin = join(dir, 'node_modules', '.bin', 'ralloc-wasm');
    const run = inProject(bin, ['run', '--stats', 'hello.wasm']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello from C\n0\n');
    assert.match(run.stderr, /check ok\n$/);
    const missing = inProject(bin, ['link', 'hello.wasm', '-o', 'hello.linked.wasm']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, 'ralloc-wasm: linkStatic needs the npm package binaryen (an optional peer of ralloc-wasm, for wasm-merge and wasm-opt); install it with `npm install binaryen`\n');
    provide('binaryen');
    const linked = inProject(bin, ['link', 'hello.wasm', '-o', 'hello.linked.wasm']);
    assert.equal(linked.status, 0, linked.stderr);
    assert.match(linked.stderr, /^ralloc-wasm: wrote hello\.linked\.wasm \([\d,]+ bytes: the program and ralloc-wasm's release build; it defines its own memory\)\n$/);
    const host = `import { readFileSync } from 'node:fs'; import { WASI } from 'node:wasi';
      const wasi = new WASI({ version: 'preview1', returnOnExit: true });
      const { instance } = await WebAssembly.instantiate(readFileSync('hello.linked.wasm'), wasi.getImportObject());
      process.exitCode = wasi.start(instance);`;
    const bare = inProject(process.execPath, ['--no-warnings', '--input-type=module', '-e', host]);
    assert.equal(bare.stdout, 'hello from C\n0\n');
    assert.equal(bare.status, 0, bare.stderr);
  });

  test('AssemblyScript: a module importing ralloc-wasm/assembly builds with asc and runs through its generated bindings', async () => {
    provide('assemblyscript');
    writeFileSync(join(dir, 'demo.ts'), `import { malloc, free, alloc, dealloc, LocalHeap, check } from "ralloc-wasm/assembly";
export function demo(): u32 {
  let p = alloc(300, 100);
  if (p % 100 != 0) return 100;
  dealloc(p, 150);
  dealloc(p + 150, 150);
  let h = LocalHeap.grow(4096)!;
  h.free(h.alloc(64));
  h.destroy();
  let words = new Array<string>();
  for (let i = 0; i < 100; i++) words.push(i.toString());
  free(malloc(1000));
  return words.length == 100 ? check() : 101;
}
`);
    const asc = join(dir, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
    const r = inProject(process.execPath, [asc, 'demo.ts', '--bindings', 'esm', '-o', 'demo.wasm']);
    assert.equal(r.status, 0, r.stderr);
    const m = await import(join(dir, 'demo.js'));
    assert.equal(m.demo(), 0);
    assert.ok(readdirSync(dir).includes('demo.d.ts'));
  });
});
