// bench/lib/icount.js, the instruction counter behind `npm run bench:hotpath`: on a small
// module whose counts are worked out by hand, every counter must be exact, and the rewritten
// module must compute what the original does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import wabtInit from 'wabt';
import { instrumentCounts, readCounts, readFunctionCounts } from '../bench/lib/icount.js';

const wabt = await wabtInit();
function wat(src) {
  const m = wabt.parseWat('t.wat', src, { mutable_globals: true });
  try { m.validate(); return m.toBinary({}).buffer; } finally { m.destroy(); }
}

// per iteration: br_if check 4 instructions; if 4; then-arm (odd i) 3 with a store, or
// else-arm (even i) 5 with a load; the call 3 plus 3 in the callee; br 1. The last check
// (taken) 4, then local.get 1.
const SRC = `(module
  (memory 1)
  (global $g (mut i32) (i32.const 7))
  (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "f") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (i32.store (i32.const 0) (local.get $i)))
          (else (local.set $s (i32.add (local.get $s) (i32.load (i32.const 0))))))
        (local.set $i (call $inc (local.get $i)))
        (br $top)))
    (local.get $s))
  (func (export "g") (result i32) global.get $g))`;

function expected(n) {
  const even = Math.ceil(n / 2), odd = Math.floor(n / 2);
  return {
    instructions: 20 * even + 18 * odd + 5, loads: even, stores: odd, branches: 3 * n + 1, calls: n,
    br_ifs: n + 1, brs: n, br_tables: 0, returns: 0, br_if_fallthroughs: n, else_jumps: odd,
    implicit_returns: n + 1, entries_with_locals: 1, drops: 0,
  };
}

describe('icount: counting executed instructions', () => {
  const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(SRC))).exports;
  const { bytes } = instrumentCounts(new Uint8Array(wat(SRC)));
  const mod = new WebAssembly.Module(bytes);

  it('keeps the module valid, its globals numbered as before, its results unchanged', () => {
    const x = new WebAssembly.Instance(mod).exports;
    for (const n of [0, 1, 7, 10]) assert.equal(x.f(n), plain.f(n));
    assert.equal(x.g(), 7);
  });

  for (const n of [0, 1, 10, 11]) {
    it(`counts f(${n}) exactly`, () => {
      const x = new WebAssembly.Instance(mod).exports;
      const before = readCounts(x);
      x.f(n);
      const after = readCounts(x);
      const got = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
      assert.deepEqual(got, expected(n));
    });
  }

  it('per function (bench:profile): $inc runs 3 instructions a call, f the rest, and the results stay the same', () => {
    const x = new WebAssembly.Instance(new WebAssembly.Module(instrumentCounts(new Uint8Array(wat(SRC)), { perFunction: true }).bytes)).exports;
    const y = new WebAssembly.Instance(new WebAssembly.Module(wat(SRC))).exports; // (f's result depends on memory)
    for (const n of [0, 1, 10, 11]) {
      const before = readFunctionCounts(x);
      assert.equal(x.f(n), y.f(n));
      const after = readFunctionCounts(x);
      assert.deepEqual(after.map((c, i) => c - before[i]), [3 * n, expected(n).instructions - 3 * n, 0], `f(${n})`);
    }
    assert.equal(x.g(), 7);
    assert.deepEqual(readFunctionCounts(x).slice(2), [1], 'g ran once: one global.get (its end is a marker)');
  });

  it('refuses an opcode it does not know rather than miscount', () => {
    // a GC-prefixed instruction (0xfb) in a function body
    const b = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 6, 1, 4, 0, 0xfb, 0, 0x0b]);
    assert.throws(() => instrumentCounts(b), /unknown opcode 0xfb/);
  });
});
