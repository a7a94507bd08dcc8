// The architecture of assembly/, enforced: docs/ARCHITECTURE.md's map lists every source file
// once, in layer order (base, platform, diag, core, small, heaps, features, inspect, ops,
// entry, runtime), and a file may import only files listed before it (its own layer's earlier files, or
// layers below): no upward import, no cycle. Only the shim touches memory.grow / memory.size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asm = join(root, 'assembly');
const LAYERS = ['base', 'platform', 'diag', 'core', 'small', 'heaps', 'features', 'inspect', 'ops', 'entry', 'runtime'];

/** Every .ts file under assembly/, as a path relative to assembly/. */
function sources(dir = asm) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(relative(asm, path));
  }
  return out.sort();
}

/** The map's rows: `| layer | \`path\` | what |`, in order. */
export function mapRows(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^\|\s*([a-z]+)\s*\|\s*`([^`]+\.ts)`\s*\|/.exec(line);
    if (m) rows.push({ layer: m[1], file: m[2] });
  }
  return rows;
}

/** The assembly/ files that `file` imports or re-exports from (relative specifiers only). */
export function importsOf(file, text) {
  const out = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g;
  for (let m; (m = re.exec(text)); ) out.push(normalize(join(dirname(file), m[1])) + '.ts');
  return out;
}

/** Upward or unlisted imports of a set of files, given their order: a list of messages. */
export function violations(rows, readSource) {
  const rank = new Map(rows.map((r, i) => [r.file, i]));
  const problems = [];
  for (const { file } of rows) {
    for (const dep of importsOf(file, readSource(file))) {
      if (!rank.has(dep)) problems.push(`${file} imports ${dep}, which the map does not list`);
      else if (rank.get(dep) >= rank.get(file)) problems.push(`${file} imports ${dep}, listed after it (an upward or circular import)`);
    }
  }
  return problems;
}

describe('the architecture of assembly/', () => {
  const rows = mapRows(readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8'));
  const read = (file) => readFileSync(join(asm, file), 'utf8');

  it('the map lists every source file exactly once, and no file that is not there', () => {
    const listed = rows.map((r) => r.file);
    assert.deepEqual([...listed].sort(), sources());
    assert.equal(new Set(listed).size, listed.length);
  });

  it('each file sits in its layer\'s folder, and the layers come in order, each once', () => {
    for (const { layer, file } of rows) {
      assert.ok(LAYERS.includes(layer), `unknown layer ${layer}`);
      // the package's entry (index.ts) sits at the top of assembly/, in the entry layer
      assert.equal(file === 'index.ts' ? 'entry' : file.split('/')[0], layer, `${file} is not in ${layer}/`);
    }
    const order = rows.map((r) => r.layer).filter((l, i, a) => i === 0 || a[i - 1] !== l);
    assert.deepEqual(order, LAYERS);
  });

  it('every import goes to a file listed earlier: its own layer\'s earlier files or a layer below', () => {
    assert.deepEqual(violations(rows, read), []);
  });

  it('only the shim calls memory.grow or memory.size', () => {
    for (const { file } of rows) {
      if (file === 'platform/shim.ts') continue;
      const code = read(file).replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      assert.doesNotMatch(code, /memory\.(grow|size)\s*\(/, file);
    }
  });

  it('the check itself fails on an upward import and on a cycle', () => {
    const files = { 'base/a.ts': 'import { x } from "../core/b";', 'core/b.ts': 'export const x = 1;' };
    const rows2 = [{ layer: 'base', file: 'base/a.ts' }, { layer: 'core', file: 'core/b.ts' }];
    assert.equal(violations(rows2, (f) => files[f]).length, 1);
    const cyc = { 'core/a.ts': 'import { y } from "./b";', 'core/b.ts': 'import { x } from "./a";' };
    const rows3 = [{ layer: 'core', file: 'core/a.ts' }, { layer: 'core', file: 'core/b.ts' }];
    assert.equal(violations(rows3, (f) => cyc[f]).length, 1);
  });
});
