// The documentation cannot drift from the code: every code block of README.md and docs/*.md
// runs or compiles here, and the names the docs list are the names the code has.
//
// - ```js blocks run (node, with ralloc-wasm resolving to this checkout), and pass strict
//   TypeScript (tsc --strict over each, as a .ts file);
// - ```ts blocks that import "ralloc-wasm/assembly" are AssemblyScript: built with asc and the
//   generated bindings (--bindings esm), which then instantiate them (running their top level);
//   other ```ts blocks are TypeScript: type-checked like the js blocks, then run;
// - ```c blocks are compiled with @yowasp/clang (compileC, with ralloc_import.c) and run on the
//   debug build: they must exit with 0;
// - a ```text block right after a line "prints" is the output of the js block before it;
// - `<!-- file: NAME -->` before a block also writes it as NAME into the directory the page's
//   blocks run in (hello.c, which the next block compiles);
// - any other block must be marked `<!-- not run: why -->`: the test lists them and fails on an
//   unmarked one.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ROOT, bindings } from './lib/dist.js';

const { compileC, runProgram, createHeap } = bindings;
const require = createRequire(import.meta.url);
const asc = require.resolve('assemblyscript/bin/asc.js');
const tsc = require.resolve('typescript/bin/tsc');

const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** The fenced blocks of a Markdown text: language, code, line, and the marker before it. */
export function codeBlocks(text, page) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    assert.ok(end < lines.length, `${page}:${start + 1}: a block that is never closed`);
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const prev = before >= 0 ? lines[before].trim() : '';
    const marker = /^<!-- (file|not run): (.+?) -->$/.exec(prev);
    blocks.push({
      page, line: start + 1, lang: open[1], code: lines.slice(start + 1, end).join('\n') + '\n',
      file: marker?.[1] === 'file' ? marker[2] : undefined,
      notRun: marker?.[1] === 'not run' ? marker[2] : undefined,
      printsAfter: prev === 'prints',
    });
    i = end;
  }
  return blocks;
}

/** What a block is: js, typescript, assemblyscript, c, output (of the js block before), or skipped. */
function kindOf(b) {
  if (b.notRun !== undefined) return 'skipped';
  if (b.lang === 'js') return 'js';
  if (b.lang === 'ts') return /from\s+["']ralloc-wasm\/assembly["']/.test(b.code) ? 'assemblyscript' : 'typescript';
  if (b.lang === 'c') return 'c';
  if (b.lang === 'text' && b.printsAfter) return 'output';
  return 'unmarked';
}

/** Runs node on a file; resolves to { code, stdout, stderr }. */
function node(args, cwd) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-warnings', ...args], { cwd, maxBuffer: 16 << 20, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
}

const blocks = PAGES.flatMap((page) => codeBlocks(readFileSync(join(ROOT, page), 'utf8'), page));
const where = (b) => `${b.page}:${b.line}`;

