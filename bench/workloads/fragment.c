/* A fragmenting pattern. Each round: fill with 4,000 small blocks (16..64 B), free every
 * other one, then allocate 2,000 blocks a little larger (8..24 B more than the block freed
 * in that slot), which do not fit the holes unless the allocator rounded the hole up.
 * A round's blocks are freed three rounds later, so the holes and survivors of three
 * rounds are interleaved. Peak memory is the interesting figure here.
 * One operation = one allocation (and its later free). */
#include "common.h"
#define K 4000
#define ROUNDS_KEPT 3

static u8 *blk[ROUNDS_KEPT][K];
static u32 bsz[ROUNDS_KEPT][K], btag[ROUNDS_KEPT][K];

static void drop_round(u32 r, u32 *sum) {
  for (u32 i = 0; i < K; i++) {
    if (!blk[r][i]) continue;
    *sum += verify(blk[r][i], bsz[r][i], btag[r][i]);
    count_free(bsz[r][i]);
    free(blk[r][i]);
    blk[r][i] = 0;
  }
}

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, tag = 1, allocs = 0, round = 0;
  begin(seed);
  for (u32 r = 0; r < ROUNDS_KEPT; r++) for (u32 i = 0; i < K; i++) blk[r][i] = 0;
  while (allocs < n) {
    u32 r = round % ROUNDS_KEPT;
    drop_round(r, &sum); /* survivors of three rounds ago */
    for (u32 i = 0; i < K; i++) {
      u32 size = rnd_range(16, 64);
      u8 *p = xmalloc(size);
      stamp(p, size, tag);
      blk[r][i] = p; bsz[r][i] = size; btag[r][i] = tag++;
      count_alloc(size);
      allocs++;
    }
    for (u32 i = 1; i < K; i += 2) {
      sum += verify(blk[r][i], bsz[r][i], btag[r][i]);
      count_free(bsz[r][i]);
      free(blk[r][i]);
    }
    for (u32 i = 1; i < K; i += 2) {
      u32 size = bsz[r][i] + rnd_range(8, 24); /* 8..24 B more than the hole it left */
      u8 *p = xmalloc(size);
      stamp(p, size, tag);
      blk[r][i] = p; bsz[r][i] = size; btag[r][i] = tag++;
      count_alloc(size);
      allocs++;
    }
    round++;
  }
  for (u32 r = 0; r < ROUNDS_KEPT; r++) drop_round(r, &sum);
  ops_done = allocs;
  return sum;
}
