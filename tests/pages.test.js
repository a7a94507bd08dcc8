// The release build's small-object pages (assembly/small/page.ts), seen from outside: objects have no
// header and sit in pages, free() of anything but a live object's start changes nothing, empty
// pages and the page table go back to the general heap when it needs memory, and ralloc_check
// names a broken page.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInstance, Rng, hex, pageCapacity, pageFirst, warmPages, PAGE_ASKS } from './lib/instance.js';

const KIND = { OBJECT: 2, OBJECT_FREE: 3, PAGE: 6, TABLE: 10 };
const CHECK_PAGE = 18;

/** Every walk record of r's global heap: { p, kind (low 4 bits of info), size }. */
function walk(r) {
  const out = [];
  for (let p = r.exports.ralloc_walk(0); p; p = r.exports.ralloc_walk(p)) {
    const info = r.exports.ralloc_block_info(p) >>> 0;
    out.push({ p, kind: info & 15, size: info & ~15 });
  }
  return out;
}

/** The page record a walk shows right before object p's run of objects. */
function pageOf(records, p) {
  let page = null;
  for (const rec of records) {
    if (rec.kind === KIND.PAGE) page = rec;
    if (rec.p === p) return (rec.kind & ~1) === KIND.OBJECT ? page : null;
  }
  return null;
}

/** A release heap whose every class is busy enough for pages (a class's first 16 requests are
 *  blocks with a header: the test of that is below). */
const fresh = () => warmPages(createInstance('release', { initial: 1, maximum: 256 }));

// The page header (small/page.ts): 40 bytes, then a flag byte per object, rounded up to 16.
const PG = { CLASS: 20, REGIONS: 21, FLAGS: 40 };
const capacity = pageCapacity;

