import { blockSizeFor, payloadOf, MIN_BLOCK, ALIGN, FREE, PREV_FREE, CACHED, SIZE_MASK } from "../../assembly/base/block";

describe("block", () => {
  it("sizes a block as request + 4-byte header, rounded up to 16", () => {
    expect<usize>(blockSizeFor(0)).toBe(16);
    expect<usize>(blockSizeFor(12)).toBe(16);
    expect<usize>(blockSizeFor(13)).toBe(32);
    expect<usize>(blockSizeFor(28)).toBe(32);
    expect<usize>(blockSizeFor(32)).toBe(48);
    expect<usize>(blockSizeFor(1024)).toBe(1040);
  });

  it("always leaves at least the request as payload", () => {
    for (let n: usize = 0; n < 5000; n += 7) {
      let s = blockSizeFor(n);
      expect<bool>(payloadOf(s) >= n).toBe(true);
      expect<usize>(s % ALIGN).toBe(0);
      expect<bool>(s >= MIN_BLOCK).toBe(true);
      expect<bool>(s - n <= 19).toBe(true); // never wastes more than header + rounding
    }
  });

  it("keeps the flags out of the size bits", () => {
    expect<u32>((FREE | PREV_FREE | CACHED) & SIZE_MASK).toBe(0);
    expect<u32>(SIZE_MASK & 0xFFFFFFF0).toBe(0xFFFFFFF0);
  });
});
