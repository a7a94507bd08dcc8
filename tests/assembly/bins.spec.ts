import { insertFree, removeFree, findFree, listOf } from "../../assembly/core/bins";
import { FREE, setHeader, setFooter } from "../../assembly/base/block";
import { ROOT_SIZE, R_FLMAP, R_LO, R_HI, field, setField } from "../../assembly/base/root";

/** An empty root (no spans) and a scratch area to lay out free blocks by hand. Its bounds cover
 *  all of memory: the lists follow only links to blocks inside the heap's bounds. */
function emptyRoot(): usize {
  let raw = heap.alloc(ROOT_SIZE + 16);
  let r = (raw + 15) & ~15;
  memory.fill(r, 0, ROOT_SIZE);
  setField(r, R_LO, 16);
  setField(r, R_HI, 0xFFFF_FFF0);
  return r;
}

/** A free block of size s laid out as the heap lays one out: header and footer. */
function scratchBlock(s: usize): usize {
  let raw = heap.alloc(s + 32);
  let p = ((raw + 15) & ~15) + 16;
  setHeader(p, <u32>s | FREE);
  setFooter(p, s);
  return p;
}

describe("bins (TLSF free lists)", () => {
  it("maps sizes below 256 to exact lists and larger ones to 16 lists per power of two", () => {
    expect<u32>(listOf(16)).toBe(1);
    expect<u32>(listOf(240)).toBe(15);
    expect<u32>(listOf(256)).toBe(16);       // fl 1, sl 0
    expect<u32>(listOf(496)).toBe(31);       // fl 1, sl 15
    expect<u32>(listOf(512)).toBe(32);       // fl 2, sl 0
    expect<u32>(listOf(0xFFFFFFF0)).toBe((24 << 4) | 15);
  });

  it("finds nothing in an empty index", () => {
    let r = emptyRoot();
    expect<usize>(findFree(r, 16)).toBe(0);
    expect<usize>(findFree(r, 1 << 20)).toBe(0);
  });

  it("finds a block at least as large as asked, and updates the bitmaps on removal", () => {
    let r = emptyRoot();
    let a = scratchBlock(64), b = scratchBlock(1024), c = scratchBlock(8192);
    insertFree(r, a, 64); insertFree(r, b, 1024); insertFree(r, c, 8192);
    expect<usize>(findFree(r, 48)).toBe(a);
    expect<usize>(findFree(r, 64)).toBe(a);
    expect<usize>(findFree(r, 80)).toBe(b);
    expect<usize>(findFree(r, 2000)).toBe(c);
    expect<usize>(findFree(r, 9000)).toBe(0);
    removeFree(r, c, 8192);
    expect<usize>(findFree(r, 2000)).toBe(0);
    removeFree(r, a, 64); removeFree(r, b, 1024);
    expect<u32>(field(r, R_FLMAP)).toBe(0);
  });

  it("finds a fitting block of the request's own list that the round-up search skips (peer bug 3)", () => {
    let r = emptyRoot();
    // 1056 and 1080 share list (3, 0) = [1024, 1088): a search for 1040 rounds up past it.
    let a = scratchBlock(1072);
    insertFree(r, a, 1072);
    expect<usize>(findFree(r, 1040)).toBe(a);
    expect<usize>(findFree(r, 1072)).toBe(a);
    expect<usize>(findFree(r, 1088)).toBe(0);
  });

  it("takes a span's last block (the top) only when no block of the request's own list fits", () => {
    let r = emptyRoot();
    let a = scratchBlock(1072), c = scratchBlock(8192);
    insertFree(r, a, 1072); insertFree(r, c, 8192);
    setHeader(c + 8192, 64); // c is followed by a block: not the top; the good fit rounds up to it
    expect<usize>(findFree(r, 1040)).toBe(c);
    setHeader(c + 8192, 0); // a span's tail (size 0): c is the top, which growth would extend
    expect<usize>(findFree(r, 1040)).toBe(a);
    expect<usize>(findFree(r, 1080)).toBe(c, "nothing of its own list fits: the top");
  });

  it("unlinks from the middle of a list", () => {
    let r = emptyRoot();
    let a = scratchBlock(32), b = scratchBlock(32), c = scratchBlock(32);
    insertFree(r, a, 32); insertFree(r, b, 32); insertFree(r, c, 32);
    removeFree(r, b, 32);
    expect<usize>(findFree(r, 32)).toBe(c);
    removeFree(r, c, 32);
    expect<usize>(findFree(r, 32)).toBe(a);
    removeFree(r, a, 32);
    expect<usize>(findFree(r, 32)).toBe(0);
  });

  it("never writes through a link that does not link back: the list ends at the block", () => {
    let r = emptyRoot();
    let a = scratchBlock(32), b = scratchBlock(32), c = scratchBlock(32), x = scratchBlock(32);
    insertFree(r, a, 32); insertFree(r, b, 32); insertFree(r, c, 32); // c -> b -> a
    store<u32>(x, 0x5A5A5A50); store<u32>(x + 4, 0x5A5A5A50); // x: not in any list
    store<u32>(b, <u32>x); // a write after free: b's next now names x, which does not link back
    removeFree(r, b, 32);
    expect<u32>(load<u32>(x)).toBe(0x5A5A5A50);     // nothing written into x
    expect<u32>(load<u32>(x + 4)).toBe(0x5A5A5A50);
    expect<u32>(load<u32>(c)).toBe(<u32>b);          // nor into c, b's predecessor
    expect<u32>(load<u32>(b)).toBe(0);               // b leaves with its links cleared
    expect<u32>(load<u32>(b + 4)).toBe(0);
    expect<usize>(findFree(r, 32)).toBe(c);          // the list is left as it was, up to b
    removeFree(r, c, 32); // c's next, b, no longer links back: the list ends at c
    expect<u32>(load<u32>(b)).toBe(0);
    expect<u32>(load<u32>(b + 4)).toBe(0);
    expect<usize>(findFree(r, 32)).toBe(0);          // a is lost to the list, never reached
    expect<u32>(field(r, R_FLMAP)).toBe(0);
  });
});