describe('release: small requests are objects of size-class pages', () => {
  it('a class\'s first requests are blocks with a header; once it asked for PAGE_ASKS objects, it gets pages', () => {
    const r = createInstance('release', { initial: 1, maximum: 256 });
    const first = Array.from({ length: PAGE_ASKS }, () => r.malloc(48));
    for (const p of first) assert.equal(walk(r).find((x) => x.p === p)?.kind, 0, `${hex(p)} is a block with a header`);
    const next = r.malloc(48);
    assert.ok(pageOf(walk(r), next), 'the next request is an object of a page');
    assert.equal(r.usableSize(next), 48);
    // another class is not affected
    const other = r.malloc(100);
    assert.equal(walk(r).find((x) => x.p === other)?.kind, 0, 'a class of its own counts its own requests');
    assert.equal(r.check(), 0);
  });

  it('when memory runs out, a class without pages starts its count again; a class with pages keeps them', () => {
    const r = createInstance('release', { initial: 1, maximum: 256 });
    const kindOf = (p) => walk(r).find((x) => x.p === p)?.kind;
    for (let i = 0; i <= PAGE_ASKS; i++) r.malloc(48); // class 3: PAGE_ASKS asks, then a page
    for (let i = 0; i < PAGE_ASKS - 4; i++) r.malloc(100); // class 7: 4 asks short of a page
    assert.equal(r.malloc(256 * 65536), 0, 'memory runs out');
    const blocks = Array.from({ length: PAGE_ASKS }, () => r.malloc(100));
    assert.ok(blocks.every((p) => kindOf(p) === 0), 'class 7 asks PAGE_ASKS times again: blocks with a header');
    const after = r.malloc(100), small = r.malloc(48); // (allocated before the walk that finds them)
    assert.ok(pageOf(walk(r), after), 'then it gets a page');
    assert.ok(pageOf(walk(r), small), 'class 3 has pages: the shortage changes nothing for it');
    assert.equal(r.check(), 0);
  });

  it('under a memory cap, a class used for a few objects holds no page: release fits about as many blocks as small, and as many again after freeing them all', () => {
    for (const pages of [2, 4, 16, 64]) {
      const counts = {};
      for (const build of ['release', 'small']) {
        const r = createInstance(build, { initial: 1, maximum: pages });
        const fill = () => { const rng = new Rng(pages), got = []; for (let p; (p = r.malloc(rng.range(1, 4000))); ) got.push(p); return got; };
        const a = fill();
        a.forEach((p) => r.free(p));
        const b = fill();
        b.forEach((p) => r.free(p));
        assert.ok(b.length >= a.length, `${build}, ${pages} pages: ${b.length} blocks the second time, ${a.length} the first`);
        assert.equal(r.check(), 0);
        counts[build] = a.length;
      }
      assert.ok(counts.release >= 0.95 * counts.small, `${pages} pages: release fits ${counts.release} blocks, small ${counts.small}`);
    }
  });

  it('an object is 16-aligned, sized by its class, inside a page, and has no header of its own', () => {
    const r = fresh();
    const sizes = [0, 1, 16, 17, 100, 256, 257, 512, 513, 1000, 1024];
    const ps = sizes.map((n) => r.malloc(n));
    const records = walk(r);
    sizes.forEach((n, i) => {
      const p = ps[i];
      assert.equal(p % 16, 0, `malloc(${n}) = ${hex(p)} is 16-aligned`);
      const cls = Math.max(16, Math.ceil(n / 16) * 16);
      assert.equal(r.usableSize(p), cls, `malloc_usable_size(malloc(${n}))`);
      const page = pageOf(records, p);
      assert.ok(page, `malloc(${n}) is an object of a page`);
      assert.equal(page.p % 4096, 0, 'the page starts on 4 KiB');
      assert.ok(p >= page.p + PG.FLAGS + 1 && p + cls <= page.p + page.size - 16, 'the object lies inside its page, past its header');
      assert.equal(page.size, 4096, `the first page of class ${cls} is one region`);
    });
    // same-class objects are adjacent: no header between them
    const a = r.malloc(48), b = r.malloc(48);
    assert.equal(Math.abs(b - a), 48);
    assert.equal(r.check(), 0);
  });

  it('a class\'s first page is one region; once it has a page, the next are 4, 8 or 16 KiB by class', () => {
    const r = fresh();
    for (const [n, later] of [[16, 4096], [320, 8192], [1024, 16384]]) {
      const first = r.malloc(n);
      const firstPage = pageOf(walk(r), first);
      assert.equal(firstPage.size, 4096, `the first page of class ${n}`);
      const slots = capacity(n, 4096);
      const more = [];
      for (let k = 1; k < slots; k++) more.push(r.malloc(n));
      assert.ok(more.every((p) => pageOf(walk(r), p).p === firstPage.p), `the first ${slots} objects of class ${n} share its first page`);
      const next = r.malloc(n);
      const nextPage = pageOf(walk(r), next);
      assert.notEqual(nextPage.p, firstPage.p, 'a full page sends the next object to a new page');
      assert.equal(nextPage.size, later, `a later page of class ${n}`);
      // freeing every object of the class gives its pages back; its next first page is one region again
      for (const p of [first, ...more, next]) r.free(p);
      assert.equal(r.check(), 0);
    }
    r.exports.ralloc_trim(); // empty pages go back
    // (the class keeps its asks: memory never ran out, so its next request gets a page at once)
    const again = r.malloc(320);
    assert.equal(pageOf(walk(r), again).size, 4096, 'a class whose pages all went back starts again with one region');
    assert.equal(r.check(), 0);
  });

  it('a class used on and off keeps its one page: no page is made again while the heap needs no memory', () => {
    const r = fresh();
    const sizes = Array.from({ length: 12 }, (_, i) => 16 + 80 * i); // 12 classes, one page each
    const first = sizes.map((n) => r.malloc(n));
    first.forEach((p) => r.free(p));
    const pages = walk(r).filter((x) => x.kind === KIND.PAGE).map((x) => x.p);
    assert.equal(pages.length, 12, 'each emptied page stays: nothing asked for its memory');
    for (let round = 0; round < 50; round++) {
      const ps = sizes.map((n) => r.malloc(n));
      ps.forEach((p, i) => assert.equal(pageOf(walk(r), p).p, pageOf(walk(r), first[i]).p, `round ${round}: class ${sizes[i]} uses its page`));
      ps.forEach((p) => r.free(p));
    }
    assert.deepEqual(walk(r).filter((x) => x.kind === KIND.PAGE).map((x) => x.p), pages, 'the same pages, none made again');
    assert.equal(r.check(), 0);
  });

  it('empty pages stay until the heap needs memory: a request they are in the way of flushes them, and memory does not grow', () => {
    const r = fresh();
    const ps = Array.from({ length: 64 }, (_, i) => r.malloc(16 * (i + 1))); // 64 classes: 64 one-region pages
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 64);
    ps.forEach((p) => r.free(p));
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 64, 'frees look for no empty page');
    assert.equal(r.check(), 0);
    // a request for all the memory the heap holds beyond what is free today: only the pages' memory can meet it
    const bytes = r.memBytes();
    const free = walk(r).filter((x) => x.kind === 1).reduce((a, x) => Math.max(a, x.size), 0);
    const big = r.malloc(free + 32 * 4096);
    assert.notEqual(big, 0);
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 0, 'the empty pages went back first');
    assert.ok(r.memBytes() <= bytes + (64 << 10) * 2, `memory grew by at most the request's overhang (${r.memBytes() - bytes} bytes)`);
    r.free(big);
    assert.equal(r.check(), 0);
  });

  it('trim gives every empty page back, and the table with them', () => {
    const r = fresh();
    const ps = Array.from({ length: 20 }, (_, i) => r.malloc(16 * (i + 1)));
    ps.forEach((p) => r.free(p));
    r.exports.ralloc_trim();
    const kinds = new Set(walk(r).map((x) => x.kind));
    assert.ok(!kinds.has(KIND.PAGE) && !kinds.has(KIND.TABLE), 'no page and no table is left after a trim');
    assert.equal(r.check(), 0);
  });

  it('a page whose larger table fits only once the empty pages are flushed: the flush, then the new page and table; static data untouched', () => {
    const r = warmPages(createInstance('release', { initial: 1, maximum: 256 }));
    r.writeBytes(0, new Array(256).fill(1)); // a program's static data at the bottom of memory
    const objects = [];
    for (let c = 1; c <= 16; c++) objects.push(r.malloc(16 * c)); // 16 one-region pages, and the table (it covers 1 MiB)
    // class 20 gets a page too, kept full, so the class has pages (and needs no more asks)
    const busy = Array.from({ length: pageCapacity(320, 4096) }, () => r.malloc(320)); // its first page: one region
    const home = pageOf(walk(r), busy[0]).p;
    assert.ok(busy.every((q) => pageOf(walk(r), q).p === home), 'class 20\'s page is full');
    const fillers = [];
    // general blocks of 1104 bytes fill memory, to 16 MiB: the table for all of it (4 KiB) fits in
    // no hole they leave
    for (let f = r.malloc(1100); f; f = r.malloc(1100)) fillers.push(f);
    objects.forEach((o) => r.free(o)); // 16 pages empty, none in use
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 17);
    // A window of four adjacent blocks past the table's cover, holding a 4 KiB-aligned page with
    // under 320 bytes on either side: the page fits, the larger table does not until the flush.
    const sorted = fillers.sort((x, y) => x - y);
    const gap = (p) => ((p + 4095) & ~4095) - p;
    const i = sorted.findIndex((p, k) => p > sorted[0] + (1 << 20) && k + 3 < sorted.length && sorted[k + 3] === p + 3 * 1104
      && gap(p) >= 16 && gap(p) <= 320);
    assert.ok(i >= 0, 'a window to free');
    sorted.slice(i, i + 4).forEach((f) => r.free(f));
    const p = r.malloc(320); // class 20, its page full: a new page in the window, and a table that covers it
    assert.notEqual(p, 0);
    const pages = walk(r).filter((x) => x.kind === KIND.PAGE);
    assert.equal(pages.length, 2, 'the empty pages were flushed to make room for the table');
    assert.ok(pages.some((x) => x.p === home), 'the full page stays');
    assert.equal(r.check(), 0, 'the page table is sound');
    assert.deepEqual(r.readBytes(0, 256), new Uint8Array(256).fill(1), 'the static data is untouched');
    assert.ok(pages.some((x) => x.p !== home && p > x.p && p < x.p + x.size), 'p is an object of the new page');
    r.free(p);
    busy.forEach((q) => r.free(q));
    r.free(sorted[0]);
    assert.equal(r.check(), 0);
  });

  it('a request above 1024 bytes, or aligned above 16, gets a block with a header instead', () => {
    const r = fresh();
    const big = r.malloc(1025);
    const aligned = r.alignedAlloc(64, 32);
    const records = walk(r);
    for (const p of [big, aligned]) {
      const rec = records.find((x) => x.p === p);
      assert.ok(rec && rec.kind === 0, `${hex(p)} is a general block in use`);
    }
    assert.equal(aligned % 64, 0);
  });

  it('free of a freed object, of an interior pointer, of a page header: nothing changes', () => {
    const r = fresh();
    const a = r.malloc(32), b = r.malloc(32), c = r.malloc(32);
    r.free(b);
    const page = pageOf(walk(r), a);
    const before = r.readBytes(page.p, page.size);
    const frees = r.stats().freeCalls;
    r.free(b); // double free
    r.free(a + 16); // interior
    r.free(page.p); // the page itself
    r.free(page.p + 32); // inside the page header
    assert.deepEqual(r.readBytes(page.p, page.size), before, 'the page is byte for byte unchanged');
    assert.equal(r.stats().freeCalls, frees, 'no free was counted');
    assert.equal(r.check(), 0);
    // b comes back once, and only once; no live object is handed out again
    const again = Array.from({ length: 400 }, () => r.malloc(32));
    assert.equal(again.filter((p) => p === b).length, 1, 'b comes back exactly once');
    assert.ok(!again.includes(a) && !again.includes(c), 'no live object is handed out again');
    assert.equal(new Set(again).size, again.length);
  });

  it('a freed object goes on its page\'s local list (its bytes become the link) and comes back once the objects ready to hand out are gone', () => {
    const r = fresh();
    const ps = Array.from({ length: 10 }, () => r.malloc(64));
    r.free(ps[3]);
    r.free(ps[7]);
    assert.equal(r.view().getUint32(ps[7], true), ps[3], 'the later free links to the earlier one');
    const page = pageOf(walk(r), ps[0]);
    assert.equal(r.view().getUint32(page.p + 4, true), ps[7], "the page's local list starts at the last freed object");
    // the page threaded 16 objects at first: 6 are still ready; the freed two come back after them
    const next = Array.from({ length: 8 }, () => r.malloc(60)); // 60 rounds to the same class
    assert.deepEqual(next.slice(6), [ps[7], ps[3]]);
    assert.ok(next.slice(0, 6).every((p) => !ps.includes(p)));
  });

  it('freeing every object leaves the heap whole: a request for all its memory fits without growing it', () => {
    const r = fresh();
    const L = r.malloc(200000);
    r.free(L);
    const rng = new Rng(5);
    const ps = Array.from({ length: 3000 }, () => r.malloc(rng.range(1, 1024)));
    for (const p of ps) r.free(p);
    assert.equal(r.check(), 0);
    assert.equal(r.stats().bytesInUse, 0);
    const bytes = r.memBytes();
    const layout = r.malloc(64);
    r.exports.ralloc_layout(layout);
    const root = r.view().getUint32(layout + 12, true), rootSize = r.view().getUint32(layout + 16, true);
    r.free(layout);
    const whole = bytes - (root + rootSize) - 64; // everything after the root, less a span's head and tail
    const again = r.malloc(whole);
    assert.notEqual(again, 0, `malloc(${whole}) after freeing everything`);
    assert.equal(r.memBytes(), bytes, 'memory did not grow');
    const kinds = new Set(walk(r).map((x) => x.kind));
    assert.ok(!kinds.has(KIND.PAGE) && !kinds.has(KIND.TABLE), 'no page and no table is left');
    r.free(again);
    assert.equal(r.check(), 0);
  });

  it('the page table grows with the heap: 60,000 objects over many MiB, all distinct, all freed exactly', () => {
    const r = warmPages(createInstance('release', { initial: 1, maximum: 2048 }));
    const rng = new Rng(9);
    const live = new Map();
    for (let i = 0; i < 60000; i++) {
      const n = rng.range(1, 1024);
      const p = r.malloc(n);
      assert.notEqual(p, 0);
      assert.ok(!live.has(p), `${hex(p)} handed out twice`);
      live.set(p, n);
      r.view().setUint32(p, i, true);
    }
    assert.ok(r.memBytes() > 16 << 20, 'the heap spans many MiB, so the table grew past its first size');
    assert.equal(r.check(), 0);
    let i = 0;
    for (const p of live.keys()) assert.equal(r.view().getUint32(p, true), i++, `object ${hex(p)} kept its contents`);
    for (const p of live.keys()) r.free(p);
    assert.equal(r.stats().liveBlocks, 0);
    assert.equal(r.check(), 0);
  });

  it('a buffer grown by realloc one byte at a time leaves the pages after a handful of moves', () => {
    const r = fresh();
    let p = r.malloc(1);
    let moves = 0;
    for (let n = 2; n <= 1100; n++) {
      const q = r.realloc(p, n);
      assert.notEqual(q, 0);
      if (q !== p) moves++;
      p = q;
    }
    assert.ok(moves <= 8, `${moves} moves (16 -> 32 -> ... -> 1024 -> a block)`);
    assert.equal(r.check(), 0);
  });

  it('a shrinking realloc stays in place while it uses half the object, then moves to a smaller class', () => {
    const r = fresh();
    const p = r.malloc(1000);
    assert.equal(r.realloc(p, 600), p);
    const q = r.realloc(p, 100);
    assert.notEqual(q, p);
    assert.equal(r.usableSize(q), 112);
  });

  it('ralloc_check names a page whose free list was overwritten (a write after free): PAGE', () => {
    const r = fresh();
    const a = r.malloc(32), b = r.malloc(32);
    r.free(b);
    r.view().setUint32(b, a + 8, true); // b's link now points off the grid, into a
    assert.equal(r.check(), CHECK_PAGE);
  });

  it('a free list overwritten after a free never makes malloc hand out memory outside the page\'s objects or a page header', () => {
    const page = (r, p) => pageOf(walk(r), p);
    const links = [
      (r) => r.malloc(2000) + 64, () => 8, () => 0xFFFFFFF0, // outside the page
      (r, a) => a + 8, // off the grid
      (r, a, b, home) => home, (r, a, b, home) => home + 16, // the page's header and bitmap
      (r, a, b, home) => home + 4096 - 16, // past its last object: over the next block's header
      // (not caught in release: a link to a live object of the page, or off the class's grid)
    ];
    for (const wild of links) {
      const r = fresh();
      const a = r.malloc(32), b = r.malloc(32);
      const home = page(r, b).p;
      r.free(b);
      const w = wild(r, a, b, home) >>> 0;
      r.view().setUint32(b, w, true); // a write after free: b's link now points at w
      assert.equal(r.check(), CHECK_PAGE, `ralloc_check names the page (link ${hex(w)})`);
      const got = Array.from({ length: 300 }, () => r.malloc(32));
      assert.ok(!got.includes(w), `malloc never returns the written link ${hex(w)}`);
      assert.ok(!got.includes(a), 'nor the live object a');
      for (const p of got) {
        assert.ok(p !== 0 && p % 16 === 0, `malloc(32) = ${hex(p)}`);
        const pg = page(r, p);
        assert.ok(pg, `malloc(32) = ${hex(p)} is an object of a page`);
        if (pg.p === home) assert.equal((p - b) % 32, 0, `${hex(p)} lies on its page's grid`);
      }
      assert.equal(new Set(got).size, got.length, 'no object is handed out twice');
    }
  });

  it('a page header overwritten by the block below it: the walk, stats and check neither trap nor loop', () => {
    for (const [offset, value] of [[PG.CLASS, 0], [PG.REGIONS, 0], [PG.REGIONS, 200], [PG.CLASS, 255]]) { // class 0 or past 1 KiB, regions 0 or 200
      const r = fresh();
      const a = r.malloc(32);
      r.malloc(32);
      const pg = pageOf(walk(r), a).p;
      r.view().setUint8(pg + offset, value);
      assert.equal(r.check(), CHECK_PAGE, `byte ${offset} of the page header set to ${value}`);
      const seen = [];
      for (let p = r.exports.ralloc_walk(0); p; p = r.exports.ralloc_walk(p)) if (seen.push(p) > 100000) assert.fail('the walk does not end');
      assert.ok(!seen.includes(a), 'the walk stops at the broken page');
      r.stats();
    }
  });

  it('ralloc_check names a class whose page count disagrees with its pages: PAGE', () => {
    const r = fresh();
    r.malloc(32);
    const out = r.malloc(32); // ralloc_layout's 8 words: version, shim base, shim end, root, root size, ...
    r.exports.ralloc_layout(out);
    const root = r.view().getUint32(out + 12, true);
    const count = root + 2592 + 2 * 2; // class 2's page count (base/root.ts: classPages after the objects' counts)
    assert.equal(r.view().getUint16(count, true), 1, 'class 2 has one page');
    assert.equal(r.check(), 0);
    r.view().setUint16(count, 0, true);
    assert.equal(r.check(), CHECK_PAGE);
  });

  it('ralloc_check names a page whose live flags were changed: PAGE', () => {
    for (const [what, change] of [['a live flag cleared', 0], ['a flag set to 3', 3], ['a free object flagged live', 1]]) {
      const r = fresh();
      const a = r.malloc(32), b = r.malloc(32);
      r.free(b);
      const page = pageOf(walk(r), a);
      const index = (p) => (p - (page.p + pageFirst(32, 4096))) / 32; // a flag byte per object
      const flag = page.p + PG.FLAGS + index(change === 1 ? b : a);
      assert.equal(r.check(), 0);
      r.writeBytes(flag, [change]);
      assert.equal(r.check(), CHECK_PAGE, what);
    }
  });

  it('the stats count objects exactly, though malloc and free count nothing: calls, live objects, bytes in use, across trims', () => {
    const r = fresh();
    const base = r.stats(); // (warming the classes made calls of its own)
    const rng = new Rng(11);
    const live = new Map();
    let mallocs = base.mallocCalls, frees = base.freeCalls, reallocs = base.reallocCalls;
    for (let i = 0; i < 20000; i++) {
      const roll = rng.range(0, 9);
      if (roll < 5 || live.size === 0) {
        const n = rng.range(1, 1200);
        const p = r.malloc(n);
        live.set(p, n);
        mallocs++;
      } else if (roll < 8) {
        const p = [...live.keys()][rng.range(0, live.size - 1)];
        r.free(p);
        live.delete(p);
        frees++;
      } else {
        const p = [...live.keys()][rng.range(0, live.size - 1)];
        const n = rng.range(1, 1200);
        const q = r.realloc(p, n);
        live.delete(p);
        live.set(q, n);
        reallocs++;
      }
      if (i % 4000 === 1999) r.exports.ralloc_trim(); // empty pages go back: their unused objects leave the counts
      if (i % 4000 === 3999 || i % 4000 === 2000) {
        const st = r.stats();
        assert.equal(st.mallocCalls, mallocs, `malloc calls after ${i + 1} operations`);
        assert.equal(st.freeCalls, frees, `free calls after ${i + 1} operations`);
        assert.equal(st.reallocCalls, reallocs);
        assert.equal(st.liveBlocks, live.size);
        assert.equal(r.check(), 0);
      }
    }
    for (const p of live.keys()) r.free(p);
    const st = r.stats();
    assert.equal(st.liveBlocks, 0);
    assert.equal(st.bytesInUse, 0);
    assert.equal(st.mallocCalls - st.freeCalls, 0);
  });
});
