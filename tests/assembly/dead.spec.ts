// core/dead.ts: the dead-piece table in a heap root, driven directly (features/range.ts is what
// fills it; range.spec.ts tests that side).
import {
  recordDead, forgetDead, overlapsDead, grownOverDead, exactEnd, deadRoom, deadSlot,
} from "../../assembly/core/dead";
import { ROOT_SIZE, R_DEAD, DEAD_SLOTS, field } from "../../assembly/base/root";

/** An empty heap root: no spans, an empty table. */
function emptyRoot(): usize {
  let r = (heap.alloc(ROOT_SIZE + 16) + 15) & ~15;
  memory.fill(r, 0, ROOT_SIZE);
  return r;
}

/** Whether the table holds exactly the entry [start, end) (in any slot). */
function has(r: usize, start: usize, end: usize): bool {
  let n = <usize>field(r, R_DEAD);
  for (let i: usize = 0; i < n; ++i) {
    if (<usize>load<u32>(deadSlot(r, i)) == start && <usize>load<u32>(deadSlot(r, i), 4) == end) return true;
  }
  return false;
}

function lo(grown: u64): usize {
  return <usize>(grown & 0xFFFF_FFFF);
}
function hi(grown: u64): usize {
  return <usize>(grown >> 32);
}

describe("dead (the dead-piece table)", () => {
  it("records pieces until DEAD_SLOTS, then refuses without writing", () => {
    let r = emptyRoot();
    for (let i: usize = 0; i < DEAD_SLOTS; ++i) {
      expect<bool>(deadRoom(r)).toBe(true);
      expect<bool>(recordDead(r, 1000 + i * 100, 1010 + i * 100)).toBe(true);
    }
    expect<u32>(field(r, R_DEAD)).toBe(<u32>DEAD_SLOTS);
    expect<bool>(deadRoom(r)).toBe(false);
    let past = deadSlot(r, DEAD_SLOTS);
    let word = load<u64>(past);
    expect<bool>(recordDead(r, 50000, 50010)).toBe(false);
    expect<u32>(field(r, R_DEAD)).toBe(<u32>DEAD_SLOTS);
    expect<u64>(load<u64>(past)).toBe(word, "nothing written past the table");
    expect<bool>(has(r, 1000, 1010) && has(r, 1000 + (DEAD_SLOTS - 1) * 100, 1010 + (DEAD_SLOTS - 1) * 100)).toBe(true);
  });

  it("tells whether a range overlaps a piece (half-open ranges: touching is no overlap)", () => {
    let r = emptyRoot();
    recordDead(r, 100, 120);
    expect<bool>(overlapsDead(r, 110, 111)).toBe(true);
    expect<bool>(overlapsDead(r, 90, 101)).toBe(true);
    expect<bool>(overlapsDead(r, 119, 200)).toBe(true);
    expect<bool>(overlapsDead(r, 80, 100)).toBe(false);
    expect<bool>(overlapsDead(r, 120, 130)).toBe(false);
    expect<bool>(overlapsDead(emptyRoot(), 0, 0xFFFF_FFFF)).toBe(false);
  });

  it("forgets the pieces a range overlaps, even partly, and keeps the others", () => {
    let r = emptyRoot();
    recordDead(r, 100, 120);
    recordDead(r, 200, 220);
    recordDead(r, 300, 320);
    recordDead(r, 400, 420);
    forgetDead(r, 210, 310); // overlaps the second and third
    expect<u32>(field(r, R_DEAD)).toBe(2);
    expect<bool>(has(r, 100, 120) && has(r, 400, 420)).toBe(true);
    forgetDead(r, 120, 400); // touches both, overlaps neither
    expect<u32>(field(r, R_DEAD)).toBe(2);
    forgetDead(r, 0, 0xFFFF_FFFF);
    expect<u32>(field(r, R_DEAD)).toBe(0);
  });

  it("forgets an exact-end mark inside the range, but keeps one at its very start", () => {
    let r = emptyRoot();
    recordDead(r, 500, 500); // a block's exact end at 500, no dead bytes before it
    recordDead(r, 700, 700);
    forgetDead(r, 500, 600); // a block from 500 on goes back: the end at 500 is its predecessor's
    expect<u32>(field(r, R_DEAD)).toBe(2);
    forgetDead(r, 600, 800);
    expect<u32>(field(r, R_DEAD)).toBe(1);
    expect<bool>(has(r, 500, 500)).toBe(true);
    expect<bool>(exactEnd(r, 500)).toBe(true);
    expect<bool>(exactEnd(r, 700)).toBe(false);
  });

  it("grows a range over the pieces it touches, in any order, and only within [lo, hi)", () => {
    let r = emptyRoot();
    recordDead(r, 140, 160);
    recordDead(r, 100, 120);
    recordDead(r, 120, 140); // recorded after the one it leads to
    recordDead(r, 180, 190);
    let g = grownOverDead(r, 160, 170);
    expect<usize>(lo(g)).toBe(100, "over 140..160, then 120..140, then 100..120");
    expect<usize>(hi(g)).toBe(170, "180..190 does not touch 170");
    g = grownOverDead(r, 160, 180);
    expect<usize>(lo(g)).toBe(100);
    expect<usize>(hi(g)).toBe(190, "and over 180..190 at its end");
    g = grownOverDead(r, 160, 170, 130, 200); // pieces starting below 130 belong to another object
    expect<usize>(lo(g)).toBe(140);
    expect<usize>(hi(g)).toBe(170);
    expect<u32>(field(r, R_DEAD)).toBe(4, "growing changes nothing");
  });

  it("never grows over an exact-end mark", () => {
    let r = emptyRoot();
    recordDead(r, 300, 300);
    let g = grownOverDead(r, 300, 310);
    expect<usize>(lo(g)).toBe(300);
    g = grownOverDead(r, 290, 300);
    expect<usize>(hi(g)).toBe(300);
  });

  it("knows an exact end by any entry ending there", () => {
    let r = emptyRoot();
    expect<bool>(exactEnd(r, 1004)).toBe(false);
    recordDead(r, 1000, 1004);
    expect<bool>(exactEnd(r, 1004)).toBe(true);
    expect<bool>(exactEnd(r, 1000)).toBe(false);
  });
});
