// The heap walk (bindings/walk.ts) and the heap map (bindings/heapmap.ts): the SVG must say what
// the walk says (kinds, counts, figures, legend), stay well-formed XML, and stay small for big heaps.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bindings, rejectsWith } from './lib/dist.js';
import { pageCapacity, warmPages } from './lib/instance.js';

const { createHeap, RallocError } = bindings;
const { walkHeap, spans, blocksIn, decodeLayout, isLive } = await import('../dist/bindings/walk.js');
const { drawHeapMap, heapFigures, MAP_KINDS } = await import('../dist/bindings/heapmap.js');

// ---------------------------------------------------------------------------------------------
// A strict XML 1.0 reader (enough for SVG): it throws on anything not well-formed, and returns
// the element tree so the tests can read the picture back.

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

/** Checks entity and character references in text or an attribute value; returns the decoded text. */
function decode(text, where) {
  if (/<|&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(text)) throw new Error(`bad character or reference in ${where}: ${JSON.stringify(text.slice(0, 80))}`);
  return text.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, e) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]);
}

/** Parses an XML document; throws with the position of the first error. */
export function parseXml(src) {
  let i = 0;
  const fail = (msg) => { throw new Error(`XML: ${msg} at offset ${i}: ${JSON.stringify(src.slice(i, i + 40))}`); };
  if (src.startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    if (!/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z0-9._-]+")?( standalone="(yes|no)")?\s*\?>$/.test(src.slice(0, end + 2))) fail('bad XML declaration');
    i = end + 2;
  }
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i])) i++;
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  const element = () => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const m = NAME.exec(src.slice(i));
    if (!m) fail('expected an element name');
    const node = { name: m[0], attrs: {}, children: [], text: '' };
    i += m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i))[0].length;
      i += ws;
      if (src.startsWith('/>', i)) { i += 2; return node; }
      if (src[i] === '>') { i++; break; }
      if (ws === 0) fail('expected whitespace before an attribute');
      const a = NAME.exec(src.slice(i));
      if (!a) fail('expected an attribute name');
      i += a[0].length;
      const eq = /^\s*=\s*(["'])/.exec(src.slice(i));
      if (!eq) fail('expected ="');
      i += eq[0].length;
      const end = src.indexOf(eq[1], i);
      if (end < 0) fail('unterminated attribute value');
      if (a[0] in node.attrs) fail(`duplicate attribute ${a[0]}`);
      node.attrs[a[0]] = decode(src.slice(i, end), `attribute ${a[0]}`);
      i = end + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${node.name}>`);
      const text = src.slice(i, lt);
      if (text.includes(']]>')) fail(']]> in text');
      node.text += decode(text, `text of <${node.name}>`);
      i = lt;
      if (src.startsWith('</', i)) {
        i += 2;
        if (!src.startsWith(node.name, i)) fail(`</...> does not close <${node.name}>`);
        i += node.name.length;
        const close = /^\s*>/.exec(src.slice(i));
        if (!close) fail(`bad closing tag of <${node.name}>`);
        i += close[0].length;
        return node;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
        continue;
      }
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        node.text += src.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      node.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

/** Every element of the tree, depth first. */
function* all(node) {
  yield node;
  for (const c of node.children) yield* all(c);
}

const svgText = (root) => [...all(root)].map((n) => n.text).join('\n');
const byId = (root, id) => [...all(root)].find((n) => n.attrs.id === id);
const titleOf = (node) => node.children.find((c) => c.name === 'title')?.text;
const hex = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** Reads a map back: the shape groups, by data-kind, and the figures. */
function readMap(svg) {
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const groups = byId(root, 'map').children.filter((c) => c.name === 'g');
  const legend = byId(root, 'legend').children.map((g) => g.attrs['data-legend']);
  const figures = byId(root, 'figures');
  return { root, groups, legend, figures, lines: figures.children.map((t) => t.text) };
}

/** The figures computed here, straight from a walk (not through heapmap.ts). Pages and the page
 *  table are ralloc's (not blocks in use); objects of pages in use count as blocks in use, and
 *  their empty slots as page slack: neither free blocks nor fragmentation. */
function expectedFigures(blocks) {
  const program = blocks.filter((b) => b.kind === undefined || b.kind === 'block' || b.kind === 'object');
  const of = (s) => program.filter((b) => b.state === s);
  const sum = (list) => list.reduce((s, b) => s + b.size, 0);
  const objects = (list) => list.filter((b) => b.kind === 'object');
  const free = of('free').filter((b) => b.kind !== 'object');
  const freeBytes = sum(free);
  const largest = Math.max(0, ...free.map((b) => b.size));
  return {
    usedBlocks: of('used').length,
    usedBytes: sum(of('used')),
    requested: of('used').reduce((s, b) => s + b.request, 0),
    usedObjects: objects(of('used')).length,
    usedObjectBytes: sum(objects(of('used'))),
    freeBlocks: free.length,
    freeBytes,
    largest,
    slackSlots: objects(of('free')).length,
    slackBytes: sum(objects(of('free'))),
    fragmentation: freeBytes === 0 ? 0 : 1 - largest / freeBytes,
    cachedBlocks: of('cached').length,
    cachedBytes: sum(of('cached')),
    pages: blocks.filter((b) => b.kind === 'page').length,
    pageBytes: sum(blocks.filter((b) => b.kind === 'page')),
    tableBytes: sum(blocks.filter((b) => b.kind === 'table')),
  };
}

const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;

/** The kind a record is drawn as: pages and the table as metadata of their own, an empty object
 *  slot as page slack, anything else as its state. */
const mapKindOf = (b) => (b.kind === 'page' || b.kind === 'table' ? b.kind : b.kind === 'object' && b.state === 'free' ? 'slack' : b.state);

/** The RallocError fn throws, checked to have the code. */
function caught(fn, code) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RallocError, `got ${e?.stack ?? e}`);
    assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected a RallocError ${code}`);
}

