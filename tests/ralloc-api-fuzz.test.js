// A shadow-model fuzzer for ralloc's extended API, on every build: partial frees (any piece of
// any block, in any order, under the documented rule that a piece kept at the end of a block is
// at least 16 bytes), realloc and in-place realloc of whole blocks, any alignment, sbrk regions
// (which must stay untouched), donations and trims. After every operation the heap walker must
// pass and every byte the model says is live must hold its pattern; at the end every byte comes
// back. The shadow fuzzer in fuzz.test.js covers the malloc family; this one covers the rest.
//
// Release serves requests of at most 1024 bytes (align <= 16) as headerless page objects. An
// object cannot be cut, so every piece freed inside one is recorded in the root's dead-piece
// table (63 slots, shared with the small pieces of blocks with headers), merged with the freed
// pieces it touches in the same object, until the pieces cover the object and it is freed. The
// model knows an object's pieces exactly (the gaps between its live ranges), and bounds the
// header blocks' entries by their successful partial frees (each records at most one); a range
// that needs a new slot may be refused (EINVAL) only when that total could reach 63, and a
// refusal must leave every byte of memory as it was. free() of a partially freed object is legal
// and forgets its pieces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILDS, GUARDED_BUILDS, EINVAL, SBRK_FAIL, createInstance, hex8, warmPages } from './lib/instance.js';

/** Slots of the root's dead-piece table. */
const DEAD_SLOTS = 63;
/** Release: largest request served as a page object (align <= 16). */
const SMALL_MAX = 1024;
/** ralloc_block_info kinds (low 4 bits) of release's page objects. */
const KIND_OBJECT = 2;

