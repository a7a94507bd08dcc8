// One source for the numbers a host reads: assembly/base/abi.ts defines them; the TypeScript
// bindings (bindings/abi.ts, as built into dist/) and the C header (bindings/c/ralloc.h) must say
// the same, and the builds must behave as they say (the struct sizes they report, the codes
// they name).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROOT, bindings } from './lib/dist.js';
import { createInstance } from './lib/instance.js';

/** `export const NAME: type = value;` lines of assembly/base/abi.ts, as a Map. */
export function asConstants(text) {
  const out = new Map();
  for (const m of text.matchAll(/^export const (\w+): \w+ = (\d+);/gm)) out.set(m[1], Number(m[2]));
  return out;
}

/** The entries of abi.ts whose name starts with `prefix`, keyed by the rest of the name. */
function group(consts, prefix) {
  return Object.fromEntries([...consts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** BYTES_IN_USE -> bytesInUse; bytes_in_use -> bytesInUse. */
const camel = (s) => s.toLowerCase().replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** The fields of `typedef struct NAME { ... } NAME_t;` in ralloc.h, with their offsets. */
function cStruct(header, name) {
  const m = new RegExp(`typedef struct ${name} \\{([\\s\\S]*?)\\} ${name}_t;`).exec(header);
  assert.ok(m, `ralloc.h declares ${name}_t`);
  const fields = {};
  let at = 0;
  for (const f of m[1].matchAll(/uint(32|64)_t\s+(\w+);/g)) {
    const size = Number(f[1]) / 8;
    at = Math.ceil(at / size) * size;
    fields[camel(f[2])] = at;
    at += size;
  }
  return { fields, size: at };
}

/** `PREFIX_NAME = value` entries of ralloc.h's enums, keyed by NAME. */
function cEnum(header, prefix) {
  return Object.fromEntries([...header.matchAll(new RegExp(`\\b${prefix}(\\w+) = (\\d+)`, 'g'))].map((m) => [m[1], Number(m[2])]));
}

const consts = asConstants(readFileSync(`${ROOT}assembly/base/abi.ts`, 'utf8'));
const header = readFileSync(`${ROOT}bindings/c/ralloc.h`, 'utf8');

describe('the ABI, defined once in assembly/base/abi.ts', () => {
  it('abi.ts parses into the tables this test compares (none of them empty)', () => {
    for (const prefix of ['CHECK_', 'M_', 'OP_', 'EV_', 'INFO_', 'ST_', 'LY_']) {
      assert.ok(Object.keys(group(consts, prefix)).length > 0, prefix);
    }
  });

  it('the bindings say the same numbers: errno, check codes, reports, ops, events, block kinds', () => {
    assert.deepEqual({ ...bindings.ERRNO }, { EINVAL: consts.get('EINVAL'), ENOMEM: consts.get('ENOMEM') });
    assert.deepEqual({ ...bindings.CHECK }, group(consts, 'CHECK_'));
    assert.deepEqual({ ...bindings.REPORT }, group(consts, 'M_'));
    assert.deepEqual({ ...bindings.OP }, group(consts, 'OP_'));
    assert.deepEqual({ ...bindings.EVENT }, group(consts, 'EV_'));
    assert.deepEqual({ ...bindings.INFO }, group(consts, 'INFO_'));
    const { FREE, CACHED, LEAD_DEAD, OBJECT, PAGE, TABLE } = group(consts, 'INFO_');
    assert.deepEqual(
      [bindings.BLOCK_FREE, bindings.BLOCK_CACHED, bindings.BLOCK_LEAD_DEAD, bindings.BLOCK_OBJECT, bindings.BLOCK_PAGE, bindings.BLOCK_TABLE],
      [FREE, CACHED, LEAD_DEAD, OBJECT, PAGE, TABLE]);
  });

  it('every report code and check code has a name and a message of its own', () => {
    for (const code of Object.values(group(consts, 'CHECK_'))) assert.notEqual(bindings.checkName(code), 'UNKNOWN', `check ${code}`);
    for (const op of Object.values(group(consts, 'OP_'))) assert.doesNotMatch(bindings.opName(op), /^op \d/, `op ${op}`);
    for (const code of Object.values(group(consts, 'M_'))) {
      assert.doesNotMatch(bindings.reportMessage(code, 1, 64, 8, 0), /misuse report \d/, `report ${code}`);
    }
  });

  it('the stats and layout structs: the bindings\' offsets, and ralloc.h\'s fields, names and sizes', () => {
    const st = Object.fromEntries(Object.entries(group(consts, 'ST_')).map(([k, v]) => [camel(k), v]));
    const ly = Object.fromEntries(Object.entries(group(consts, 'LY_')).map(([k, v]) => [camel(k), v]));
    assert.deepEqual({ ...bindings.STATS.OFFSET }, st);
    assert.deepEqual({ ...bindings.LAYOUT.OFFSET }, ly);
    assert.equal(bindings.STATS.SIZE, consts.get('STATS_SIZE'));
    assert.equal(bindings.STATS.VERSION, consts.get('STATS_VERSION'));
    assert.equal(bindings.LAYOUT.SIZE, consts.get('LAYOUT_SIZE'));
    assert.equal(bindings.LAYOUT.VERSION, consts.get('LAYOUT_VERSION'));
    const cs = cStruct(header, 'ralloc_stats');
    assert.deepEqual(cs.fields, st);
    assert.equal(cs.size, consts.get('STATS_SIZE'));
    const cl = cStruct(header, 'ralloc_layout');
    assert.deepEqual(cl.fields, ly);
    assert.equal(cl.size, consts.get('LAYOUT_SIZE'));
  });

  it('ralloc.h names every check code and block kind', () => {
    assert.deepEqual(cEnum(header, 'RALLOC_CHECK_'), group(consts, 'CHECK_'));
    assert.deepEqual(cEnum(header, 'RALLOC_INFO_'), group(consts, 'INFO_'));
  });

  it('ralloc.h declares every export of the builds (but the malloc family, which stdlib.h does)', () => {
    const family = new Set(['malloc', 'free', 'realloc', 'calloc', 'aligned_alloc', 'posix_memalign', 'memalign', 'malloc_usable_size', 'sbrk']);
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(`${ROOT}build/release.wasm`)))
      .filter((e) => e.kind === 'function' && !family.has(e.name)).map((e) => e.name);
    for (const name of exports) assert.match(header, new RegExp(`\\b${name}\\(`), `ralloc.h declares ${name}`);
  });

  it('the builds fill the structs as they say: their sizes and versions', () => {
    for (const build of ['release', 'small', 'debug', 'tiny']) {
      const r = createInstance(build, { initial: 2 });
      assert.notEqual(r.malloc(10), 0);
      const dv = () => new DataView(r.memory.buffer);
      assert.equal(r.exports.ralloc_stats(0), consts.get('STATS_SIZE'), build);
      r.exports.ralloc_stats(64);
      assert.equal(dv().getUint32(64 + consts.get('ST_SIZE'), true), consts.get('STATS_SIZE'), build);
      assert.equal(dv().getUint32(64 + consts.get('ST_VERSION'), true), consts.get('STATS_VERSION'), build);
      assert.equal(dv().getUint32(64 + consts.get('ST_LIVE_BLOCKS'), true), 1, build);
      if (build === 'tiny') continue; // tiny has no layout call
      assert.equal(r.exports.ralloc_layout(0), consts.get('LAYOUT_SIZE'), build);
      r.exports.ralloc_layout(64);
      assert.equal(dv().getUint32(64 + consts.get('LY_VERSION'), true), consts.get('LAYOUT_VERSION'), build);
      assert.equal(dv().getUint32(64 + consts.get('LY_MEMORY_END'), true), r.memory.buffer.byteLength, build);
    }
  });
});