/** Asserts the printed figures and their data attributes are the walk's. */
function assertFigures(map, blocks, spanCount) {
  const f = expectedFigures(blocks);
  const a = map.figures.attrs;
  assert.equal(Number(a['data-used-blocks']), f.usedBlocks);
  assert.equal(Number(a['data-used-bytes']), f.usedBytes);
  assert.equal(Number(a['data-requested-bytes']), f.requested);
  assert.equal(Number(a['data-free-blocks']), f.freeBlocks);
  assert.equal(Number(a['data-free-bytes']), f.freeBytes);
  assert.equal(Number(a['data-largest-free']), f.largest);
  assert.equal(Number(a['data-fragmentation']), f.fragmentation);
  assert.equal(Number(a['data-cached-blocks']), f.cachedBlocks);
  assert.equal(Number(a['data-cached-bytes']), f.cachedBytes);
  assert.equal(Number(a['data-spans']), spanCount);
  assert.equal(Number(a['data-used-objects']), f.usedObjects);
  assert.equal(Number(a['data-slack-slots']), f.slackSlots);
  assert.equal(Number(a['data-slack-bytes']), f.slackBytes);
  assert.equal(Number(a['data-pages']), f.pages);
  assert.equal(Number(a['data-page-bytes']), f.pageBytes);
  assert.equal(Number(a['data-table-bytes']), f.tableBytes);
  const objects = (n, bytes) => (n > 0 ? ` (${plural(n, 'small object')} of pages, ${bytes} bytes)` : '');
  assert.match(map.lines[0], new RegExp(`^in use: ${plural(f.usedBlocks, 'block')}, ${f.usedBytes} bytes of blocks.*, ${f.requested} bytes requested$`));
  if (f.usedObjects > 0) assert.ok(map.lines[0].includes(objects(f.usedObjects, f.usedObjectBytes)), map.lines[0]);
  assert.equal(map.lines[1], `free: ${plural(f.freeBlocks, 'block')}, ${f.freeBytes} bytes; largest free block ${f.largest} bytes; fragmentation ${(f.fragmentation * 100).toFixed(1)}%`);
  assert.equal(map.lines[2], `cached: ${plural(f.cachedBlocks, 'block')}, ${f.cachedBytes} bytes`);
  assert.match(map.lines[3], new RegExp(`^${plural(spanCount, 'span')}; `));
  if (f.pages > 0 || f.tableBytes > 0) {
    assert.match(map.lines[4], new RegExp(`^${plural(f.pages, 'page')} of small objects, ${f.pageBytes} bytes \\(\\d+ bytes of headers and ends\\); page table ${f.tableBytes} bytes$`));
    assert.equal(map.lines[5], `page slack: ${plural(f.slackSlots, 'empty object slot')}, ${f.slackBytes} bytes (free for their size class only: not free blocks, not fragmentation)`);
  } else {
    assert.equal(map.lines.length, 4, 'no pages line without pages');
  }
}

/** A heap with used, free and cached blocks and an sbrk region; returns it and its walk. */
function busyHeap(build) {
  const heap = warmPages(createHeap({ build })); // release: its small requests are page objects
  const ps = [];
  for (let i = 0; i < 120; i++) ps.push(heap.malloc(1 + ((i * 37) % 300)));
  for (let i = 0; i < 120; i += 3) heap.free(ps[i]);                 // small: cached
  const big = [heap.malloc(3000), heap.malloc(5000), heap.malloc(3000)];
  heap.free(big[1]);                                                  // large: a free hole
  ps[1] = heap.realloc(ps[1], 2000);
  assert.notEqual(heap.sbrk(4096), -1);
  heap.malloc(100);                                                   // the heap grows past the sbrk region
  return { heap, hole: big[1] };
}

const snapshot = (heap) => ({ layout: heap.layout(), blocks: walkHeap(heap.exports), spans: spans(heap.exports) });

/**
 * Asserts a walk tiles each span: its general blocks, pages and the table (counted once, each
 * page covering its objects) end to end from the span head to its tail; the objects of each page
 * end to end, one size, inside it, after it in the walk. Returns the objects by page address.
 */
function assertTiles(blocks, sp) {
  const byPage = new Map();
  for (const s of sp) {
    const inside = blocks.filter((b) => b.address > s.start && b.address < s.end);
    let at = s.start + 12;
    let page;
    for (const b of inside) {
      if (b.kind === 'object') {
        assert.ok(page, `object ${hex(b.address)} follows a page`);
        const objects = byPage.get(page.address);
        const prev = objects.at(-1);
        if (prev) assert.equal(b.address, prev.address + prev.size, `object ${hex(b.address)} starts where the one before it ends`);
        else assert.ok(b.address > page.address, `the first object of page ${hex(page.address)} lies after its header`);
        if (prev) assert.equal(b.size, prev.size, 'a page holds objects of one size');
        assert.ok(b.address + b.size <= page.address - 4 + page.size, `object ${hex(b.address)} lies inside page ${hex(page.address)}`);
        assert.equal(b.address % 16, 0);
        objects.push(b);
        continue;
      }
      assert.equal(b.address - 4, at, `block ${hex(b.address)} starts where the one before it ends`);
      at += b.size;
      page = b.kind === 'page' ? b : undefined;
      if (page) byPage.set(page.address, []);
    }
    assert.equal(at, s.end - 4, 'the last block ends at the span tail');
  }
  for (const [address, objects] of byPage) assert.ok(objects.length > 0, `page ${hex(address)} has objects`);
  return byPage;
}

// ---------------------------------------------------------------------------------------------

