// The package in a real browser: headless Chromium from npm (@sparticuz/chromium, driven by
// puppeteer-core) loads the demo page (examples/browser/) from scripts/serve.js. The page imports
// the bindings as an ES module with nothing but the browser; a workload's figures and heap map
// must agree with a walk of the heap; a double free on the debug build must show its exact
// message on the page; a screenshot is saved and must not be blank; and the bindings'
// browser-safe checks (examples/browser/selftest.js) must pass inside the page. Where emcc is
// installed, an Emscripten program with the package's --pre-js runs in a page too, its options
// set in Module.ralloc and 'ralloc-wasm' found through an import map (docs/EMSCRIPTEN.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import chromium from '@sparticuz/chromium';
import puppeteer from 'puppeteer-core';

import { ROOT, bindings } from './lib/dist.js';
import { startServer } from '../scripts/serve.js';
import { EMCC_DIR, emcc, emccVersion } from '../bench/lib/emcc.js';

const { CHECKS } = await import('../examples/browser/selftest.js');
const SHOT = `${ROOT}.tmp/browser-demo.png`;

let server, url, browser, page;
const problems = []; // page errors, console errors and failed requests: there must be none
const requested = [];

before(async () => {
  ({ server, url } = await startServer(0));
  browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), headless: true, args: [...chromium.args, '--no-sandbox'] });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location()?.url?.endsWith('/no-such-build.wasm')) problems.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => {
    requested.push(r.url().slice(url.length));
    // the self-test asks for one missing file on purpose (loadBuild's E_NO_BUILD)
    if (r.status() >= 400 && !r.url().endsWith('/no-such-build.wasm')) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  await page.goto(`${url}/examples/browser/`);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 30000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Waits until the page has finished the action a click started. */
async function settle() {
  await page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 60000 });
}

test('the page loads the bindings as an ES module and makes a heap, with no bundler', async () => {
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'idle', await page.evaluate(() => document.getElementById('error').textContent));
  assert.deepEqual(problems, []);
  assert.ok(requested.includes('/dist/bindings/index.js') && requested.includes('/build/release.wasm'),
    `the page fetched the bindings and the build (${requested.join(', ')})`);
  assert.ok(requested.every((r) => /^\/(examples\/browser\/|dist\/bindings\/|build\/)/.test(r)), `nothing else (${requested.join(', ')})`);
});

test('a workload: the figures and the heap map agree with a walk of the heap', async () => {
  await page.select('#workload', 'fragment');
  await page.$eval('#ops', (e) => { e.value = '1500'; });
  await page.click('#run');
  await settle();
  const seen = await page.evaluate(() => {
    const { rw, heap } = window.demo;
    const live = heap.walk().filter((b) => rw.isLive(b));
    const stat = (k) => Number(document.querySelector(`#stats tr[data-stat="${k}"]`).dataset.value);
    const figures = document.querySelector('#map svg g#figures').dataset;
    const s = heap.stats();
    return {
      progress: document.getElementById('progress').textContent,
      walkLive: live.length, walkBytes: live.reduce((n, b) => n + b.size, 0), walkFree: heap.walk().filter((b) => b.state === 'free' && b.kind !== 'object').length,
      statsLive: s.liveBlocks, statsMalloc: s.mallocCalls, memory: heap.memory.buffer.byteLength,
      shown: { live: stat('liveBlocks'), malloc: stat('mallocCalls'), memory: stat('memory'), bytesInUse: stat('bytesInUse'), check: stat('check') },
      statsBytesInUse: s.bytesInUse,
      map: { used: Number(figures.usedBlocks), usedBytes: Number(figures.usedBytes), free: Number(figures.freeBlocks) },
      mapShapes: document.querySelectorAll('#map svg [data-kind="used"]').length,
    };
  });
  assert.match(seen.progress, /^fragment: 1,500 operations in \d+ ms; [\d,]+ of its blocks are still live$/);
  assert.ok(seen.walkLive > 100, `the workload left blocks live (${seen.walkLive})`);
  assert.equal(seen.shown.live, seen.walkLive, 'blocks in use on the page = live blocks in the walk');
  assert.equal(seen.statsLive, seen.walkLive, 'the stats agree with the walk');
  assert.equal(seen.shown.malloc, seen.statsMalloc);
  assert.ok(seen.statsMalloc >= 1500, `the workload's mallocs were counted (${seen.statsMalloc})`);
  assert.equal(seen.shown.bytesInUse, seen.statsBytesInUse);
  assert.equal(seen.shown.memory, seen.memory, 'memory on the page = the memory buffer');
  assert.equal(seen.shown.check, 0, 'heap check: sound');
  assert.equal(seen.map.used, seen.walkLive, 'blocks in use on the map = the walk');
  assert.equal(seen.map.usedBytes, seen.walkBytes, 'their bytes on the map = the walk');
  assert.equal(seen.map.free, seen.walkFree, 'free blocks on the map = the walk\'s (an empty object slot is page slack, not a free block)');
  assert.ok(seen.mapShapes > 0, 'the map draws blocks in use');
});