// JS and TS blocks live under the checkout (so 'ralloc-wasm' resolves to it, as to a user's
// installed package) and run in a directory of their page's own, which holds its file blocks.
let work;     // .tmp/docs-<pid> inside the checkout: the blocks as files
let runDirs;  // page -> the directory its blocks run in
let asDir;    // a project with node_modules/ralloc-wasm, for the AssemblyScript blocks
before(() => {
  work = join(ROOT, '.tmp', `docs-${process.pid}`);
  mkdirSync(work, { recursive: true });
  runDirs = new Map(PAGES.map((p) => [p, mkdtempSync(join(tmpdir(), 'ralloc-docs-'))]));
  asDir = mkdtempSync(join(tmpdir(), 'ralloc-docs-as-'));
  mkdirSync(join(asDir, 'node_modules'));
  symlinkSync(ROOT, join(asDir, 'node_modules', 'ralloc-wasm'), 'dir');
  writeFileSync(join(asDir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(asDir, 'asconfig.json'), '{}');
  for (const b of blocks) if (b.file) writeFileSync(join(runDirs.get(b.page), b.file), b.code);
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  for (const d of runDirs.values()) rmSync(d, { recursive: true, force: true });
  rmSync(asDir, { recursive: true, force: true });
});

/** The file name a block gets: page and line. */
const nameOf = (b, ext) => `${b.page.replace(/[/.]/g, '_')}_${b.line}.${ext}`;

describe('every code block of README.md and docs/*.md', { concurrency: 2 }, () => {
  test('is run, compiled or compared; the others say why they are not (listed here)', (t) => {
    const unmarked = blocks.filter((b) => kindOf(b) === 'unmarked').map((b) => `${where(b)} (\`\`\`${b.lang})`);
    assert.deepEqual(unmarked, [], 'mark these <!-- not run: why -->, or make them code this test can run');
    const skipped = blocks.filter((b) => kindOf(b) === 'skipped');
    t.diagnostic(`${blocks.length} blocks; ${blocks.length - skipped.length} run, compiled or compared; ${skipped.length} not run:`);
    for (const b of skipped) t.diagnostic(`  ${where(b)} (\`\`\`${b.lang || 'plain'}): ${b.notRun}`);
    for (const kind of ['js', 'typescript', 'assemblyscript', 'c', 'output']) assert.ok(blocks.some((b) => kindOf(b) === kind), `some ${kind} blocks`);
    // (and a page's markup, which tests/browser.test.js loads pages like in headless Chromium)
    assert.ok(skipped.every((b) => ['sh', 'text', 'html', ''].includes(b.lang)), 'only commands, synopses, diagrams and markup go unrun');
  });

  test('js and TypeScript blocks pass strict TypeScript', async () => {
    const dir = join(work, 'typecheck');
    mkdirSync(dir, { recursive: true });
    const checked = blocks.filter((b) => kindOf(b) === 'js' || kindOf(b) === 'typescript');
    for (const b of checked) writeFileSync(join(dir, nameOf(b, 'ts')), b.code);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', moduleDetection: 'force',
        types: ['node'], noEmit: true, skipLibCheck: true,
      },
      include: ['*.ts'],
    }));
    const r = await node([tsc, '-p', join(dir, 'tsconfig.json')], dir);
    // name the page and line of each error, not the scratch file
    const report = r.stdout.replace(/([A-Za-z_]+)_md_(\d+)\.ts/g, (_, page, line) => `${page.replace(/_/g, '/')}.md:${line} + `);
    assert.equal(r.code, 0, report);
  });

  for (const b of blocks.filter((x) => ['js', 'typescript'].includes(kindOf(x)))) {
    const output = blocks.find((o) => o.page === b.page && kindOf(o) === 'output' && o.line > b.line &&
      !blocks.some((m) => m.page === b.page && m.line > b.line && m.line < o.line));
    test(`${where(b)} (${kindOf(b)}) runs${output ? ` and prints what ${b.page}:${output.line} shows` : ''}`, async () => {
      const file = join(work, nameOf(b, 'mjs'));
      const js = kindOf(b) === 'typescript'
        ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
        : b.code;
      writeFileSync(file, js);
      const r = await node([file], runDirs.get(b.page));
      assert.equal(r.code, 0, `${where(b)} failed:\n${r.stderr}`);
      assert.equal(r.stderr.replace(/^yowasp-llvm: fetched .*\n/gm, ''), '', `${where(b)} wrote to stderr`);
      if (output) assert.equal(r.stdout, output.code, `${where(b)} prints what the page says`);
    });
  }

  for (const b of blocks.filter((x) => kindOf(x) === 'assemblyscript')) {
    test(`${where(b)} (AssemblyScript) builds with asc --bindings esm and instantiates through them, running its top level`, async () => {
      const name = nameOf(b, 'ts');
      writeFileSync(join(asDir, name), b.code);
      const out = name.replace(/\.ts$/, '.wasm');
      const r = await node([asc, name, '--config', 'asconfig.json', '--bindings', 'esm', '-o', out], asDir);
      assert.equal(r.code, 0, `${where(b)}:\n${r.stderr}`);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(asDir, out)))).map((i) => `${i.module}.${i.name}`);
      assert.deepEqual(imports.filter((i) => i !== 'env.abort'), [], 'nothing to give it but what AssemblyScript imports');
      await import(pathToFileURL(join(asDir, out.replace(/\.wasm$/, '.js'))).href);
    });
  }

  for (const b of blocks.filter((x) => kindOf(x) === 'c')) {
    test(`${where(b)} (C) compiles with @yowasp/clang and ralloc_import.c, and exits with 0 on the debug build`, async () => {
      const { wasm } = await compileC({ sources: { [b.file ?? 'prog.c']: b.code }, flags: ['-Wall', '-Werror'] });
      const r = await runProgram(wasm, { build: 'debug' });
      assert.equal(r.exitCode, 0, Buffer.from(r.stderr).toString());
      assert.equal(r.heap.check(), 0);
    });
  }
});

