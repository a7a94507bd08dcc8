// The ralloc-wasm command line: link, run, help, and its exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, bindings, wasmBinary } from './lib/dist.js';
const CLI = `${ROOT}bin/ralloc-wasm.js`;

const { compileC, readBuild } = bindings;
const { readModuleInfo } = wasmBinary;

function cli(args, input = '') {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  char line[200];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    char *copy = strdup(line);
    for (char *p = copy; *p; p++) if (*p >= 'a' && *p <= 'z') *p -= 32;
    fputs(copy, stdout);
    free(copy);
    n++;
  }
  printf("%d lines, %d args, first %s\\n", n, argc - 1, argc > 1 ? argv[1] : "-");
  return argc > 2 ? atoi(argv[2]) : 0;
}`;

let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ralloc-cli-'));
  writeFileSync(join(dir, 'upper.wasm'), (await compileC({ sources: { 'upper.c': SOURCE } })).wasm);
  writeFileSync(join(dir, 'dl.wasm'), (await compileC({ sources: { 'upper.c': SOURCE }, mode: 'dlmalloc', flags: ['-Wl,--import-memory'] })).wasm);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('run: stdin, stdout, arguments and the exit code pass through', () => {
  const r = cli(['run', join(dir, 'upper.wasm'), 'first', '5'], 'hello\nworld\n');
  assert.equal(r.stdout, 'HELLO\nWORLD\n2 lines, 2 args, first first\n');
  assert.equal(r.code, 5);
  assert.equal(r.stderr, '', 'no WASI experimental warning or other noise');
});

test('run --stats --build debug reports the allocator\'s counters on stderr', () => {
  const r = cli(['run', '--stats', '--build', 'debug', join(dir, 'upper.wasm')], 'a\nb\nc\n');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'A\nB\nC\n3 lines, 0 args, first -\n');
  assert.match(r.stderr, /^ralloc-wasm: \d+ allocations, \d+ frees, \d+ reallocs; \d+ blocks \(\d+ bytes\) live, peak \d+ bytes; heap \d+ bytes from memory at \d+, \d+ memory\.grow calls; check ok\n$/);
});

test('link writes one module that runs by itself and through `run`', () => {
  const out = join(dir, 'upper.linked.wasm');
  const r = cli(['link', join(dir, 'upper.wasm'), '-o', out, '--build', 'small', '-Oz']);
  assert.equal(r.code, 0, r.stderr);
  const info = readModuleInfo(new Uint8Array(readFileSync(out)));
  assert.deepEqual([...new Set(info.imports.map((i) => i.module))].sort(), ['env', 'wasi_snapshot_preview1']);
  const run = cli(['run', out, 'x'], 'linked\n');
  assert.equal(run.stdout, 'LINKED\n1 lines, 1 args, first x\n');
  assert.equal(run.code, 0);
  assert.ok(statSync(out).size < statSync(join(dir, 'upper.wasm')).size + readBuild('small').length);
});

test('link --allocator takes a custom allocator module', () => {
  const out = join(dir, 'upper.custom.wasm');
  const alloc = join(dir, 'alloc.wasm');
  writeFileSync(alloc, readBuild('release'));
  const r = cli(['link', join(dir, 'upper.wasm'), '--allocator', alloc, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(cli(['run', out], 'z\n').stdout, 'Z\n1 lines, 0 args, first -\n');
});

test('usage errors exit with 2 and print the usage; failures exit with 1 and say why', () => {
  for (const args of [[], ['frobnicate'], ['link', join(dir, 'upper.wasm')], ['link', '-o', 'x.wasm'], ['run'], ['run', '--turbo', 'x.wasm'], ['link', 'a.wasm', 'b.wasm', '-o', 'c.wasm']]) {
    const r = cli(args);
    assert.equal(r.code, 2, `ralloc-wasm ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ralloc-wasm: .+\nusage:\n  ralloc-wasm link/, `ralloc-wasm ${args.join(' ')}`);
  }
  const unknown = cli(['frobnicate']);
  assert.match(unknown.stderr, /^ralloc-wasm: unknown command "frobnicate"\n/);
  const help = cli(['help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage:\n/);

  const missing = cli(['run', join(dir, 'nope.wasm')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^ralloc-wasm: cannot read program .*nope\.wasm: no such file\n$/);
  const dl = cli(['run', join(dir, 'dl.wasm')]);
  assert.equal(dl.code, 1);
  assert.match(dl.stderr, /already contains a malloc \(it defines dlmalloc, wasi-libc's allocator\)/);
  const badBuild = cli(['link', join(dir, 'upper.wasm'), '-o', join(dir, 'x.wasm'), '--build', 'fast']);
  assert.equal(badBuild.code, 1);
  assert.match(badBuild.stderr, /unknown build "fast"; use one of release, small, debug, security/);
});
