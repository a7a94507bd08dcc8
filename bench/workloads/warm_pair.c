/* The warm pair: malloc(32)+free pairs in a heap that has been used, where pair32 runs in a
 * fresh one. First a live set: 4,000 blocks of 16..1024 bytes, with a block of 4..64 KiB
 * after every 100th (4,040 blocks, about 3.4 MB); then half of them, a random half in a
 * random order, are freed, leaving holes of every size all over the heap. The pairs run
 * among them: an allocator cannot serve them from untouched memory at the heap's end
 * (dlmalloc serves pair32 from its top chunk; here its bins and its designated victim hold
 * free memory that comes first). The set-up is the same for every n and not counted as
 * operations: the other half is freed at the end.
 * One operation = malloc(32) + free of the same block. */
#include "common.h"
#define SMALL 4000
#define EVERY 100 /* a large block after every 100th small one */
#define LIVE (SMALL + SMALL / EVERY)

static u8 *blk[LIVE];
static u32 bsz[LIVE], order[LIVE];

static inline void place(u32 k, u32 size) {
  u8 *p = xmalloc(size);
  stamp(p, size, k + 1);
  blk[k] = p; bsz[k] = size;
  count_alloc(size);
}

static inline u32 drop(u32 k) {
  u32 s = verify(blk[k], bsz[k], k + 1) + bsz[k];
  count_free(bsz[k]);
  free(blk[k]);
  blk[k] = 0;
  return s;
}

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, k = 0;
  begin(seed);
  for (u32 i = 0; i < SMALL; i++) {
    place(k++, rnd_range(16, 1024));
    if (i % EVERY == EVERY - 1) place(k++, rnd_range(4096, 65536));
  }
  /* a random order of all the blocks (Fisher-Yates); its first half is freed, in that order */
  for (u32 i = 0; i < LIVE; i++) order[i] = i;
  for (u32 i = LIVE - 1; i > 0; i--) {
    u32 j = rnd() % (i + 1), t = order[i];
    order[i] = order[j]; order[j] = t;
  }
  for (u32 i = 0; i < LIVE / 2; i++) sum += drop(order[i]);
  sum += pairs(n, seed); /* the pairs: pair32's loop */
  for (u32 i = LIVE / 2; i < LIVE; i++) sum += drop(order[i]);
  ops_done = n;
  return sum;
}
