// The memory-validating variant of the debug build (build/validate.wasm): ralloc_check() runs
// after every operation, so the first operation after a corruption stops with its message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInstance } from './lib/instance.js';

/** A validate instance whose reports throw, recording (code, op, addr, size, aux). */
function validating() {
  const reports = [];
  const r = createInstance('validate', {
    heapBase: 1024,
    hooks: {
      'ralloc_hooks.report': (...a) => {
        reports.push(a.map((x) => x >>> 0));
        throw new Error(`report ${a.map((x) => x >>> 0).join(',')}`);
      },
    },
  });
  return { r, reports };
}

/** A small deterministic generator (xorshift32). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

describe('validate build', () => {
  it('imports the report hook and sends events (its debug half)', () => {
    const { r } = validating();
    const names = WebAssembly.Module.imports(r.module).map((i) => `${i.module}.${i.name}`);
    assert.ok(names.includes('ralloc_hooks.report'), names.join(' '));
    assert.ok(names.includes('ralloc_hooks.event'), names.join(' '));
    assert.equal(r.exports.ralloc_set_log_level(0) >>> 0, 3, 'events up to level 3 are compiled in');
  });

  it('runs 3,000 random operations, each followed by a whole-heap check, without a report', () => {
    const { r, reports } = validating();
    const rnd = rng(7);
    const live = [];
    for (let i = 0; i < 3000; i++) {
      const k = rnd();
      if (k < 0.45 || live.length < 4) {
        const p = r.malloc(Math.floor(rnd() * (rnd() < 0.9 ? 200 : 5000)));
        assert.notEqual(p, 0);
        live.push(p);
      } else if (k < 0.8) {
        r.free(live.splice(Math.floor(rnd() * live.length), 1)[0]);
      } else {
        const j = Math.floor(rnd() * live.length);
        const q = r.realloc(live[j], 1 + Math.floor(rnd() * 3000));
        assert.notEqual(q, 0);
        live[j] = q;
      }
    }
    for (const p of live) r.free(p);
    assert.deepEqual(reports, []);
    assert.equal(r.check(), 0);
  });

  it('stops at the first operation after a free block is overwritten, naming the check and the address', () => {
    const { r, reports } = validating();
    const a = r.malloc(100), b = r.malloc(100), c = r.malloc(100);
    r.free(b); // with a and c live, b stays a block of its own (free or cached)
    const m = new Uint32Array(r.memory.buffer);
    // a write after free over b's first word (its list link) and its header's size
    m[(b - 4) >>> 2] = 0x12340; // a header claiming a size that runs past the span
    assert.throws(() => r.malloc(8), /report 10,7,/);
    const [code, op, addr, check] = reports[0];
    assert.equal(code, 10, 'CHECK');
    assert.equal(op, 7, 'after malloc');
    assert.ok(check >= 1 && check <= 17, `a check code (${check})`);
    assert.ok(addr >= a && addr <= c, `the address lies where the damage is (0x${addr.toString(16)})`);
  });

  it('stops at the first operation after a canary is overwritten, as a write past the end', () => {
    const { r, reports } = validating();
    const p = r.malloc(24);
    const keep = r.malloc(24);
    new Uint8Array(r.memory.buffer)[p + 24] ^= 0xff; // one byte past the request
    assert.throws(() => r.free(keep));
    // free(keep) itself is fine; the walk after it finds p's canary broken
    assert.deepEqual(reports[0].slice(0, 4), [10, 1, p, 17]);
  });
});
