// The example C programs (examples/c/) and the runs the tests give them: each program's sample
// input (examples/c/input/) and a larger generated one, with their command-line arguments. Shared
// by tests/examples.test.js (clang, wasi-libc) and tests/emscripten.test.js (emcc).
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url);

/** A deterministic pseudo-random sequence (so every run feeds the same input). */
function rng(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** wordfreq's larger input: 4,000 lines of words drawn Zipf-like from 3,000, some upper case, and one long word. */
function wordsInput() {
  const r = rng(1);
  const vocab = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}${'xyz'.slice(0, i % 4)}`);
  const lines = [];
  for (let i = 0; i < 4000; i++) {
    const n = 1 + r(15);
    const words = [];
    for (let k = 0; k < n; k++) {
      // Zipf-like: small indices far more often, so counts differ and the hash table is busy.
      const w = vocab[Math.floor(vocab.length * (r(1000) / 1000) ** 3)];
      words.push(r(10) === 0 ? w.toUpperCase() : w);
    }
    lines.push(words.join(r(3) === 0 ? ', ' : ' ') + (r(5) === 0 ? '.' : ''));
  }
  lines.push("don't stop-words O'Brien " + 'a'.repeat(300)); // a long word grows the word buffer
  return lines.join('\n') + '\n';
}

/** exprtree's larger input: 3,000 lines of expressions, bindings, syntax errors and unbound names. */
function exprsInput() {
  const r = rng(2);
  const vars = [];
  const expr = (depth) => {
    const k = r(depth > 4 ? 2 : 6);
    if (k === 0) return String(r(1000));
    if (k === 1) return vars.length && r(2) ? vars[r(vars.length)] : String(r(50));
    if (k === 2) return `-${expr(depth + 1)}`;
    if (k === 3) return `(${expr(depth + 1)})`;
    return `${expr(depth + 1)} ${'+-*/%'[r(5)]} ${expr(depth + 1)}`;
  };
  const lines = ['# generated'];
  for (let i = 0; i < 3000; i++) {
    const c = r(20);
    if (c === 0) lines.push(`${expr(0)} +`); // a syntax error
    else if (c === 1) lines.push(`undefined_${i} * 2`); // an unbound variable
    else if (c < 5) {
      const v = `v${i}`;
      lines.push(`let ${v} = ${expr(0)}`);
      vars.push(v);
    } else lines.push(expr(0));
  }
  return lines.join('\n') + '\n';
}

/** records' larger input: 6,000 CSV lines with a few broken ones. */
function recordsInput() {
  const r = rng(3);
  const teams = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'];
  const lines = ['# name,team,score'];
  for (let i = 0; i < 6000; i++) {
    const c = r(200);
    if (c === 0) lines.push(`broken line ${i}`);
    else if (c === 1) lines.push(`n${i},${teams[r(7)]},not-a-number`);
    else lines.push(`${'person'.slice(0, 1 + r(6))}_${r(5000)},${teams[r(7)]},${r(100000) - 20000}`);
  }
  return lines.join('\n') + '\n';
}

/** Each example program and its runs: arguments (program name first) and stdin. */
export const EXAMPLES = [
  { name: 'wordfreq', runs: [
    { args: ['wordfreq'], input: readFileSync(new URL('examples/c/input/words.txt', ROOT), 'utf8') },
    { args: ['wordfreq', '0'], input: wordsInput() },
  ] },
  { name: 'exprtree', runs: [
    { args: ['exprtree'], input: readFileSync(new URL('examples/c/input/exprs.txt', ROOT), 'utf8') },
    { args: ['exprtree'], input: exprsInput() },
  ] },
  { name: 'records', runs: [
    { args: ['records'], input: readFileSync(new URL('examples/c/input/records.csv', ROOT), 'utf8') },
    { args: ['records'], input: recordsInput() },
  ] },
];
