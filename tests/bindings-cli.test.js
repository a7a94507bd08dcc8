// The ralloc-wasm command line: link, run, heapmap, help, and its exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ROOT, bindings, wasmBinary } from './lib/dist.js';
const CLI = `${ROOT}bin/ralloc-wasm.js`;

const { compileC, readBuild } = bindings;
const { readModuleInfo } = wasmBinary;

function cli(args, input = '', cwd = undefined) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', cwd });
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

// Leaves three blocks allocated (100, 200 and 300 bytes); exits with its first argument.
const LEAK_SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void *kept[3];
__attribute__((noinline)) void *filled(size_t n) { void *p = malloc(n); if (p) memset(p, 1, n); return p; }
int main(int argc, char **argv) {
  for (int i = 0; i < 3; i++) kept[i] = filled(100 * (i + 1));
  for (int i = 0; i < 50; i++) free(filled(24 + i % 8)); /* one class, asked often: release gives it a page */
  printf("%d args, kept %s\\n", argc - 1, kept[0] && kept[1] && kept[2] ? "all" : "some");
  return argc > 1 ? atoi(argv[1]) : 0;
}`;

// Frees one block twice.
const DOUBLE_FREE_SOURCE = `#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) void release(void *p) { free(p); }
int main(void) {
  char *p = malloc(32);
  printf("before\\n");
  fflush(stdout);
  release(p);
  release(p);
  printf("after\\n");
  return 0;
}`;

let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ralloc-cli-'));
  writeFileSync(join(dir, 'upper.wasm'), (await compileC({ sources: { 'upper.c': SOURCE } })).wasm);
  writeFileSync(join(dir, 'dl.wasm'), (await compileC({ sources: { 'upper.c': SOURCE }, mode: 'dlmalloc', flags: ['-Wl,--import-memory'] })).wasm);
  writeFileSync(join(dir, 'leak.c'), LEAK_SOURCE);
  writeFileSync(join(dir, 'leak.wasm'), (await compileC({ sources: { 'leak.c': LEAK_SOURCE } })).wasm);
  writeFileSync(join(dir, 'twice.wasm'), (await compileC({ sources: { 'twice.c': DOUBLE_FREE_SOURCE } })).wasm);
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
  const size = statSync(out).size;
  assert.equal(r.stderr, `ralloc-wasm: wrote ${out} (${size.toLocaleString('en-US')} bytes: the program and ralloc-wasm's small build; it defines its own memory)\n`,
    'success says what was written: the path, its size and the allocator build');
  assert.equal(r.stdout, '');
  const info = readModuleInfo(new Uint8Array(readFileSync(out)));
  assert.deepEqual([...new Set(info.imports.map((i) => i.module))].sort(), ['wasi_snapshot_preview1'], 'its memory is its own: a WASI host runs it alone');
  const run = cli(['run', out, 'x'], 'linked\n');
  assert.equal(run.stdout, 'LINKED\n1 lines, 1 args, first x\n');
  assert.equal(run.code, 0);
  assert.ok(statSync(out).size < statSync(join(dir, 'upper.wasm')).size + readBuild('small').length);
});