/** Freed pieces of an object: the gaps between its live ranges in [p, p + size). */
function pieces(bl) {
  const rs = [...bl.ranges].sort((x, y) => x[0] - y[0]);
  let n = 0, at = bl.p;
  for (const [a, b] of rs) { if (a > at) n++; at = b; }
  return n + (at < bl.p + bl.size ? 1 : 0);
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const OPS = 2500;
const u = (x) => x >>> 0;
const hex = (x) => '0x' + (x >>> 0).toString(16);

function run(build, seed) {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
  const r = warmPages(createInstance(build, { heapBase: 1024, initial: 1, maximum: 2048 })); // (release: classes on pages)
  const base = r.stats().bytesInUse;
  const blocks = []; // { p, size, ranges: [[a, b)], tag, partial }
  const regions = []; // sbrk regions: [a, b, tag]
  let tag = 1;
  let deallocs = 0, refused = 0;
  const log = [];
  const pat = (t, i) => (t * 7 + i * 13) & 255;
  const fill = (a, b, t) => { const m = r.bytes(); for (let i = a; i < b; i++) m[i] = pat(t, i); };
  const bad = (a, b, t) => { const m = r.bytes(); for (let i = a; i < b; i++) if (m[i] !== pat(t, i)) return i; return -1; };
  const fail = (msg) => assert.fail(`${build}, seed ${seed}: ${msg}\nlast operations:\n  ${log.slice(-10).join('\n  ')}`);
  const pages = build === 'release';
  const adopt = (p, t) => {
    const size = r.usableSize(p);
    fill(p, p + size, t);
    const object = pages && (r.exports.ralloc_block_info(p) & 15) === KIND_OBJECT;
    // deals: successful partial frees of a block with a header (a bound on its table entries)
    return { p, size, ranges: [[p, p + size]], tag: t, partial: false, object, deals: 0 };
  };
  /** Table entries: those of objects exactly, those of blocks with headers at most. */
  const objectPieces = () => blocks.reduce((n, x) => n + (x.object && x.partial ? pieces(x) : 0), 0);
  const headerBound = () => blocks.reduce((n, x) => n + (x.object ? 0 : x.deals), 0);
  const couldBeFull = () => objectPieces() + headerBound() >= DEAD_SLOTS;
  const memoryUnchanged = (before, what) => {
    const now = r.bytes();
    if (now.length !== before.length) fail(`${what}: memory grew`);
    const at = now.findIndex((x, i) => x !== before[i]);
    if (at >= 0) fail(`${what}: byte ${hex(at)} changed`);
  };
  for (let op = 0; op < OPS; op++) {
    // Keep at most 10 partially freed blocks outstanding (40 for a stretch of each thousand
    // operations, so the table fills more): each holds entries of the root's 63-entry dead-piece
    // table until its last byte is freed.
    const k = blocks.filter((x) => x.partial).length > (op % 1000 < 200 ? 40 : 10) ? 0.99 : rnd();
    if (k < 0.28 || blocks.length < 3) {
      const n = ri(0, rnd() < 0.8 ? 300 : 6000);
      const align = rnd() < 0.3 ? [1, 3, 12, 48, 100, 256, 1000, 4096][ri(0, 7)] : 16;
      const p = align === 16 ? r.malloc(n) : u(r.exports.ralloc_alloc(n, align));
      log.push(`alloc(${n}, ${align}) -> ${hex(p)}`);
      if (!p) continue;
      if (p % align) fail(`${hex(p)} is not a multiple of ${align}`);
      const bl = adopt(p, tag++);
      if (pages && (align === 1 || align === 16 || n > SMALL_MAX) && bl.object !== (n <= SMALL_MAX))
        fail(`alloc(${n}, ${align}) -> ${hex(p)} is ${bl.object ? '' : 'not '}a page object`);
      if (bl.object && bl.size !== Math.max(16, (n + 15) & ~15) && !(align > 16))
        fail(`alloc(${n}, ${align}) -> ${hex(p)}: an object of ${bl.size} bytes, not its class size`);
      blocks.push(bl);
    } else if (k < 0.4) {
      const i = ri(0, blocks.length - 1), bl = blocks[i];
      if (bl.partial && !bl.object) continue; // an object may be freed whole after partial frees
      const inUse = r.stats().bytesInUse;
      log.push(`free(${hex(bl.p)})${bl.partial ? ` of a partially freed object (${pieces(bl)} pieces)` : ''}`);
      r.free(bl.p);
      blocks.splice(i, 1);
      if (bl.object) {
        if (r.usableSize(bl.p) !== 0) fail(`free(${hex(bl.p)}) left the object live`);
        if (r.stats().bytesInUse !== inUse - bl.size) fail(`free(${hex(bl.p)}) did not give back its ${bl.size} bytes`);
      }
    } else if (k < 0.7) {
      const i = ri(0, blocks.length - 1), bl = blocks[i];
      const j = ri(0, bl.ranges.length - 1), [a, b] = bl.ranges[j];
      if (b <= a) continue; // malloc(0) on a guarded build: no byte to free
      const x = ri(a, b - 1);
      let y = ri(x + 1, b);
      if (b - y < 16) y = b; // the rule: a piece kept at the end of a block is 16 bytes or more
      const inUse = r.stats().bytesInUse;
      // An object: the piece merges with a freed piece it touches (x at a range's start that is
      // not the object's, or y at a range's end that is not); the last live bytes free the object.
      const end = bl.p + bl.size;
      const merges = (x === a && a > bl.p) || (y === b && b < end);
      const frees = bl.ranges.length === 1 && x === a && y === b;
      const full = couldBeFull();
      const before = full ? r.bytes().slice() : null;
      const rc = r.exports.ralloc_dealloc(x, y - x);
      log.push(`dealloc(${hex(x)}, ${y - x}) in ${bl.object ? 'object' : 'block'} ${hex(bl.p)} -> ${rc}`);
      // The refusal the contract allows: a range that needs a new slot of the dead-piece table
      // when the table is full (blocks with headers: one that leaves a piece on its left, a
      // middle or a suffix; objects: one that neither touches a freed piece nor frees the
      // object). It must change nothing.
      deallocs++;
      if (rc !== 0) {
        if (rc !== EINVAL) fail(`dealloc of [${hex(x)}, ${hex(y)}) returned ${rc}, not 0 or EINVAL`);
        if (bl.object && (merges || frees)) fail(`dealloc of a live range [${hex(x)}, ${hex(y)}) of object ${hex(bl.p)} that ${frees ? 'frees it' : 'touches a freed piece'} refused`);
        if (!bl.object && x === a) fail(`dealloc of a live range [${hex(x)}, ${hex(y)}) starting a piece refused`);
        if (!full) fail(`dealloc of [${hex(x)}, ${hex(y)}) refused with the dead-piece table not full (${objectPieces()} object pieces, at most ${headerBound()} others)`);
        memoryUnchanged(before, `the refused dealloc of [${hex(x)}, ${hex(y)})`);
        refused++;
        continue;
      }
      if (bl.object && !merges && !frees && objectPieces() >= DEAD_SLOTS)
        fail(`dealloc of [${hex(x)}, ${hex(y)}) in object ${hex(bl.p)} took a slot of a full dead-piece table`);
      if (!bl.object) bl.deals++;
      bl.partial = true;
      bl.ranges.splice(j, 1, ...[[a, x], [y, b]].filter(([c, d]) => d > c));
      if (!bl.ranges.length) blocks.splice(i, 1);
      if (bl.object) {
        // an object stays whole (and counted) until its last live bytes go
        const gone = !bl.ranges.length;
        if (r.usableSize(bl.p) !== (gone ? 0 : bl.size)) fail(`object ${hex(bl.p)} ${gone ? 'is still live after its last bytes were freed' : 'changed its usable size'}`);
        if (r.stats().bytesInUse !== inUse - (gone ? bl.size : 0)) fail(`dealloc in object ${hex(bl.p)}: bytes in use ${r.stats().bytesInUse}, expected ${inUse - (gone ? bl.size : 0)}`);
      }
      // Freeing the same bytes again is refused once they went back to the heap (a range too
      // small to come off may only have been marked, which a repeat cannot harm: checked below).
      // The guarded builds stop on it instead, with the exact message, before changing anything
      // (the walker after this operation and the patterns of the live bytes check that).
      if (GUARDED_BUILDS.includes(build)) {
        const want = `ralloc: ralloc_dealloc of freed ${hex8(x)} (${y - x} ${y - x === 1 ? "byte" : "bytes"})`;
        let stopped;
        try {
          r.exports.ralloc_dealloc(x, y - x);
        } catch (e) {
          stopped = e;
        }
        if (stopped?.name !== 'MisuseReport') fail(`dealloc of [${hex(x)}, ${hex(y)}) twice did not stop: ${stopped?.stack ?? 'it returned'}`);
        // Exact in the common cases; a range merged with dead pieces next to it may instead be
        // named as running past its block (both say which call and which address): known, noted.
        const alt = `ralloc: invalid ralloc_dealloc of ${hex8(x)} (${y - x} ${y - x === 1 ? "byte" : "bytes"}: not inside one live block)`;
        if (stopped.message !== want && stopped.message !== alt) fail(`dealloc of [${hex(x)}, ${hex(y)}) twice: "${stopped.message}", expected "${want}"`);
      } else if (bl.object) {
        // a recorded piece, or an object freed already: refused, exactly
        const now = r.stats().bytesInUse;
        const again = r.exports.ralloc_dealloc(x, y - x);
        if (again !== EINVAL) fail(`dealloc of [${hex(x)}, ${hex(y)}) in object ${hex(bl.p)} twice returned ${again}, not EINVAL`);
        if (r.stats().bytesInUse !== now) fail('a repeated dealloc in an object changed the bytes in use');
        if (r.usableSize(bl.p) !== (bl.ranges.length ? bl.size : 0)) fail('a repeated dealloc in an object changed it');
      } else {
        const again = r.exports.ralloc_dealloc(x, y - x);
        if (again === 0 && r.stats().bytesInUse < inUse) fail(`dealloc of [${hex(x)}, ${hex(y)}) twice succeeded`);
        if (again === 0) bl.deals++; // (it may have recorded something)
      }
    } else if (k < 0.85) {
      const i = ri(0, blocks.length - 1), bl = blocks[i];
      if (bl.partial) continue;
      const n = ri(1, rnd() < 0.8 ? 400 : 8000);
      const inPlace = rnd() < 0.3;
      const q = inPlace ? u(r.exports.ralloc_inplace_realloc(bl.p, n)) : r.realloc(bl.p, n);
      log.push(`${inPlace ? 'inplace' : 'realloc'}(${hex(bl.p)}, ${n}) -> ${hex(q)}`);
      if (!q) {
        if (!inPlace) fail('realloc failed with memory to spare');
        if (n <= bl.size) fail('an in-place shrink failed');
        continue;
      }
      if (inPlace && q !== bl.p) fail('in-place realloc moved');
      const keep = Math.min(n, bl.size);
      const m = r.bytes();
      for (let t = 0; t < keep; t++) if (m[q + t] !== pat(bl.tag, bl.p + t)) fail(`realloc lost byte ${t}`);
      blocks[i] = adopt(q, tag++);
    } else if (k < 0.9) {
      const t = tag++;
      const n = ri(16, 5000);
      const a = r.sbrk(n);
      log.push(`sbrk(${n}) -> ${hex(a)}`);
      if (a === SBRK_FAIL) fail('sbrk failed with memory to spare');
      fill(a, a + n, t);
      if (rnd() < 0.3) {
        // hand it to the heap instead of keeping it
        const rc = r.exports.ralloc_donate(a, n);
        log.push(`donate(${hex(a)}, ${n}) -> ${rc}`);
        if (rc !== 0 && n >= 64) fail('donating a fresh sbrk region was refused');
        if (rc !== 0) regions.push([a, a + n, t]);
      } else {
        regions.push([a, a + n, t]);
      }
    } else if (k < 0.93) {
      log.push(`trim -> ${u(r.exports.ralloc_trim())}`);
    } else {
      // Free the rest of a block, a partially freed one when there is one.
      const partial = blocks.filter((x) => x.partial);
      const bl = partial.length ? partial[ri(0, partial.length - 1)] : blocks[ri(0, blocks.length - 1)];
      const i = blocks.indexOf(bl);
      for (const [a, b] of bl.ranges) {
        if (b <= a) { r.free(bl.p); continue; } // malloc(0) on a guarded build: nothing to dealloc, free it
        const rc = r.exports.ralloc_dealloc(a, b - a);
        log.push(`dealloc-rest(${hex(a)}, ${b - a}) in ${bl.object ? 'object' : 'block'} ${hex(bl.p)} -> ${rc}`);
        // (each live range of an object touches a freed piece, or is all of it: no new slot)
        if (rc !== 0) fail(`dealloc of the live rest [${hex(a)}, ${hex(b)}) refused`);
      }
      blocks.splice(i, 1);
      if (bl.object && r.usableSize(bl.p) !== 0) fail(`object ${hex(bl.p)} is still live after all of it was freed`);
    }
    const code = r.check();
    if (code) fail(`op ${op}: ralloc_check() = ${code}`);
    if (op % 16 === 0 || op === OPS - 1) {
      for (const bl of blocks) for (const [a, b] of bl.ranges) {
        const v = bad(a, b, bl.tag);
        if (v >= 0) fail(`op ${op}: live byte ${hex(v)} of block ${hex(bl.p)} overwritten`);
      }
      for (const [a, b, t] of regions) if (bad(a, b, t) >= 0) fail(`op ${op}: sbrk region ${hex(a)} overwritten`);
    }
  }
  assert.ok(refused * 4 < deallocs, `${build}, seed ${seed}: ${refused} of ${deallocs} deallocs refused (table full too often)`);
  for (const bl of blocks) for (const [a, b] of bl.ranges) {
    if (b <= a) r.free(bl.p); // malloc(0) on a guarded build: nothing to dealloc
    else assert.equal(r.exports.ralloc_dealloc(a, b - a), 0);
  }
  assert.equal(r.check(), 0);
  const end = r.stats();
  assert.equal(end.liveBlocks, 0, `${build}, seed ${seed}: blocks left live`);
  assert.equal(end.bytesInUse, base, `${build}, seed ${seed}: every byte comes back`);
}

for (const build of BUILDS) {
  describe(`extended-API shadow fuzzer: ${build}`, () => {
    for (const seed of SEEDS) it(`seed ${seed}: ${OPS} operations keep the heap sound and give every byte back`, () => run(build, seed));
  });
}
