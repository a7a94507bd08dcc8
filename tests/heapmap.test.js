// The heap walk (bindings/walk.ts) and the heap map (bindings/heapmap.ts): the SVG must say what
// the walk says (kinds, counts, figures, legend), stay well-formed XML, and stay small for big heaps.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bindings, rejectsWith } from './lib/dist.js';

const { createHeap, RallocError } = bindings;
const { walkHeap, spans, blocksIn, decodeLayout } = await import('../dist/bindings/walk.js');
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

/** The figures computed here, straight from a walk (not through heapmap.ts). */
function expectedFigures(blocks) {
  const of = (s) => blocks.filter((b) => b.state === s);
  const free = of('free');
  const freeBytes = free.reduce((s, b) => s + b.size, 0);
  const largest = Math.max(0, ...free.map((b) => b.size));
  return {
    usedBlocks: of('used').length,
    usedBytes: of('used').reduce((s, b) => s + b.size, 0),
    requested: of('used').reduce((s, b) => s + b.request, 0),
    freeBlocks: free.length,
    freeBytes,
    largest,
    fragmentation: freeBytes === 0 ? 0 : 1 - largest / freeBytes,
    cachedBlocks: of('cached').length,
    cachedBytes: of('cached').reduce((s, b) => s + b.size, 0),
  };
}

const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;

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
  assert.match(map.lines[0], new RegExp(`^in use: ${plural(f.usedBlocks, 'block')}, ${f.usedBytes} bytes of blocks.*, ${f.requested} bytes requested$`));
  assert.equal(map.lines[1], `free: ${plural(f.freeBlocks, 'block')}, ${f.freeBytes} bytes; largest free block ${f.largest} bytes; fragmentation ${(f.fragmentation * 100).toFixed(1)}%`);
  assert.equal(map.lines[2], `cached: ${plural(f.cachedBlocks, 'block')}, ${f.cachedBytes} bytes`);
  assert.match(map.lines[3], new RegExp(`^${plural(spanCount, 'span')}; `));
}

/** A heap with used, free and cached blocks and an sbrk region; returns it and its walk. */
function busyHeap(build) {
  const heap = createHeap({ build });
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
      for (const s of sp) {
        const inside = blocks.filter((b) => b.address > s.start && b.address < s.end);
        let at = s.start + 12;
        for (const b of inside) {
          assert.equal(b.address - 4, at, `block ${hex(b.address)} starts where the one before it ends`);
          at += b.size;
        }
        assert.equal(at, s.end - 4, 'the last block ends at the span tail');
      }
      assert.deepEqual(blocks.map((b) => b.address), [...blocks.map((b) => b.address)].sort((x, y) => x - y));
      const used = blocks.filter((b) => b.state === 'used');
      assert.equal(used.length, heap.stats().liveBlocks);
      assert.ok(blocks.some((b) => b.state === 'cached') === (build !== 'small'), 'small has no quick lists');
      for (const b of used) assert.ok(b.request > 0 && b.request <= b.size - 4);
      if (layout.guardBytes > 0) assert.ok(used.every((b) => b.serial > 0), 'guarded builds number allocations');
      else assert.ok(used.every((b) => b.serial === 0 && b.request === b.size - 4));
      for (const b of blocks.filter((x) => x.state !== 'used')) assert.deepEqual([b.request, b.serial], [0, 0]);
    });
  }

  test('a freed block is walked as free, a reallocated one with its new request', () => {
    const heap = createHeap({ build: 'debug' });
    heap.malloc(3000);
    const b = heap.malloc(3000);
    const c = heap.malloc(3000);
    heap.malloc(3000);
    let blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === b), { address: b, size: 3024, state: 'used', request: 3000, serial: 2, leadDead: false });
    heap.free(b);
    blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === b), { address: b, size: 3024, state: 'free', request: 0, serial: 0, leadDead: false });
    assert.equal(heap.realloc(c, 10), c, 'shrinks in place');
    blocks = walkHeap(heap.exports);
    assert.deepEqual(blocks.find((x) => x.address === c), { address: c, size: 32, state: 'used', request: 10, serial: 3, leadDead: false });
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
      for (const b of snap.blocks) {
        const g = singles.get(hex(b.address));
        assert.ok(g, `block ${hex(b.address)} is drawn`);
        assert.equal(g.attrs['data-kind'], b.state);
        assert.equal(Number(g.attrs['data-size']), b.size);
        assert.ok(g.children.some((c) => c.name === 'rect'));
        const title = titleOf(g);
        assert.ok(title.startsWith(`${hex(b.address)}: ${b.state === 'used' ? 'in use' : b.state === 'free' ? 'free' : 'cached in a quick list'}, ${b.size}-byte block`), title);
        if (b.state === 'used') assert.match(title, new RegExp(`, ${b.request} bytes requested`));
        if (b.state === 'used' && build === 'debug') {
          assert.match(title, new RegExp(`allocation #${b.serial}`));
          assert.ok(g.children.some((c) => c.attrs['data-guard'] === 'true'), 'guard bytes are drawn as metadata');
        }
      }
      if (build === 'release') assert.ok(!map.groups.some((g) => g.children.some((c) => c.attrs['data-guard'])), 'no guard bytes without guards');
      assertFigures(map, snap.blocks, snap.spans.length);
      assert.deepEqual(heapFigures(snap).usedBlocks, snap.blocks.filter((b) => b.state === 'used').length);
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
    // Release, no sbrk, one page of memory all claimed: no sbrk and no unclaimed memory.
    const plain = createHeap({ build: 'release' });
    plain.malloc(100);
    let snap = snapshot(plain);
    assert.equal(snap.layout.brk, snap.layout.memoryEnd);
    assert.deepEqual(readMap(drawHeapMap(snap)).legend, ['program', 'metadata', 'used', 'free']);
    plain.free(plain.malloc(40));
    assert.deepEqual(readMap(drawHeapMap(snapshot(plain))).legend, ['program', 'metadata', 'used', 'cached', 'free']);

    const { heap } = busyHeap('release');
    snap = snapshot(heap);
    const present = new Set(['program', 'metadata', ...snap.blocks.map((b) => b.state)]);
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
    const free = snap.blocks.find((b) => b.state === 'free');
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