test('link --allocator takes a custom allocator module', () => {
  const out = join(dir, 'upper.custom.wasm');
  const alloc = join(dir, 'alloc.wasm');
  writeFileSync(alloc, readBuild('release'));
  const r = cli(['link', join(dir, 'upper.wasm'), '--allocator', alloc, '-o', out, '--import-memory', '-O', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^ralloc-wasm: wrote .*upper\.custom\.wasm \([\d,]+ bytes: the program and a custom allocator; it imports env\.memory\)\n$/);
  assert.ok(readModuleInfo(new Uint8Array(readFileSync(out))).imports.some((i) => i.module === 'env' && i.kind === 'memory'), '--import-memory keeps env.memory');
  assert.equal(cli(['run', out], 'z\n').stdout, 'Z\n1 lines, 0 args, first -\n');
});

test('usage errors exit with 2 and print the usage; failures exit with 1 and say why', () => {
  for (const args of [[], ['frobnicate'], ['link', join(dir, 'upper.wasm')], ['link', '-o', 'x.wasm'], ['run'], ['run', '--turbo', 'x.wasm'], ['link', 'a.wasm', 'b.wasm', '-o', 'c.wasm']]) {
    const r = cli(args);
    assert.equal(r.code, 2, `ralloc-wasm ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ralloc-wasm: .+\nusage:(\n  | )ralloc-wasm (link|run) /, `ralloc-wasm ${args.join(' ')}`);
  }
  const unknown = cli(['frobnicate']);
  assert.match(unknown.stderr, /^ralloc-wasm: unknown command "frobnicate"; the commands are link, run, heapmap, help and --version\n/);
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

/** Checks that text is well-formed XML (tags balanced and named, attributes quoted and unique, references known); returns the root's name. */
function checkWellFormedXml(text) {
  let rest = text.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\s*/, '');
  const stack = [];
  let root;
  const tag = /^<(\/?)([A-Za-z_:][-\w:.]*)((?:\s+[A-Za-z_:][-\w:.]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/;
  while (rest.length > 0) {
    const lt = rest.indexOf('<');
    const chunk = lt < 0 ? rest : rest.slice(0, lt);
    assert.doesNotMatch(chunk, /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)|>/, `bad text: ${chunk.slice(0, 60)}`);
    if (stack.length === 0) assert.match(chunk, /^\s*$/, 'text outside the root element');
    if (lt < 0) break;
    rest = rest.slice(lt);
    const m = tag.exec(rest);
    assert.ok(m, `malformed tag: ${rest.slice(0, 60)}`);
    const names = [...m[3].matchAll(/([A-Za-z_:][-\w:.]*)\s*=/g)].map((a) => a[1]);
    assert.equal(new Set(names).size, names.length, `duplicate attribute in ${m[0].slice(0, 60)}`);
    assert.doesNotMatch(m[3], /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/, 'bad reference in an attribute');
    if (m[1]) assert.equal(stack.pop(), m[2], `</${m[2]}> closes nothing open`);
    else {
      if (stack.length === 0) { assert.equal(root, undefined, 'a second root element'); root = m[2]; }
      if (!m[4]) stack.push(m[2]);
    }
    rest = rest.slice(m[0].length);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  return root;
}

/** The hover titles of the map's groups of one kind. */
const titlesOf = (svg, kind) => [...svg.matchAll(new RegExp(`<g data-kind="${kind}"[^>]*><title>([^<]*)</title>`, 'g'))].map((m) => m[1]);

test('the XML check of these tests rejects broken documents', () => {
  for (const bad of ['<a><b></a>', '<a x="1" x="2"/>', '<a>&nope;</a>', '<a/><b/>', '<a x=1/>', '<a>']) {
    assert.throws(() => checkWellFormedXml(bad), undefined, bad);
  }
  assert.equal(checkWellFormedXml('<?xml version="1.0" encoding="UTF-8"?>\n<svg a="&lt;"><g/><t>x &amp; y</t></svg>\n'), 'svg');
});

test('heapmap PROG.wasm -o OUT --build debug -- ARGS: runs the program and writes a well-formed map of its heap at exit', () => {
  const out = join(dir, 'leak-debug.svg');
  const r = cli(['heapmap', join(dir, 'leak.wasm'), '-o', out, '--build', 'debug', '--', '0', 'x']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2 args, kept all\n', 'the program\'s stdout and arguments pass through');
  assert.match(r.stderr, new RegExp(`^ralloc-wasm: wrote ${out.replace(/[.\\/]/g, '\\$&')} \\((\\d+) blocks in use, \\d+ free or cached\\)\\n$`));
  const svg = readFileSync(out, 'utf8');
  assert.equal(checkWellFormedXml(svg), 'svg');
  assert.match(svg, /<title>leak\.wasm on ralloc-wasm \(debug\), at exit \(status 0\)<\/title>/);
  const used = titlesOf(svg, 'used');
  for (const n of [100, 200, 300]) assert.equal(used.filter((t) => t.includes(`, ${n} bytes requested`)).length, 1, `the ${n}-byte block is drawn in use`);
  assert.equal(Number(/data-used-blocks="(\d+)"/.exec(svg)[1]), used.length);
  assert.equal(Number(/ \((\d+) blocks in use/.exec(r.stderr)[1]), used.length, 'the summary agrees with the map');
  assert.ok(titlesOf(svg, 'cached').length + titlesOf(svg, 'free').length > 0, 'the freed blocks are drawn free or cached');
  assert.match(svg, /<g data-legend="used">/);
});

test('heapmap PROG.c compiles the program first; the map goes to PROG.heapmap.svg and the exit code passes through', () => {
  const r = cli(['heapmap', 'leak.c', '--', '7'], '', dir);
  assert.equal(r.code, 7, r.stderr);
  // release: the empty slots of the pages are page slack, not free blocks
  const [, used, free, slots, pages] = /^ralloc-wasm: wrote leak\.heapmap\.svg \((\d+) blocks in use, (\d+) free or cached; page slack: (\d+) empty object slots in (\d+) pages?\)\n$/.exec(r.stderr) ?? [];
  assert.ok(used, r.stderr);
  assert.ok(Number(used) >= 3, 'the three blocks the program kept, and libc\'s');
  assert.ok(Number(free) <= 4 && Number(slots) > 100 && Number(pages) === 1, r.stderr); // (one busy class has a page)
  assert.equal(r.stdout, '1 args, kept all\n');
  const out = join(dir, 'leak.heapmap.svg');
  assert.ok(existsSync(out), r.stderr);
  const svg = readFileSync(out, 'utf8');
  assert.equal(checkWellFormedXml(svg), 'svg');
  assert.match(svg, /<title>leak\.c on ralloc-wasm \(release\), at exit \(status 7\)<\/title>/);
  // release has no requests: a block's request is its usable size. malloc(300), its class's first
  // request, is a 304-byte block with a header, 300 bytes usable; the class of 32 bytes, asked 50
  // times, has a page.
  assert.equal(titlesOf(svg, 'used').filter((t) => /: in use, 304-byte block \[.*\), 300 bytes requested$/.test(t)).length, 1, 'the 300-byte block is there');
  assert.equal(titlesOf(svg, 'page').length, 2, 'the busy class\'s page is drawn as ralloc metadata: its header and its end');
  assert.match(svg, /<g data-legend="page">/);
});

test('run: a misuse prints its message to stderr and exits 134, like abort()', () => {
  const r = cli(['run', '--build', 'debug', join(dir, 'twice.wasm')]);
  assert.equal(r.code, 134);
  assert.equal(r.stdout, 'before\n');
  assert.match(r.stderr, /^ralloc: double free of 0x[0-9a-f]{8} \(32 bytes\)\n$/);
  const security = cli(['run', '--build', 'security', join(dir, 'twice.wasm')]);
  assert.equal(security.code, 134);
  assert.match(security.stderr, /^ralloc: double free of 0x[0-9a-f]{8} \(32 bytes\)\n$/);
});

test('heapmap after a misuse: the map of the heap at the misuse, then the message and status 134', () => {
  const out = join(dir, 'twice.svg');
  const r = cli(['heapmap', join(dir, 'twice.wasm'), '--build', 'debug', '-o', out]);
  assert.equal(r.code, 134);
  assert.match(r.stderr, /^ralloc-wasm: wrote .*twice\.svg \(\d+ blocks in use, \d+ free or cached\)\nralloc: double free of 0x[0-9a-f]{8} \(32 bytes\)\n$/);
  const svg = readFileSync(out, 'utf8');
  assert.equal(checkWellFormedXml(svg), 'svg');
  assert.match(svg, /<title>twice\.wasm on ralloc-wasm \(debug\), at the misuse<\/title>/);
  const address = /double free of (0x[0-9a-f]{8})/.exec(r.stderr)[1];
  const freed = new RegExp(`<g data-kind="(free|cached)" data-address="${address}" data-size="\\d+" data-misuse="true"><title>ralloc: double free of ${address} \\(32 bytes\\) · `);
  assert.match(svg, freed, 'the block freed once is drawn free or cached, marked as the block of the misuse');
  assert.equal((svg.match(/data-misuse="true"/g) ?? []).length, 1, 'only that block is marked');
  assert.match(svg, new RegExp(`<text id="misuse" [^>]*>ralloc: double free of ${address} \\(32 bytes\\)</text>`), 'the message is printed on the map');
});

test('heapmap usage errors exit with 2', () => {
  for (const [args, message] of [
    [['heapmap'], /^ralloc-wasm: heapmap: no program \(PROG\.c or PROG\.wasm\)\n/],
    [['heapmap', '--frob', 'x.wasm'], /^ralloc-wasm: heapmap: unknown option --frob; its options are -o, --build, --allocator, --help\n/],
    [['heapmap', 'a.wasm', 'b.wasm'], /^ralloc-wasm: heapmap: more than one program \(a\.wasm, b\.wasm\); give the program's arguments after --\n/],
    [['heapmap', 'a.wasm', '-o'], /^ralloc-wasm: -o needs a file name\n/],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 2, `ralloc-wasm ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\nusage: ralloc-wasm heapmap /, 'the usage of the command concerned');
  }
  const missing = cli(['heapmap', join(dir, 'nope.c')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^ralloc-wasm: cannot read program .*nope\.c: no such file\n$/);
});

test('every command has --help (and -h, help COMMAND): its usage on stdout, each of its options explained, status 0', () => {
  const OPTIONS = {
    link: ['-o', '--build', '--allocator', '-O', '--no-export-allocator', '--import-memory', '-g'],
    run: ['--build', '--allocator', '--stats'],
    heapmap: ['-o', '--build', '--allocator', '-- ARGS'],
  };
  for (const [command, options] of Object.entries(OPTIONS)) {
    const help = cli([command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stderr, '');
    assert.match(help.stdout, new RegExp(`^usage: ralloc-wasm ${command} `));
    for (const o of options) assert.match(help.stdout, new RegExp(`\\n  ${o.replace(/[-]/g, '\\$&')}\\b`), `${command} --help explains ${o}`);
    assert.equal(cli([command, '-h']).stdout, help.stdout);
    assert.equal(cli(['help', command]).stdout, help.stdout);
    // --help wins wherever it stands, even after other options
    assert.equal(cli([command, '--build', 'debug', '--help']).stdout, help.stdout);
  }
  const unknown = cli(['help', 'lnk']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^ralloc-wasm: help: unknown command "lnk"; the commands are link, run, heapmap\n/);
});

test('--version prints the package\'s version; the usage names every build, tiny included', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
  for (const flag of ['--version', '-V']) {
    const r = cli([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `ralloc-wasm ${pkg.version}\n`);
  }
  const help = cli(['help']).stdout;
  const names = /NAME is a build: ([a-z, ]+) \(default release\)/.exec(help)?.[1].split(', ');
  assert.deepEqual([...names].sort(), [...bindings.ALL_BUILD_NAMES].sort(), 'the builds the help lists are the builds that exist');
  assert.match(help, /ralloc-wasm --version/);
});

test('link: -O says which levels exist; an unknown option lists the command\'s options', () => {
  for (const [args, message] of [
    [['-O', '9'], 'ralloc-wasm: -O 9: LEVEL must be 0-4, s or z'],
    [['-O9'], 'ralloc-wasm: -O9: LEVEL must be 0-4, s or z'],
    [['-Ofast'], 'ralloc-wasm: -Ofast: LEVEL must be 0-4, s or z'],
    [['-O'], 'ralloc-wasm: -O needs a LEVEL: 0-4, s or z'],
    [['--build'], 'ralloc-wasm: --build needs a NAME: release, small, tiny, debug, security, validate, threads'],
    [['--strip'], 'ralloc-wasm: link: unknown option --strip; its options are -o, --build, --allocator, -O, --no-export-allocator, --import-memory, -g, --help'],
  ]) {
    const r = cli(['link', join(dir, 'upper.wasm'), '-o', join(dir, 'never.wasm'), ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.split('\n')[0], message);
    assert.match(r.stderr, /\nusage: ralloc-wasm link /);
    assert.ok(!existsSync(join(dir, 'never.wasm')));
  }
  const run = cli(['run', '--stat', join(dir, 'upper.wasm')]);
  assert.equal(run.stderr.split('\n')[0], 'ralloc-wasm: run: unknown option --stat; its options are --build, --allocator, --stats, --help');
});
