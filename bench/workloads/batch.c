/* Batches of 1,000 blocks of 16, 32 or 64 bytes (in turn), all allocated, then all freed
 * in allocation order (FIFO) or in reverse (LIFO). One operation = one malloc + its free. */
#include "common.h"
#ifndef LIFO
#define LIFO 0
#endif
#define B 1000

static u8 *blk[B];

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, done = 0, batch = 0;
  static const u32 sizes[3] = {16, 32, 64};
  begin(seed);
  while (done < n) {
    u32 size = sizes[batch % 3];
    u32 base = rnd();
    for (u32 i = 0; i < B; i++) {
      u8 *p = xmalloc(size);
      count_alloc(size);
      *(u32 *)p = base + i;
      p[size - 1] = (u8)i;
      blk[i] = p;
    }
    for (u32 j = 0; j < B; j++) {
      u32 i = LIFO ? B - 1 - j : j;
      u8 *p = blk[i];
      CHECK(*(u32 *)p == base + i && p[size - 1] == (u8)i);
      sum += *(u32 *)p;
      count_free(size);
      free(p);
    }
    done += B;
    batch++;
  }
  ops_done = done;
  return sum;
}
