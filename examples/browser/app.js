// The browser demo (examples/browser/index.html): ralloc-wasm's bindings loaded as an ES module,
// with no bundler, a heap made with createHeap, and the page showing its heap map, its figures, its
// log and the misuse messages of the guarded builds. `npm run serve` serves it.
import * as rw from '../../dist/bindings/index.js';
import { WORKLOADS, rng } from './workloads.js';
import { runChecks } from './selftest.js';

/** The builds the page offers, with what each is for (docs/BUILDS.md). */
const BUILDS = {
  release: 'The fast build: small requests go to size-class pages. A misuse is not checked.',
  debug: 'Every block guarded and every misuse stopped with one exact message; log lines and the allocation tracker.',
  security: 'Hardened: guarded blocks keyed by a secret, misuse stopped, memory zeroed on free.',
  small: 'The least code with the whole API: no pages, every block in the general heap.',
};
const LOG_LINES = 400;

/** The element with this id. */
const $ = (id) => document.getElementById(id);
const state = { heap: null, build: 'release', tracker: null, live: new Map(), mine: [], freed: [], log: [], busy: false };

/** For the browser console and tests/browser.test.js: the bindings and the current heap. */
window.demo = { rw, state, get heap() { return state.heap; } };

/** Formats a byte count for people: 1,536 B, 12.0 KiB, 3.25 MiB. */
function bytes(n) {
  if (n < 10240) return `${n.toLocaleString('en-US')} B`;
  if (n < 10 * 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(2)} MiB`;
}

/** An address as the misuse messages write it. */
const hex = (p) => `0x${p.toString(16).padStart(8, '0')}`;

/** Appends log lines, keeping the last LOG_LINES; level-1 lines are misuse reports. */
function addLog(line, level) {
  state.log.push({ line, level });
  if (state.log.length > LOG_LINES) state.log.splice(0, state.log.length - LOG_LINES);
}

/** Makes a new empty heap of the chosen build, with the chosen log level and tracker. */
async function newHeap() {
  state.tracker?.stop();
  const build = $('build').value;
  await rw.loadBuild(build);
  const logLevel = Number($('log-level').value);
  const guarded = build === 'debug' || build === 'security';
  state.heap = rw.createHeap({ build, maximumPages: 4096, ...(guarded ? { onLog: addLog, logLevel } : {}) });
  state.build = build;
  state.tracker = build === 'debug' && $('track').checked ? state.heap.track() : null;
  Object.assign(state, { live: new Map(), mine: [], freed: [], log: [] });
  hideMessages();
  $('progress').textContent = '';
  render();
}

/** Hides the misuse and error boxes. */
function hideMessages() {
  $('misuse').hidden = true;
  $('error').hidden = true;
}

/** Shows what went wrong: a misuse message in the red box, anything else in the orange one. */
function showError(e) {
  if (e instanceof rw.RallocError && e.code === 'E_MISUSE') {
    $('misuse-text').textContent = e.message;
    $('misuse-note').textContent = `The ${state.build} build stopped the call at the misuse (docs/DEBUGGING.md lists every message). ` +
      'Make a new heap to start again.';
    $('misuse').hidden = false;
  } else {
    $('error').textContent = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    $('error').hidden = false;
  }
}

/** Redraws the figures, the heap map, your blocks, the log and the tracker's report. */
function render() {
  const heap = state.heap;
  const s = heap.stats();
  const memory = heap.memory.buffer.byteLength;
  const rows = [
    ['build', 'Build', state.build],
    ['memory', 'Memory', `${bytes(memory)} (${memory / 65536} page${memory === 65536 ? '' : 's'})`, memory],
    ['liveBlocks', 'Blocks in use', s.liveBlocks.toLocaleString('en-US'), s.liveBlocks],
    ['bytesInUse', 'Bytes in use', bytes(s.bytesInUse), s.bytesInUse],
    ['peakBytesHeld', 'Most bytes held at once', bytes(s.peakBytesHeld), s.peakBytesHeld],
    ['bytesFromMemory', 'Claimed from memory', bytes(s.bytesFromMemory), s.bytesFromMemory],
    ['growCalls', 'memory.grow calls', String(s.growCalls), s.growCalls],
    ['mallocCalls', 'malloc calls', s.mallocCalls.toLocaleString('en-US'), s.mallocCalls],
    ['freeCalls', 'free calls', s.freeCalls.toLocaleString('en-US'), s.freeCalls],
    ['reallocCalls', 'realloc calls', s.reallocCalls.toLocaleString('en-US'), s.reallocCalls],
    ['check', 'Heap check', heap.check() === 0 ? 'sound' : `broken (code ${heap.check()})`, heap.check()],
  ];
  $('stats').tBodies[0].replaceChildren(...rows.map(([key, label, text, value]) => {
    const tr = document.createElement('tr');
    tr.dataset.stat = key;
    if (value !== undefined) tr.dataset.value = String(value);
    tr.append(cell(label), cell(text));
    return tr;
  }));
  // the SVG is made by the bindings from the heap's own numbers: no text from outside goes in it
  $('map').innerHTML = heap.heapMap({ width: Math.max(480, Math.min(1100, $('map').clientWidth || 900)), title: `${state.build} build` });
  renderBlocks();
  const log = $('log');
  if (state.log.length === 0) log.textContent = 'nothing logged yet';
  else log.replaceChildren(...state.log.map(({ line, level }) => {
    const span = document.createElement('span');
    if (level === 1) span.className = 'misuse-line';
    span.textContent = `${line}\n`;
    return span;
  }));
  log.scrollTop = log.scrollHeight;
  const guarded = state.build === 'debug' || state.build === 'security';
  $('log-hint').textContent = guarded ? `last ${LOG_LINES} lines` : 'the release and small builds send no log lines';
  $('leaks-card').hidden = state.tracker === null;
  if (state.tracker) $('leaks').textContent = state.tracker.report() || 'nothing tracked is live';
}

/** A table cell holding text. */
function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

/** Lists the blocks allocated by hand, each with its own free button. */
function renderBlocks() {
  $('blocks').replaceChildren(...state.mine.map(({ p, size }) => {
    const li = document.createElement('li');
    li.dataset.address = String(p);
    const label = document.createElement('span');
    label.innerHTML = `<code></code> · ${size.toLocaleString('en-US')} B`;
    label.firstChild.textContent = hex(p);
    const free = document.createElement('button');
    free.type = 'button';
    free.textContent = 'free';
    free.addEventListener('click', () => act(() => freeMine(p)));
    li.append(label, free);
    return li;
  }));
}

/** Runs one user action: errors go to the message boxes, and the page is redrawn after it. */
async function act(fn) {
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.state = 'busy';
  try {
    await fn();
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
    try { render(); } catch (e) { showError(e); }
    document.body.dataset.state = 'idle';
  }
}

/** Frees one of the blocks allocated by hand, remembering it for the double-free button. */
function freeMine(p) {
  const i = state.mine.findIndex((b) => b.p === p);
  const [block] = state.mine.splice(i, 1);
  state.heap.free(p);
  state.freed.push(block);
}

/** Parses the sizes box: positive integers; throws saying what is wrong. */
function parseSizes(text) {
  const words = text.trim().split(/[\s,]+/).filter(Boolean);
  if (words.length === 0) throw new Error('type one size or more, such as 24 100 4096');
  return words.map((w) => {
    if (!/^\d+$/.test(w) || Number(w) < 1 || Number(w) > 0x7fffffff) throw new Error(`"${w}" is not a size in bytes (a whole number from 1)`);
    return Number(w);
  });
}

/** Runs the chosen workload on the heap, redrawing at every step it yields ("watch"), or else about 20 times a second. */
async function runWorkload() {
  const name = $('workload').value;
  const w = WORKLOADS[name];
  const n = Number($('ops').value);
  if (!Number.isInteger(n) || n < 1 || n > 1000000) throw new Error(`operations: a whole number from 1 to 1,000,000, not "${$('ops').value}"`);
  const seed = Number($('seed').value);
  if (!Number.isInteger(seed) || seed < 1) throw new Error(`seed: a whole number from 1, not "${$('seed').value}"`);
  const started = performance.now();
  const watch = $('watch').checked;
  let shown = started;
  for (const done of w.run(state.heap, n, rng(seed), state.live)) {
    if (watch || performance.now() - shown > 50) {
      $('progress').textContent = `${name}: ${done.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} operations`;
      render();
      await new Promise((r) => requestAnimationFrame(() => r()));
      shown = performance.now();
    }
  }
  $('progress').textContent = `${name}: ${n.toLocaleString('en-US')} operations in ${Math.round(performance.now() - started)} ms; ${state.live.size.toLocaleString('en-US')} of its blocks are still live`;
}

/** Wires the controls, makes the first heap and marks the page ready. */
async function start() {
  for (const name of Object.keys(BUILDS)) $('build').add(new Option(name, name));
  for (const name of Object.keys(WORKLOADS)) $('workload').add(new Option(name, name));
  const hints = () => {
    $('build-hint').textContent = BUILDS[$('build').value];
    const w = WORKLOADS[$('workload').value];
    $('workload-hint').textContent = w.title;
  };
  $('build').addEventListener('change', () => { hints(); act(newHeap); });
  $('log-level').addEventListener('change', () => act(() => {
    if (state.build === 'debug' || state.build === 'security') state.heap.setLogLevel(Number($('log-level').value));
  }));
  $('track').addEventListener('change', () => act(newHeap));
  $('workload').addEventListener('change', () => { hints(); $('ops').value = String(WORKLOADS[$('workload').value].ops); });
  $('new-heap').addEventListener('click', () => act(newHeap));
  $('run').addEventListener('click', () => act(runWorkload));
  $('malloc').addEventListener('click', () => act(() => {
    for (const size of parseSizes($('sizes').value)) {
      const p = state.heap.malloc(size);
      if (p === 0) throw new Error(`malloc(${size}) returned NULL: out of memory`);
      state.heap.HEAPU8.fill(0xab, p, p + size);
      state.mine.push({ p, size });
    }
  }));
  $('free-all').addEventListener('click', () => act(() => {
    for (const { p } of [...state.mine]) freeMine(p);
    for (const p of state.live.keys()) state.heap.free(p);
    state.live.clear();
  }));
  $('double-free').addEventListener('click', () => act(() => {
    const last = state.freed.at(-1);
    if (!last) throw new Error('malloc a block and free it first: this button frees it a second time');
    if (state.mine.some((b) => b.p === last.p)) {
      throw new Error(`${hex(last.p)} was handed out again by a later malloc, so freeing it now would be no misuse; free another block first`);
    }
    state.heap.free(last.p);
    if (state.build === 'release' || state.build === 'small') {
      $('progress').textContent = `free(${hex(last.p)}) again returned: the ${state.build} build does not check (the heap stays sound)`;
    }
  }));
  $('interior-free').addEventListener('click', () => act(() => {
    const block = state.mine.find((b) => b.size > 16);
    if (!block) throw new Error('malloc a block of more than 16 bytes first: this button frees an address 8 bytes into it');
    state.heap.free(block.p + 8);
    if (state.build === 'release' || state.build === 'small') {
      $('progress').textContent = `free(${hex(block.p + 8)}) returned: the ${state.build} build does not check`;
    }
  }));
  $('selftest').addEventListener('click', () => act(async () => {
    const list = $('selftest-results');
    list.replaceChildren();
    for (const r of await runChecks(rw)) {
      const li = document.createElement('li');
      li.className = r.ok ? 'pass' : 'fail';
      li.innerHTML = '<span class="verdict"></span> <span class="name"></span>';
      li.querySelector('.verdict').textContent = r.ok ? 'pass' : 'FAIL';
      li.querySelector('.name').textContent = r.ok ? r.name : `${r.name}: ${r.error}`;
      list.append(li);
    }
    list.dataset.done = 'true';
  }));
  $('ops').value = String(WORKLOADS[$('workload').value].ops);
  hints();
  await newHeap();
  document.body.dataset.state = 'idle';
}

start().catch((e) => {
  showError(e);
  document.body.dataset.state = 'failed';
});