describe('names the docs list are the names the code has', () => {
  const read = (path) => readFileSync(join(ROOT, path), 'utf8');
  /** The first column of the Markdown table whose header row starts with `| header |`, without backticks. */
  const column = (text, header) => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`| ${header} |`));
    assert.ok(at >= 0, `a table headed ${header}`);
    const rows = [];
    for (let i = at + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].split('|')[1].trim());
    return rows;
  };

  test('docs/API.md\'s Errors table lists every code bindings/errors.ts declares, and no other', () => {
    const declared = [...read('bindings/errors.ts').match(/export type RallocErrorCode =([^;]+);/)[1].matchAll(/"(E_[A-Z_]+)"/g)].map((m) => m[1]);
    assert.ok(declared.length >= 13);
    const listed = column(read('docs/API.md'), 'code').map((c) => c.replace(/`/g, ''));
    assert.deepEqual([...listed].sort(), [...declared].sort());
  });

  test('docs/API.md\'s createHeap options are the options createHeap takes', () => {
    const listed = column(read('docs/API.md'), 'option').flatMap((c) => [...c.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    let taken;
    try { createHeap({ notAnOption: 1 }); } catch (e) { taken = /its options are (.+)$/.exec(e.message)[1].split(', '); }
    assert.deepEqual([...listed].sort(), [...taken].sort());
  });

  test('docs/STATS.md\'s stats table names ralloc.h\'s fields and HeapStats\'s', () => {
    const text = read('docs/STATS.md');
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('| offset | C field'));
    const rows = [];
    for (let i = at + 2; lines[i]?.startsWith('|'); i++) rows.push(lines[i].split('|').map((c) => c.trim()));
    const cFields = rows.map((r) => /`(\w+)`/.exec(r[2])[1]);
    const header = read('bindings/c/ralloc.h');
    const struct = /typedef struct ralloc_stats \{([^}]+)\}\s*ralloc_stats_t;/.exec(header)[1];
    assert.deepEqual(cFields, [...struct.matchAll(/\b(\w+);/g)].map((m) => m[1]));
    const jsFields = rows.map((r) => /`(\w+)`/.exec(r[3])?.[1]).filter(Boolean);
    assert.deepEqual([...jsFields].sort(), Object.keys(createHeap().stats()).sort());
  });

  test('docs/API.md\'s list of the AssemblyScript library\'s exports is assembly/index.ts\'s', () => {
    const api = read('docs/API.md');
    const paragraph = api.slice(api.indexOf('It exports the C names as they are'), api.indexOf('A module that uses it imports nothing'));
    const listed = new Set([...paragraph.matchAll(/`(\w+)(?:\(\w*\))?`/g)].map((m) => m[1]));
    const source = read('assembly/index.ts');
    const exported = new Set([
      ...[...source.matchAll(/^export (?:function|class|const) (\w+)/gm)].map((m) => m[1]),
      ...[...source.matchAll(/^export \{([^}]+)\} from/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim()).filter(Boolean)),
    ]);
    const classMembers = ['over', 'grow', 'alloc', 'free', 'realloc', 'usableSize', 'check', 'stats', 'destroy'];
    for (const name of exported) assert.ok(listed.has(name), `${name} is exported but docs/API.md does not list it`);
    for (const name of listed) assert.ok(exported.has(name) || classMembers.includes(name), `docs/API.md lists ${name}, which assembly/index.ts does not export`);
    for (const name of classMembers.filter((m) => m !== 'over' && m !== 'grow')) assert.match(source, new RegExp(`^  ${name}\\(`, 'm'), `LocalHeap.${name}`);
  });
});