describe('the XML reader used by these tests', () => {
  test('rejects documents that are not well-formed', () => {
    for (const bad of ['<a><b></a>', '<a x="1" x="2"/>', '<a>&nope;</a>', '<a>1 < 2</a>', '<a/><b/>', '<a x=1/>', '<a', '<a>x</a>y']) {
      assert.throws(() => parseXml(bad), /XML|bad character/, bad);
    }
    assert.equal(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a k="&lt;&amp;"><b>t&#x41;</b></a>\n').children[0].text, 'tA');
  });
});

describe('walkHeap and spans', () => {
  for (const build of ['release', 'small', 'debug', 'security']) {
    test(`${build}: the blocks tile every span exactly, and agree with the heap's stats`, () => {
      const { heap } = busyHeap(build);
      const { blocks, spans: sp, layout } = snapshot(heap);
      assert.ok(sp.length >= 1);
      const byPage = assertTiles(blocks, sp);
      assert.deepEqual(blocks.map((b) => b.address), [...blocks.map((b) => b.address)].sort((x, y) => x - y));
      const used = blocks.filter(isLive);
      assert.equal(used.length, heap.stats().liveBlocks);
      assert.equal(used.reduce((s, b) => s + b.request, 0), heap.stats().bytesInUse, 'bytesInUse counts requests (usable sizes outside guarded builds)');
      // Release serves small requests from pages (META takes the CACHED bit: no quick lists);
      // small has no quick lists; the guarded builds cache small blocks.
      assert.equal(blocks.some((b) => b.state === 'cached'), build === 'debug' || build === 'security', 'quick lists in guarded builds only');
      assert.equal(byPage.size > 0, build === 'release', 'pages in release only');
      assert.equal(blocks.filter((b) => b.kind === 'table').length, build === 'release' ? 1 : 0, 'one page table in release');
      if (build !== 'release') assert.ok(blocks.every((b) => b.kind === 'block'), 'a header on every block');
      for (const b of used) {
        if (b.kind === 'object') assert.equal(b.request, b.size, 'an object\'s usable size is its size');
        else assert.ok(b.request > 0 && b.request <= b.size - 4);
      }
      if (layout.guardBytes > 0) assert.ok(used.every((b) => b.serial > 0), 'guarded builds number allocations');
      else assert.ok(used.every((b) => b.serial === 0 && b.request === b.size - (b.kind === 'object' ? 0 : 4)));
      for (const b of blocks.filter((x) => !isLive(x))) assert.deepEqual([b.request, b.serial, b.leadDead], [0, 0, false], `${b.kind} ${hex(b.address)}`);
      for (const b of blocks.filter((x) => x.kind === 'page' || x.kind === 'table')) assert.equal(b.state, 'used', 'pages and the table are in use, by ralloc');
      for (const b of blocks.filter((x) => x.kind === 'object')) assert.notEqual(b.state, 'cached');
    });
  }

  test('a freed block is walked as free, a reallocated one with its new request', () => {
    const heap = createHeap({ build: 'debug' });
    heap.malloc(3000);
    const b = heap.malloc(3000);
    const c = heap.malloc(3000);
    heap.malloc(3000);
    let blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === b), { address: b, size: 3024, state: 'used', kind: 'block', request: 3000, serial: 2, leadDead: false });
    heap.free(b);
    blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === b), { address: b, size: 3024, state: 'free', kind: 'block', request: 0, serial: 0, leadDead: false });
    assert.equal(heap.realloc(c, 10), c, 'shrinks in place');
    blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === c), { address: c, size: 32, state: 'used', kind: 'block', request: 10, serial: 3, leadDead: false });
  });

  test('blocksIn walks only the span holding the range', () => {
    const { heap } = busyHeap('debug');
    const blocks = walkHeap(heap.exports);
    const from = blocks[5].address;
    const to = blocks[12].address;
    assert.deepEqual(blocksIn(heap.exports, from, to), blocks.slice(5, 12));
    assert.deepEqual(blocksIn(heap.exports, 16, 32), [], 'no span holds address 16');
  });

  test('bad exports and a corrupted heap raise RallocErrors instead of looping', async () => {
    await rejectsWith(() => walkHeap(null), 'E_BAD_OPTION', /^walkHeap: expected an allocator's exports object \(heap\.exports\), got null$/);
    await rejectsWith(() => walkHeap({ malloc() {} }), 'E_UNSUPPORTED', /^walkHeap: this allocator does not export ralloc_walk \(ralloc-wasm builds have it\)$/);
    await rejectsWith(() => spans({}), 'E_UNSUPPORTED', /^spans: this allocator does not export ralloc_span_next/);
    // A fake heap of one span whose walk comes back to its first block.
    const span = { ralloc_span_next: (s) => (s === 0 ? 4096 : 0), ralloc_span_end: () => 8192 };
    const looping = { ...span, ralloc_walk: (p) => (p === 0 ? 4112 : p === 4112 ? 4128 : 4112), ralloc_block_info: () => 16, ralloc_block_request: () => 12, ralloc_block_serial: () => 0 };
    await rejectsWith(() => walkHeap(looping), 'E_MISUSE', /^walkHeap: the heap is corrupted: the walk goes from the block ending at 0x0000102c to 0x00001010$/);
    const outside = { ...looping, ralloc_walk: (p) => (p === 0 ? 4112 : p === 4112 ? 64 : 0) };
    await rejectsWith(() => walkHeap(outside), 'E_MISUSE', /block 0x00000040 lies outside every span/);
    const huge = { ...looping, ralloc_walk: (p) => (p === 0 ? 4112 : 0), ralloc_block_info: () => 8192 };
    await rejectsWith(() => walkHeap(huge), 'E_MISUSE', /block 0x00001010 claims 8192 bytes in span 0x00001000-0x00002000/);
    const circular = { ralloc_span_next: (s) => (s === 0 ? 4096 : 4096), ralloc_span_end: () => 8192 };
    await rejectsWith(() => spans(circular), 'E_MISUSE', /^spans: the heap is corrupted: the span list loops at 0x00001000$/);
  });

  test('decodeLayout names the 8 words and checks them', async () => {
    assert.deepEqual(decodeLayout(new Uint32Array([1, 128, 160, 160, 2576, 65536, 0xffffffff, 16])),
      { version: 1, shimBase: 128, shimEnd: 160, root: 160, rootSize: 2576, brk: 65536, memoryEnd: 2 ** 32, guardBytes: 16 });
    const heap = createHeap({ build: 'release' });
    heap.malloc(1);
    assert.deepEqual(decodeLayout(heap.layout()), heap.layout());
    await rejectsWith(() => decodeLayout([1, 2, 3]), 'E_BAD_OPTION', /^decodeLayout: layout must have ralloc_layout's 8 words, got 3$/);
    await rejectsWith(() => decodeLayout([1, 2, 3, 4, 5, -6, 7, 8]), 'E_BAD_OPTION', /^decodeLayout: layout word 5 \(brk\) must be a u32, got -6$/);
    await rejectsWith(() => decodeLayout('x'), 'E_BAD_OPTION', /^decodeLayout: layout must be ralloc_layout's 8 words \(heap\.layout\(\)\), got "x"$/);
  });
});

describe('drawHeapMap', () => {
  for (const build of ['release', 'debug']) {
    test(`${build}: every block is drawn once, as the walk says, with a hover title; the figures are the walk's`, () => {
      const { heap } = busyHeap(build);
      const snap = snapshot(heap);
      const map = readMap(drawHeapMap(snap));
      const singles = new Map(map.groups.filter((g) => g.attrs['data-address']).map((g) => [g.attrs['data-address'], g]));
      assert.equal(singles.size, map.groups.filter((g) => g.attrs['data-address']).length, 'no block is drawn twice');
      assert.equal(singles.size, snap.blocks.length, 'a small heap is drawn block by block');
      const byPage = assertTiles(snap.blocks, snap.spans);
      for (const b of snap.blocks) {
        const g = singles.get(hex(b.address));
        assert.ok(g, `block ${hex(b.address)} is drawn`);
        // Pages and the table are ralloc metadata, kinds of their own; objects are drawn as blocks.
        assert.equal(g.attrs['data-kind'], mapKindOf(b));
        assert.equal(Number(g.attrs['data-size']), b.size);
        assert.ok(g.children.some((c) => c.name === 'rect'));
        const title = titleOf(g);
        if (b.kind === 'page') {
          const objects = byPage.get(b.address);
          const used = objects.filter((o) => o.state === 'used').length;
          assert.equal(title, `${hex(b.address)}: page of ${objects[0].size}-byte objects (ralloc metadata), ${b.size}-byte block [${hex(b.address - 4)}, ${hex(b.address - 4 + b.size)}); ` +
            `header [${hex(b.address - 4)}, ${hex(objects[0].address)}); ${used} of ${objects.length} objects in use`);
          continue;
        }
        if (b.kind === 'table') {
          assert.equal(title, `${hex(b.address)}: the page table (ralloc metadata), ${b.size}-byte block [${hex(b.address - 4)}, ${hex(b.address - 4 + b.size)})`);
          continue;
        }
        if (b.kind === 'object') {
          const page = [...byPage.keys()].filter((a) => a < b.address).at(-1);
          assert.ok(title.startsWith(`${hex(b.address)}: ${b.state === 'used' ? 'in use' : 'empty slot (page slack)'}, ${b.size}-byte object [${hex(b.address)}, ${hex(b.address + b.size)}) of page ${hex(page)}`), title);
        } else {
          assert.ok(title.startsWith(`${hex(b.address)}: ${b.state === 'used' ? 'in use' : b.state === 'free' ? 'free' : 'cached in a quick list'}, ${b.size}-byte block`), title);
        }
        if (b.state === 'used') assert.match(title, new RegExp(`, ${b.request} bytes requested`));
        if (b.state === 'used' && build === 'debug') {
          assert.match(title, new RegExp(`allocation #${b.serial}`));
          assert.ok(g.children.some((c) => c.attrs['data-guard'] === 'true'), 'guard bytes are drawn as metadata');
        }
      }
      if (build === 'release') assert.ok(!map.groups.some((g) => g.children.some((c) => c.attrs['data-guard'])), 'no guard bytes without guards');
      assertFigures(map, snap.blocks, snap.spans.length);
      assert.deepEqual(heapFigures(snap).usedBlocks, snap.blocks.filter(isLive).length);
      assert.equal(heapFigures(snap).usedBlocks, heap.stats().liveBlocks, 'the blocks in use are the live ones, pages and table apart');
      assert.equal(byPage.size > 0, build === 'release', 'release draws pages');
    });
  }

  test('a freed block is drawn as free, a small freed block as cached', () => {
    const heap = createHeap({ build: 'debug' });
    const a = heap.malloc(3000);
    const b = heap.malloc(3000);
    const c = heap.malloc(3000);
    const small = heap.malloc(24);
    heap.malloc(24);
    const kindOf = (p) => readMap(drawHeapMap(snapshot(heap))).groups.find((g) => g.attrs['data-address'] === hex(p))?.attrs['data-kind'];
    assert.deepEqual([kindOf(a), kindOf(b), kindOf(c), kindOf(small)], ['used', 'used', 'used', 'used']);
    heap.free(b);
    heap.free(small);
    assert.deepEqual([kindOf(a), kindOf(b), kindOf(c), kindOf(small)], ['used', 'free', 'used', 'cached']);
    const map = readMap(drawHeapMap(snapshot(heap)));
    assert.match(titleOf(map.groups.find((g) => g.attrs['data-address'] === hex(b))), /^0x[0-9a-f]{8}: free, 3024-byte block \[/);
  });

  test('the legend lists each kind present, and only those', () => {
    // Release, no sbrk, one page of memory all claimed: no sbrk and no unclaimed memory. A large
    // request is a general block: no pages, no page table.
    const plain = createHeap({ build: 'release' });
    plain.malloc(2000);
    let snap = snapshot(plain);
    assert.equal(snap.layout.brk, snap.layout.memoryEnd);
    assert.deepEqual(readMap(drawHeapMap(snap)).legend, ['program', 'metadata', 'used', 'free']);
    // A small request makes a page (and the page table): both show up, its object as a block in
    // use and its empty slots as page slack.
    warmPages(plain, [100]);
    plain.malloc(100);
    assert.deepEqual(readMap(drawHeapMap(snapshot(plain))).legend, ['program', 'metadata', 'page', 'table', 'used', 'free', 'slack']);
    // A freed small block is cached in the guarded builds' quick lists.
    const guarded = createHeap({ build: 'debug' });
    guarded.malloc(100);
    const before = readMap(drawHeapMap(snapshot(guarded))).legend;
    assert.ok(!before.includes('cached') && !before.includes('page') && !before.includes('table'), before.join());
    guarded.free(guarded.malloc(40));
    assert.deepEqual(readMap(drawHeapMap(snapshot(guarded))).legend, MAP_KINDS.filter((k) => before.includes(k) || k === 'cached'));

    const { heap } = busyHeap('release');
    snap = snapshot(heap);
    const present = new Set(['program', 'metadata', ...snap.blocks.map(mapKindOf)]);
    const top = Math.max(...snap.spans.map((s) => s.end), snap.layout.root + snap.layout.rootSize);
    assert.ok(snap.layout.brk > top || snap.spans.length > 1, 'the sbrk region lies between spans or below the break');
    present.add('sbrk');
    if (snap.layout.memoryEnd > snap.layout.brk) present.add('unclaimed');
    const map = readMap(drawHeapMap(snap));
    assert.deepEqual(map.legend, MAP_KINDS.filter((k) => present.has(k)));
    const sbrk = map.groups.filter((g) => g.attrs['data-kind'] === 'sbrk');
    assert.equal(sbrk.length, 1);
    assert.match(titleOf(sbrk[0]), /^sbrk region \(or memory grown by others\) \[0x[0-9a-f]{8}, 0x[0-9a-f]{8}\), 4\.0 KiB$/);
  });

  test('ralloc metadata: shim state, root, span heads and tails are drawn where the layout says', () => {
    const heap = createHeap({ build: 'release' });
    heap.malloc(10);
    const snap = snapshot(heap);
    const titles = readMap(drawHeapMap(snap)).groups.filter((g) => g.attrs['data-kind'] === 'metadata').map(titleOf);
    const { shimBase, shimEnd, root, rootSize } = snap.layout;
    const s = snap.spans[0];
    assert.deepEqual(titles, [
      `shim state [${hex(shimBase)}, ${hex(shimEnd)})`,
      `heap root [${hex(root)}, ${hex(root + rootSize)}), ${rootSize} bytes`,
      `head of span [${hex(s.start)}, ${hex(s.end)})`,
      `tail of span [${hex(s.start)}, ${hex(s.end)})`,
    ]);
  });

  test('long stretches below and above the heap are folded into one row each', () => {
    const heap = createHeap({ build: 'release', heapBase: 1 << 20, initialPages: 64 });
    heap.malloc(100);
    const snap = snapshot(heap);
    assert.equal(snap.layout.shimBase, 1 << 20);
    const root = parseXml(drawHeapMap({ ...snap, layout: { ...snap.layout, brk: snap.spans[0].end, memoryEnd: 1 << 24 } }));
    const folded = [...all(root)].filter((n) => n.attrs['data-folded'] === 'true');
    // Below the heap, the 3 MiB free block at its end (too long for 48 rows of 256 bytes), above it.
    assert.deepEqual(folded.map((n) => n.attrs['data-kind']), ['program', 'metadata', 'free', 'unclaimed']);
    assert.equal(titleOf(folded[0]), 'program data and stack [0x00000000, 0x00100000), 1.0 MiB (not to scale)');
    const top = snap.spans[0].end;
    // (malloc(100) is an object of a 4 KiB-aligned page: a free hole may lie below the page.)
    const free = snap.blocks.filter((b) => b.state === 'free' && b.kind === 'block').at(-1);
    assert.equal(free.address - 4 + free.size, top - 4, 'the free block ends the span');
    const a = Math.ceil((free.address - 4) / 256) * 256;
    const [r0, r1] = [Math.ceil(snap.layout.root / 256) * 256, Math.floor((snap.layout.root + snap.layout.rootSize) / 256) * 256];
    assert.equal(titleOf(folded[1]), `inside heap root [${hex(r0)}, ${hex(r1)}), ${((r1 - r0) / 1024).toFixed(1)} KiB (not to scale)`);
    assert.equal(titleOf(folded[2]), `inside free block ${hex(free.address)} [${hex(a)}, ${hex(Math.floor((top - 4) / 256) * 256)}), ${(((top - 4) - a) / 2 ** 20).toFixed(1)} MiB (not to scale)`);
    assert.equal(titleOf(folded[3]), `unclaimed memory [${hex(top)}, 0x01000000), ${(((1 << 24) - top) / 2 ** 20).toFixed(1)} MiB (not to scale)`);
    const labels = byId(root, 'rows').children.filter((c) => c.name === 'text').map((t) => parseInt(t.text, 16));
    assert.ok(labels.length <= 48 + 2, `${labels.length} rows`);
    assert.deepEqual(labels, [...labels].sort((x, y) => x - y), 'rows in address order');
    assert.ok(/1 row = 256 bytes · rows marked ≈ are folded \(not to scale\)/.test(svgText(root)));
  });

  test('a big heap is drawn in a bounded number of shapes, and the merged shapes still count every block', () => {
    // A synthetic heap of 60 000 blocks in one span of ~4.5 MiB.
    const start = 0x20000;
    const blocks = [];
    let p = start + 16;
    const states = ['used', 'used', 'free', 'cached', 'used', 'used', 'used'];
    for (let i = 0; i < 60000; i++) {
      const size = 16 * (1 + ((i * 7) % 9));
      const state = states[i % states.length];
      blocks.push({ address: p, size, state, request: state === 'used' ? size - 4 : 0, serial: 0, leadDead: false });
      p += size;
    }
    const end = p - 4 + 4;
    const layout = [1, 0x10000, 0x10020, 0x10020, 2576, end, end + 0x10000, 0];
    const input = { layout, blocks, spans: [{ start, end }], title: 'sixty thousand blocks' };
    for (const maxShapes of [4000, 500]) {
      const svg = drawHeapMap(input, { maxShapes });
      assert.ok(svg.length < 2_000_000, `${svg.length} characters`);
      const map = readMap(svg);
      assert.ok(map.groups.length <= maxShapes + 2, `${map.groups.length} groups for maxShapes ${maxShapes}`);
      for (const kind of ['used', 'free', 'cached']) {
        const drawn = map.groups.reduce((n, g) => n + (g.attrs['data-address'] ? (g.attrs['data-kind'] === kind ? 1 : 0) : Number(g.attrs[`data-count-${kind}`] ?? 0)), 0);
        assert.equal(drawn, blocks.filter((b) => b.state === kind).length, `${kind} blocks counted through the merged shapes (maxShapes ${maxShapes})`);
      }
      assertFigures(map, blocks, 1);
      assert.match(parseXml(svg).children.filter((c) => c.name === 'text').map((t) => t.text).join('\n'), /60[0-9]{3} pieces drawn as \d+ shapes \(tiny neighbours merged\)/);
    }
  });

  test('heap.heapMap() draws the heap now, with the options given', () => {
    const { heap } = busyHeap('debug');
    assert.equal(heap.heapMap({ width: 600 }), drawHeapMap(snapshot(heap), { width: 600 }));
  });

  test('titles and names are escaped', () => {
    const heap = createHeap({ build: 'release' });
    heap.malloc(1);
    const title = `a <b> & "c" 'd' \u0001`;
    const root = parseXml(drawHeapMap({ ...snapshot(heap), title }));
    assert.equal(titleOf(root), 'a <b> & "c" \'d\' \ufffd');
  });

  test('bad input and options raise E_BAD_OPTION with exact messages', async () => {
    const heap = createHeap({ build: 'release' });
    heap.malloc(1);
    const snap = snapshot(heap);
    const b0 = snap.blocks[0];
    const cases = [
      [() => drawHeapMap(null), /^drawHeapMap: input must be \{ layout, blocks, spans \}, got null$/],
      [() => drawHeapMap({ ...snap, blocks: 'x' }), /^drawHeapMap: input\.blocks must be an array of blocks \(heap\.walk\(\)\), got "x"$/],
      [() => drawHeapMap({ ...snap, spans: undefined }), /^drawHeapMap: input\.spans must be an array of spans \(\{ start, end \}\), got undefined$/],
      [() => drawHeapMap({ ...snap, layout: [1, 2] }), /^drawHeapMap: input\.layout: layout must have ralloc_layout's 8 words, got 2$/],
      [() => drawHeapMap({ ...snap, blocks: [{ ...b0, state: 'busy' }] }), /^drawHeapMap: input\.blocks\[0\]\.state must be "used", "free" or "cached", got "busy"$/],
      [() => drawHeapMap({ ...snap, blocks: [{ ...b0, address: b0.address + 4 }] }), /^drawHeapMap: input\.blocks\[0\]\.address must be a nonzero multiple of 16, got 0x[0-9a-f]{8}$/],
      [() => drawHeapMap({ ...snap, blocks: [{ ...b0, size: 20 }] }), /^drawHeapMap: input\.blocks\[0\]\.size must be a multiple of 16 from 16, got 20$/],
      [() => drawHeapMap({ ...snap, blocks: [{ ...b0, address: 16 }] }), /^drawHeapMap: block 0x00000010 \(\d+ bytes\) lies outside every span$/],
      [() => drawHeapMap({ ...snap, blocks: [b0, { ...b0 }] }), /^drawHeapMap: block 0x[0-9a-f]{8} \(\d+ bytes\) overlaps the block before it$/],
      [() => drawHeapMap({ ...snap, blocks: [{ ...b0, size: 1 << 20 }] }), /^drawHeapMap: block 0x[0-9a-f]{8} \(1048576 bytes\) runs past the end of span \[/],
      [() => drawHeapMap({ ...snap, layout: { ...snap.layout, root: snap.spans[0].start } }), /^drawHeapMap: heap root \[0x[0-9a-f]{8}, 0x[0-9a-f]{8}\) overlaps head of span \[0x[0-9a-f]{8}, 0x[0-9a-f]{8}\)$/],
      [() => drawHeapMap(snap, { width: 10 }), /^drawHeapMap: option width must be an integer from 200 to 10000, got 10$/],
      [() => drawHeapMap(snap, { rowBytes: 1000 }), /^drawHeapMap: option rowBytes must be a power of two, got 1000$/],
      [() => drawHeapMap(snap, { maxShapes: 'many' }), /^drawHeapMap: option maxShapes must be an integer from 100 to 1000000, got "many"$/],
      [() => drawHeapMap(snap, { title: 5 }), /^drawHeapMap: option title must be a string, got 5$/],
    ];
    for (const [fn, message] of cases) await rejectsWith(fn, 'E_BAD_OPTION', message);
    assert.ok(new RallocError('E_BAD_OPTION', 'x') instanceof Error);
  });

  test('rowBytes and width set the scale; the axis labels each row with its address', () => {
    const heap = createHeap({ build: 'release' });
    heap.malloc(100);
    const root = parseXml(drawHeapMap(snapshot(heap), { rowBytes: 4096, width: 1024 }));
    assert.equal(root.attrs.width, String(100 + 1024 + 20));
    const labels = byId(root, 'rows').children.filter((c) => c.name === 'text').map((t) => t.text);
    assert.deepEqual(labels, Array.from({ length: 16 }, (_, i) => hex(i * 4096)), 'one 64 KiB page in 16 rows of 4 KiB');
  });
});

describe('release: objects of size-class pages, pages and the page table', () => {
  /** A release heap with small requests (objects of pages) and large ones (general blocks). */
  function mixedHeap() {
    const heap = warmPages(createHeap({ build: 'release' }));
    const small = { one: heap.malloc(1), sixteen: heap.malloc(16), seventeen: heap.malloc(17), hundred: heap.malloc(100), max: heap.malloc(1024) };
    const large = { justOver: heap.malloc(1025), big: heap.malloc(5000) };
    heap.free(small.sixteen);
    return { heap, small, large };
  }
  const objectSize = (n) => 16 * Math.max(1, Math.ceil(n / 16));

  test('the walk nests each object in its page: pages and the table tile the span with the blocks, objects tile a stretch of their page', () => {
    const { heap, small, large } = mixedHeap();
    const blocks = walkHeap(heap.exports);
    const byPage = assertTiles(blocks, spans(heap.exports));
    const at = (p) => blocks.find((b) => b.address === p);
    for (const [p, n] of [[small.one, 1], [small.seventeen, 17], [small.hundred, 100], [small.max, 1024]]) {
      const size = objectSize(n);
      assert.deepEqual(at(p), { address: p, size, state: 'used', kind: 'object', request: size, serial: 0, leadDead: false }, `malloc(${n})`);
      assert.equal(heap.usableSize(p), size);
    }
    assert.deepEqual(at(small.sixteen), { address: small.sixteen, size: 16, state: 'free', kind: 'object', request: 0, serial: 0, leadDead: false }, 'a freed object is a free slot');
    for (const p of Object.values(large)) {
      const b = at(p);
      assert.deepEqual([b.kind, b.state, b.request], ['block', 'used', heap.usableSize(p)]);
      assert.equal(b.request, b.size - 4, 'a general block keeps its header');
    }
    // Classes 1 (malloc(1) and malloc(16) share it), 2, 7 and 64: four pages, each its class's first, so 4 KiB.
    const pages = blocks.filter((b) => b.kind === 'page');
    assert.deepEqual(pages.map((b) => [byPage.get(b.address)[0].size, b.size]).sort((x, y) => x[0] - y[0]), [[16, 4096], [32, 4096], [112, 4096], [1024, 4096]]);
    for (const pg of pages) {
      assert.equal(pg.address % 4096, 0, 'a page\'s payload is 4 KiB aligned');
      assert.deepEqual([pg.state, pg.request, pg.serial], ['used', 0, 0], 'a page is in use by ralloc, never the program\'s');
      const objects = byPage.get(pg.address), size = objects[0].size;
      // a one-region page: a 64-byte header (32 + a 32-byte bitmap), objects, then at least the next block's header
      assert.equal(objects.length, pageCapacity(size, 4096), 'every object slot of a page is walked');
    }
    assert.ok(byPage.get(pages.find((pg) => byPage.get(pg.address)[0].size === 16).address).some((o) => o.address === small.one), 'malloc(1) lies in the 16-byte class page');
    assert.equal(blocks.filter((b) => b.kind === 'table').length, 1, 'one page table');
    // Pages and the table are counted once: the span's bytes are the general records' sizes alone.
    const sp = spans(heap.exports);
    assert.equal(blocks.filter((b) => b.kind !== 'object').reduce((s, b) => s + b.size, 0), sp.reduce((s, x) => s + x.end - x.start - 16, 0));
    assert.equal(heap.check(), 0);
  });

  test('leaks() and assertNoLeak() list exactly the live objects and blocks, never pages or the table', () => {
    const { heap, small, large } = mixedHeap();
    const live = [small.one, small.seventeen, small.hundred, small.max, large.justOver, large.big].sort((a, b) => a - b);
    assert.deepEqual(heap.leaks(), live.map((address) => ({ address, size: heap.usableSize(address), serial: 0 })));
    assert.equal(heap.exports.ralloc_assert_no_leak(), live.length, 'the allocator\'s own count agrees');
    const bytes = live.reduce((s, p) => s + heap.usableSize(p), 0);
    assert.equal(bytes, heap.stats().bytesInUse);
    assert.equal(caught(() => heap.assertNoLeak(), 'E_LEAK').message,
      [`ralloc: 6 blocks leaked (${bytes} bytes)`, ...live.map((p) => `  ${hex(p)} ${heap.usableSize(p)} bytes #?`)].join('\n'));
    heap.free(small.sixteen); // a double free of an object: ignored
    for (const p of live) heap.free(p);
    assert.deepEqual(heap.leaks(), []);
    heap.assertNoLeak();
    assert.equal(heap.exports.ralloc_assert_no_leak(), 0);
    assert.ok(walkHeap(heap.exports).some((b) => b.kind === 'table'), 'the page table stays, and is no leak');
    assert.equal(heap.check(), 0);
  });

  test('blocksIn gives the objects in the range, from a walk of the span', () => {
    const { heap, small } = mixedHeap();
    const blocks = walkHeap(heap.exports);
    const i = blocks.findIndex((b) => b.address === small.hundred);
    const page = blocks.slice(0, i).findLast((b) => b.kind === 'page');
    const j = blocks.indexOf(page);
    let k = j + 1;
    while (blocks[k]?.kind === 'object') k++;
    assert.deepEqual(blocksIn(heap.exports, page.address, page.address - 4 + page.size), blocks.slice(j, k), 'a page and its objects');
    assert.deepEqual(blocksIn(heap.exports, small.hundred, small.hundred + 112), [blocks[i]], 'one object');
    assert.deepEqual(blocksIn(heap.exports, small.hundred + 16, small.hundred + 112), [], 'no record starts inside an object');
  });

  test('a corrupted walk of objects raises E_MISUSE instead of drawing nonsense', async () => {
    // One span [0x1000, 0x4000): a page at 0x1010 (4 KiB), objects of 16 bytes at 0x1050 and 0x1060, then a free block to the tail.
    const info = { 0x1010: 4096 | 6, 0x1050: 16 | 2, 0x1060: 16 | 3, 0x2010: 0x1ff0 | 1 };
    const next = { 0: 0x1010, 0x1010: 0x1050, 0x1050: 0x1060, 0x1060: 0x2010, 0x2010: 0 };
    const fake = (infoOver = {}, nextOver = {}) => ({
      ralloc_span_next: (s) => (s === 0 ? 0x1000 : 0), ralloc_span_end: () => 0x4000,
      ralloc_walk: (p) => ({ ...next, ...nextOver })[p] ?? 0, ralloc_block_info: (p) => ({ ...info, ...infoOver })[p] ?? 0,
      ralloc_block_request: (p) => (p === 0x1050 ? 16 : 0), ralloc_block_serial: () => 0,
    });
    assert.deepEqual(walkHeap(fake()).map((b) => [b.address, b.kind, b.state, b.size]),
      [[0x1010, 'page', 'used', 4096], [0x1050, 'object', 'used', 16], [0x1060, 'object', 'free', 16], [0x2010, 'block', 'free', 0x1ff0]]);
    const cases = [
      [fake({ 0x1070: 16 | 2 }, { 0x1050: 0x1070 }), /^walkHeap: the heap is corrupted: the walk goes from the object ending at 0x00001060 to 0x00001070 in page 0x00001010$/],
      [fake({ 0x1060: 32 | 2 }), /^walkHeap: the heap is corrupted: object 0x00001060 claims 32 bytes in page 0x00001010-0x0000200c$/],
      [fake({ 0x1010: 4096 }), /^walkHeap: the heap is corrupted: object 0x00001050 follows the block ending at 0x0000200c, not a page$/],
      [fake({}, { 0x1010: 0x2010 }), /^walkHeap: the heap is corrupted: the walk leaves page 0x00001010 before its first object$/],
      [fake({}, { 0x1060: 0x1010 }), /^walkHeap: the heap is corrupted: the walk goes from the block ending at 0x0000200c to 0x00001010$/],
      [fake({ 0x1050: 16 | 14 }), /^walkHeap: the heap is corrupted: block 0x00001050 has kind bits 14 that no build uses$/],
      [fake({ 0x1060: 0x1000 | 2 }), /^walkHeap: the heap is corrupted: object 0x00001060 claims 4096 bytes in page 0x00001010-0x0000200c$/],
    ];
    for (const [exports, message] of cases) await rejectsWith(() => walkHeap(exports), 'E_MISUSE', message);
    await rejectsWith(() => blocksIn(fake({ 0x1070: 16 | 2 }, { 0x1050: 0x1070 }), 0x1000, 0x4000), 'E_MISUSE', /^blocksIn: the heap is corrupted: the walk goes from the object ending at 0x00001060 to 0x00001070/);
  });

  test('the heap map draws each page as ralloc metadata (header, end) with its objects inside as blocks, and the table as metadata', () => {
    const { heap, small } = mixedHeap();
    const snap = snapshot(heap);
    const map = readMap(drawHeapMap(snap));
    const byPage = assertTiles(snap.blocks, snap.spans);
    const group = (p) => map.groups.find((g) => g.attrs['data-address'] === hex(p));
    assert.equal(group(small.one).attrs['data-kind'], 'used');
    assert.equal(group(small.sixteen).attrs['data-kind'], 'slack', 'a freed object is an empty slot of its page: page slack, not a free block');
    assert.match(titleOf(group(small.hundred)), new RegExp(`^${hex(small.hundred)}: in use, 112-byte object \\[${hex(small.hundred)}, ${hex(small.hundred + 112)}\\) of page 0x[0-9a-f]{8}, 112 bytes requested$`));
    assert.match(titleOf(group(small.sixteen)), new RegExp(`^${hex(small.sixteen)}: empty slot \\(page slack\\), 16-byte object \\[`));
    const ends = map.groups.filter((g) => g.attrs['data-kind'] === 'page' && !g.attrs['data-address']).map(titleOf);
    for (const [address, objects] of byPage) {
      const page = snap.blocks.find((b) => b.address === address);
      const g = group(address);
      assert.deepEqual([g.attrs['data-kind'], Number(g.attrs['data-size'])], ['page', page.size], 'the page is drawn once, as page metadata');
      const last = objects.at(-1);
      const end = page.address - 4 + page.size;
      assert.ok(last.address + last.size < end, 'objects end before the page does');
      assert.ok(ends.includes(`end of page ${hex(address)} [${hex(last.address + last.size)}, ${hex(end)}), ${end - last.address - last.size} bytes after its last object`), ends.join('\n'));
    }
    assert.equal(ends.length, byPage.size, 'one end per page');
    const table = snap.blocks.find((b) => b.kind === 'table');
    assert.equal(group(table.address).attrs['data-kind'], 'table');
    assert.ok(!map.groups.some((g) => g.attrs['data-kind'] === 'unknown'), 'every byte of every page is drawn');
    assert.deepEqual(map.legend, ['program', 'metadata', 'page', 'table', 'used', 'free', 'slack']);
    const legend = byId(map.root, 'legend').children.map((g) => g.children.find((c) => c.name === 'text').text);
    assert.match(legend[2], /^ralloc metadata: pages of small objects \(header and end; the objects are drawn as blocks in use or page slack\): [0-9.]+ (bytes|KiB), 4 pages of 16\.0 KiB in all$/);
    assert.match(legend[3], new RegExp(`^ralloc metadata: the page table: ${table.size} bytes$`));
    assert.match(legend[4], /^blocks in use: .*, 6 blocks \(4 small objects\)$/);
    assertFigures(map, snap.blocks, snap.spans.length);
    const f = heapFigures(snap);
    assert.deepEqual([f.usedBlocks, f.usedObjects, f.pages, f.pageBytes, f.tableBytes], [6, 4, 4, 16384, table.size]);
    // The map's kinds add up: page metadata and the objects drawn inside fill the pages exactly.
    const objectBytes = snap.blocks.filter((b) => b.kind === 'object').reduce((s, b) => s + b.size, 0);
    assert.equal(f.bytes.page + objectBytes, f.pageBytes);
    assert.equal(f.bytes.table, f.tableBytes);
  });

  test('drawHeapMap checks objects, pages and the table in its input', async () => {
    const { heap } = mixedHeap();
    const snap = snapshot(heap);
    const i = snap.blocks.findIndex((b) => b.kind === 'object');
    const object = snap.blocks[i];
    const page = snap.blocks[i - 1];
    const table = snap.blocks.find((b) => b.kind === 'table');
    const without = (b) => snap.blocks.filter((x) => x !== b);
    const cases = [
      [{ ...snap, blocks: [{ ...object, kind: 'slab' }] }, /^drawHeapMap: input\.blocks\[0\]\.kind must be "block", "object", "page" or "table", got "slab"$/],
      [{ ...snap, blocks: [{ ...object, state: 'cached' }] }, /^drawHeapMap: input\.blocks\[0\]\.state must be "used" or "free" for an object, got "cached"$/],
      [{ ...snap, blocks: [{ ...table, state: 'free' }] }, /^drawHeapMap: input\.blocks\[0\]\.state must be "used" for a table, got "free"$/],
      [{ ...snap, blocks: without(page) }, new RegExp(`^drawHeapMap: object ${hex(object.address)} \\(${object.size} bytes\\) lies outside every page$`)],
      [{ ...snap, blocks: [page, object, { ...object }] }, new RegExp(`^drawHeapMap: object ${hex(object.address)} \\(${object.size} bytes\\) overlaps the object before it$`)],
      [{ ...snap, blocks: [page, { ...object, size: page.size }] }, new RegExp(`^drawHeapMap: object ${hex(object.address)} \\(${page.size} bytes\\) runs past the end of page ${hex(page.address)}$`)],
    ];
    for (const [input, message] of cases) await rejectsWith(() => drawHeapMap(input), 'E_BAD_OPTION', message);
    // A walk with an object left out: the hole in its page is drawn as not walked.
    const holey = readMap(drawHeapMap({ ...snap, blocks: without(snap.blocks[i + 1]) }));
    assert.match(titleOf(holey.groups.find((g) => g.attrs['data-kind'] === 'unknown')), new RegExp(`in page ${hex(page.address)}: no object was walked here$`));
  });
});

describe('heap map honesty: page slack and misuse', () => {
  test('release, two mallocs: the empty slots of their pages are page slack, not hundreds of free blocks and fragmentation', () => {
    const heap = warmPages(createHeap({ build: 'release' }), [10, 20]); // (their classes are on pages)
    heap.malloc(10);
    heap.malloc(20);
    const snap = snapshot(heap);
    const f = heapFigures(snap);
    const slots = snap.blocks.filter((b) => b.kind === 'object' && b.state === 'free');
    assert.ok(slots.length > 200, `the two pages have ${slots.length} empty slots`);
    assert.deepEqual([f.usedBlocks, f.pages, f.slackSlots, f.slackBytes], [2, 2, slots.length, slots.reduce((s, b) => s + b.size, 0)]);
    const general = snap.blocks.filter((b) => b.kind === 'block' && b.state === 'free');
    assert.equal(f.freeBlocks, general.length, 'free blocks are the general heap\'s alone');
    assert.ok(f.freeBlocks <= 2, `${f.freeBlocks} free blocks`);
    assert.equal(f.largestFree, Math.max(...general.map((b) => b.size)));
    assert.ok(f.fragmentation < 0.1, `fragmentation ${f.fragmentation}: one big free block and a hole, not the slots`);
    const map = readMap(drawHeapMap(snap));
    assert.match(map.lines[1], /^free: [12] blocks?, \d+ bytes; largest free block \d+ bytes; fragmentation \d\.\d%$/);
    assert.match(map.lines.at(-1), new RegExp(`^page slack: ${slots.length} empty object slots, ${f.slackBytes} bytes \\(free for their size class only`));
    assert.equal(map.groups.filter((g) => g.attrs['data-kind'] === 'slack').length, slots.length, 'each empty slot is drawn as slack');
    assert.equal(f.bytes.slack, f.slackBytes);
  });

  test('a map drawn at a misuse marks the block concerned and prints the message', () => {
    const heap = createHeap({ build: 'debug' });
    const keep = [heap.malloc(100), heap.malloc(40)];
    const p = heap.malloc(24);
    heap.free(p);
    const error = (() => { try { heap.free(p); } catch (e) { return e; } })();
    assert.equal(error?.code, 'E_MISUSE');
    const snap = { ...snapshot(heap), misuse: { address: error.report.address, message: error.message } };
    const svg = drawHeapMap(snap);
    const map = readMap(svg);
    const marked = map.groups.filter((g) => g.attrs['data-misuse'] === 'true');
    assert.equal(marked.length, 1, 'one block is marked');
    assert.equal(marked[0].attrs['data-address'], hex(p), 'the block freed twice');
    assert.ok(titleOf(marked[0]).startsWith(`${error.message} · `), titleOf(marked[0]));
    assert.ok(marked[0].children.some((c) => c.attrs['data-mark'] === 'misuse'), 'a frame is drawn around it');
    assert.equal(byId(map.root, 'misuse').text, error.message, 'the message is printed under the heading');
    assert.ok(keep.every((k) => map.groups.some((g) => g.attrs['data-address'] === hex(k) && g.attrs['data-misuse'] === undefined)));
    // Kept when tiny neighbours are merged: the block concerned is never merged away.
    const busy = busyHeap('debug').heap;
    const q = busy.malloc(32);
    const crowded = readMap(drawHeapMap({ ...snapshot(busy), misuse: { address: q, message: 'ralloc: test' } }, { maxShapes: 100, rowBytes: 65536 }));
    assert.equal(crowded.groups.filter((g) => g.attrs['data-misuse'] === 'true').map((g) => g.attrs['data-address']).join(), hex(q));
    // A pointer no block holds (static data): the message says so, nothing is marked.
    const outside = readMap(drawHeapMap({ ...snapshot(heap), misuse: { address: 64, message: 'ralloc: invalid free of 0x00000040' } }));
    assert.equal(byId(outside.root, 'misuse').text, 'ralloc: invalid free of 0x00000040 (no block holds 0x00000040)');
    assert.ok(!outside.groups.some((g) => g.attrs['data-misuse']));
    assert.ok(!readMap(drawHeapMap(snapshot(heap))).root.children.some((c) => c.attrs?.id === 'misuse'), 'no misuse, no message');
  });

  test('drawHeapMap checks input.misuse', async () => {
    const heap = createHeap({ build: 'debug' });
    heap.malloc(10);
    const snap = snapshot(heap);
    await rejectsWith(() => drawHeapMap({ ...snap, misuse: 'double free' }), 'E_BAD_OPTION', /^drawHeapMap: input\.misuse must be \{ address, message \}/);
    await rejectsWith(() => drawHeapMap({ ...snap, misuse: { address: -1, message: 'x' } }), 'E_BAD_OPTION', /^drawHeapMap: input\.misuse\.address must be an integer from 0 to 4294967295, got -1$/);
    await rejectsWith(() => drawHeapMap({ ...snap, misuse: { address: 16, text: 'x' } }), 'E_BAD_OPTION', /^drawHeapMap: input\.misuse: unknown option "text"/);
  });
});