test('a double free on the debug build: the page shows the exact message', async () => {
  await page.select('#build', 'debug');
  await settle();
  await page.$eval('#sizes', (e) => { e.value = '24 300'; });
  await page.click('#malloc');
  await settle();
  const address = Number(await page.$eval('#blocks li', (li) => li.dataset.address));
  await page.click('#blocks li button');
  await settle();
  await page.click('#double-free');
  await settle();
  const shown = await page.evaluate(() => ({
    hidden: document.getElementById('misuse').hidden,
    text: document.getElementById('misuse-text').textContent,
    log: document.getElementById('log').textContent,
  }));
  const message = `ralloc: double free of 0x${address.toString(16).padStart(8, '0')} (24 bytes)`;
  assert.equal(shown.hidden, false, 'the misuse box is shown');
  assert.equal(shown.text, message);
  assert.ok(shown.log.split('\n').includes(`! : ${message}`), `the log has the misuse line:\n${shown.log}`);
});

test('a screenshot of the page is saved and is not blank', async () => {
  const png = await page.screenshot({ fullPage: true });
  mkdirSync(`${ROOT}.tmp`, { recursive: true });
  writeFileSync(SHOT, png);
  // decoded by the browser itself: the share of the commonest colour, and whether the heap
  // map's colour for blocks in use is there
  const colours = await page.evaluate(async (b64, used) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = new OffscreenCanvas(img.width, img.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, img.width, img.height).data;
    const counts = new Map();
    for (let i = 0; i < px.length; i += 4) {
      const c = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    return { width: img.width, height: img.height, distinct: counts.size, topShare: top / (px.length / 4), hasUsed: counts.has(parseInt(used.slice(1), 16)) };
  }, Buffer.from(png).toString('base64'), bindings.KIND_COLORS.used);
  assert.ok(colours.width >= 1000 && colours.height >= 800, `a full page (${colours.width}x${colours.height})`);
  assert.ok(colours.distinct > 50, `many colours, not a blank page (${colours.distinct})`);
  assert.ok(colours.topShare < 0.9, `no colour covers nine tenths of it (${(colours.topShare * 100).toFixed(1)}%)`);
  assert.ok(colours.hasUsed, `the heap map's colour for blocks in use (${bindings.KIND_COLORS.used}) is on it`);
});

test('the bindings\' browser-safe checks pass inside the page', async () => {
  await page.click('#selftest');
  await page.waitForSelector('#selftest-results[data-done]', { timeout: 60000 });
  const results = await page.$$eval('#selftest-results li', (lis) => lis.map((li) => ({ ok: li.className === 'pass', text: li.textContent })));
  assert.equal(results.length, CHECKS.length, 'every check ran');
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => r.text), []);
  assert.deepEqual(problems, [], 'no page errors on the way');
});

test('an Emscripten program in a page: the pre-js finds ralloc-wasm through an import map', { skip: emccVersion() ? false : 'emcc is not installed' }, async () => {
  const pre = `${ROOT}bindings/emscripten/pre.js`;
  const api = await emcc('api-web', {
    inputs: [`${ROOT}tests/emscripten/api.c`], deps: [pre],
    flags: ['-O2', '-sMALLOC=none', '-sIMPORTED_MEMORY', '-sERROR_ON_UNDEFINED_SYMBOLS=0', '-Wl,--export=__heap_base', '--pre-js', pre,
      '-sEXPORTED_FUNCTIONS=_greet,_malloc,_free', '-sEXPORTED_RUNTIME_METHODS=ccall,UTF8ToString'],
  });
  const dir = join(EMCC_DIR, `page-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const f of [api.js, api.wasm]) copyFileSync(f, join(dir, basename(f)));
  writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "ralloc-wasm": "/dist/bindings/index.js" } }</script>
<script>var Module = { ralloc: { build: 'debug' }, onRuntimeInitialized() { document.body.dataset.ready = 'yes'; } };</script>
<script src="${basename(api.js)}"></script>`);
  const emPage = await browser.newPage();
  const errors = [];
  emPage.on('pageerror', (e) => errors.push(e.message));
  try {
    await emPage.goto(`${url}/${dir.slice(ROOT.length)}/`);
    await emPage.waitForFunction(() => document.body?.dataset.ready === 'yes', { timeout: 30000 });
    const got = await emPage.evaluate(() => {
      const q = Module.ccall('greet', 'number', ['string'], ['page']);
      const text = Module.UTF8ToString(q);
      const live = Module.rallocHeap.walk().some((b) => b.address === q && b.state === 'used');
      Module._free(q);
      let message = '';
      try { Module._free(q); } catch (e) { message = e.message; }
      return { label: Module.rallocHeap.label, text, live, q, message };
    });
    assert.deepEqual(errors, []);
    assert.equal(got.label, "ralloc-wasm's debug build", 'Module.ralloc chose the build');
    assert.equal(got.text, 'hello, page');
    assert.ok(got.live, 'the string lies in a live block of ralloc-wasm\'s heap');
    assert.equal(got.message, `ralloc: double free of 0x${got.q.toString(16).padStart(8, '0')} (12 bytes)`);
  } finally {
    await emPage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
