// The release build's small-object pages (assembly/small/page.ts), seen from outside: objects have no
// header and sit in pages, free() of anything but a live object's start changes nothing, empty
// pages and the page table go back to the general heap, and ralloc_check names a broken page.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInstance, Rng, hex } from './lib/instance.js';

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

const fresh = () => createInstance('release', { initial: 1, maximum: 256 });

describe('release: small requests are objects of size-class pages', () => {
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
      assert.ok(p >= page.p + 64 && p + cls <= page.p + page.size - 16, 'the object lies inside its page');
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
      const slots = Math.floor((4096 - 64 - 16) / n);
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
    r.exports.ralloc_trim(); // kept empty pages go back
    const again = r.malloc(320);
    assert.equal(pageOf(walk(r), again).size, 4096, 'a class whose pages all went back starts again with one region');
    assert.equal(r.check(), 0);
  });

  it('a class used on and off keeps its one page: the same object comes back, no page is made again', () => {
    const r = fresh();
    const sizes = Array.from({ length: 12 }, (_, i) => 16 + 80 * i); // 12 classes, one page each
    const first = sizes.map((n) => r.malloc(n));
    first.forEach((p) => r.free(p));
    const pages = walk(r).filter((x) => x.kind === KIND.PAGE).map((x) => x.p);
    assert.equal(pages.length, 12, 'each emptied page was kept (12 one-region pages: 48 KiB, under 64 KiB)');
    for (let round = 0; round < 50; round++) {
      const ps = sizes.map((n) => r.malloc(n));
      assert.deepEqual(ps, first, `round ${round}: each class hands out its kept page's object again`);
      ps.forEach((p) => r.free(p));
    }
    assert.deepEqual(walk(r).filter((x) => x.kind === KIND.PAGE).map((x) => x.p), pages, 'the same pages, none made again');
    assert.equal(r.check(), 0);
  });

  it('empty pages kept stay within 64 KiB on a small heap; the rest go back to the general heap', () => {
    const r = fresh();
    const ps = Array.from({ length: 64 }, (_, i) => r.malloc(16 * (i + 1))); // 64 classes: 64 one-region pages
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 64);
    ps.forEach((p) => r.free(p));
    const left = walk(r).filter((x) => x.kind === KIND.PAGE);
    assert.equal(left.length, 16, `empty pages kept: ${left.length} of 4 KiB (memory is ${r.memBytes()} bytes, so the 64 KiB floor applies)`);
    assert.equal(r.check(), 0);
    r.exports.ralloc_trim();
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 0, 'trim gives every kept page back');
    assert.equal(r.check(), 0);
  });

  it('making the page table larger may flush the kept pages and drop the table: the new table starts afresh, nothing is copied from address 0', () => {
    const r = createInstance('release', { initial: 1, maximum: 256 });
    r.writeBytes(0, new Array(256).fill(1)); // a program's static data at the bottom of memory
    const a = r.malloc(16); // class 1's page, and the table (it covers 1 MiB)
    const fillers = [];
    // general blocks of 1104 bytes fill memory, to 16 MiB: the table for all of it (4 KiB) fits in
    // no hole they leave
    for (let f = r.malloc(1100); f; f = r.malloc(1100)) fillers.push(f);
    fillers.slice(0, 80).forEach((f) => r.free(f)); // an 80 KiB hole low in the heap
    const objects = [a];
    for (let c = 2; c <= 16; c++) objects.push(r.malloc(16 * c)); // 15 one-region pages there
    for (let f = r.malloc(1100); f; f = r.malloc(1100)) fillers.push(f); // the rest of the hole
    objects.forEach((o) => r.free(o)); // 16 pages kept empty, none in use
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 16);
    // A window of four adjacent blocks past the table's cover, holding a 4 KiB-aligned page with
    // under 320 bytes on either side: the page fits, the larger table does not until the flush.
    const sorted = fillers.slice(80).sort((x, y) => x - y);
    const gap = (p) => ((p + 4095) & ~4095) - p;
    const i = sorted.findIndex((p, k) => p > sorted[0] + (1 << 20) && k + 3 < sorted.length && sorted[k + 3] === p + 3 * 1104
      && gap(p) >= 16 && gap(p) <= 320);
    assert.ok(i >= 0, 'a window to free');
    sorted.slice(i, i + 4).forEach((f) => r.free(f));
    const p = r.malloc(320); // class 20: a new page in the window, and a table that covers it
    assert.notEqual(p, 0);
    assert.equal(walk(r).filter((x) => x.kind === KIND.PAGE).length, 1, 'the kept pages were flushed to make room for the table');
    assert.equal(r.check(), 0, 'the page table is sound');
    assert.deepEqual(r.readBytes(0, 256), new Uint8Array(256).fill(1), 'the static data is untouched');
    assert.ok(walk(r).some((x) => x.kind === KIND.PAGE && p > x.p && p < x.p + x.size), 'p is an object of a page');
    r.free(p);
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
    // b comes back once, and only once
    const again = [r.malloc(32), r.malloc(32)];
    assert.ok(again.includes(b));
    assert.ok(!again.includes(a) && !again.includes(c), 'no live object is handed out again');
  });

  it('a freed object is the next one of its class handed out (LIFO), and its bytes become the link', () => {
    const r = fresh();
    const ps = Array.from({ length: 10 }, () => r.malloc(64));
    r.free(ps[3]);
    r.free(ps[7]);
    assert.equal(r.malloc(64), ps[7]);
    assert.equal(r.malloc(60), ps[3]); // 60 rounds to the same class
  });

  it('freeing every object gives the pages and the table back: a large request then finds the heap whole', () => {
    const r = fresh();
    const L = r.malloc(200000);
    r.free(L);
    const rng = new Rng(5);
    const ps = Array.from({ length: 3000 }, () => r.malloc(rng.range(1, 1024)));
    for (const p of ps) r.free(p);
    assert.equal(r.check(), 0);
    assert.equal(r.stats().bytesInUse, 0);
    const again = r.malloc(200000);
    assert.notEqual(again, 0);
    const kinds = new Set(walk(r).map((x) => x.kind));
    assert.ok(!kinds.has(KIND.PAGE) && !kinds.has(KIND.TABLE), 'no page and no table is left once a large request came');
    assert.equal(r.check(), 0);
  });

  it('the page table grows with the heap: 60,000 objects over many MiB, all distinct, all freed exactly', () => {
    const r = createInstance('release', { initial: 1, maximum: 2048 });
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
    for (const [offset, value] of [[6, 0], [7, 0], [7, 200], [6, 255]]) { // class 0 or past 1 KiB, regions 0 or 200
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
    const count = root + 2576 + 2 * 2; // class 2's page count (root.ts: classPages after the table fields)
    assert.equal(r.view().getUint16(count, true), 1, 'class 2 has one page');
    assert.equal(r.check(), 0);
    r.view().setUint16(count, 0, true);
    assert.equal(r.check(), CHECK_PAGE);
  });

  it('ralloc_check names a root whose kept-page bytes disagree with the pages marked kept: PAGE', () => {
    const r = fresh();
    r.free(r.malloc(32)); // its page, emptied, is kept
    const out = r.malloc(64);
    r.exports.ralloc_layout(out);
    const root = r.view().getUint32(out + 12, true);
    assert.equal(r.view().getUint32(root + 4, true), 4096, 'the root counts the kept page (root.ts: kept bytes at 4)');
    assert.equal(r.check(), 0);
    r.view().setUint32(root + 4, 0, true);
    assert.equal(r.check(), CHECK_PAGE);
  });

  it('ralloc_check names a page whose live bitmap lost a bit: PAGE', () => {
    const r = fresh();
    const a = r.malloc(32);
    const page = pageOf(walk(r), a);
    const g = (a - page.p) >> 4; // the bitmap starts 32 bytes into the page
    const byte = page.p + 32 + (g >> 3);
    r.writeBytes(byte, [r.readBytes(byte, 1)[0] & ~(1 << (g & 7))]);
    assert.equal(r.check(), CHECK_PAGE);
  });
});
