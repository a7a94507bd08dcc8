/* talc-style random actions. One operation = one action:
 *   while fewer than 50 blocks are live, or on a coin flip: allocate 1..10,000 bytes;
 *   otherwise act on a random live block: free it (WITH_REALLOC=0), or, with realloc,
 *   realloc it to 1..10,000 bytes or free it, one chance in two each.
 * With realloc the choice at >= 50 live blocks is a three-way draw (allocate / free /
 * realloc, as talc's own wasm benchmark does), so the live set stays a bounded random
 * walk instead of growing by a quarter block per action.
 * The final drain frees every block left; each free counts as an action. */
#include "common.h"
#ifndef WITH_REALLOC
#define WITH_REALLOC 0
#endif
#define MAXLIVE 65536

static u8 *blk[MAXLIVE];
static u32 blk_size[MAXLIVE], blk_tag[MAXLIVE];

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, live = 0, tag = 1, k;
  begin(seed);
  for (k = 0; k < n; k++) {
    u32 r = rnd();
    u32 action; /* 0 alloc, 1 free, 2 realloc */
    if (WITH_REALLOC) action = live < 50 ? 0 : (r >> 7) % 3;
    else action = (live < 50 || (r & 0x100)) ? 0 : 1;
    if (live >= MAXLIVE) action = 1;
    if (action == 0) {
      u32 size = rnd_range(1, 10000);
      u8 *p = xmalloc(size);
      stamp(p, size, tag);
      blk[live] = p; blk_size[live] = size; blk_tag[live] = tag++;
      live++;
      count_alloc(size);
    } else {
      u32 i = rnd() % live;
      if (action == 1) {
        sum += verify(blk[i], blk_size[i], blk_tag[i]) + blk_size[i];
        count_free(blk_size[i]);
        free(blk[i]);
        live--;
        blk[i] = blk[live]; blk_size[i] = blk_size[live]; blk_tag[i] = blk_tag[live];
      } else {
        u32 size = rnd_range(1, 10000), old = blk_size[i];
        u8 *p = xrealloc(blk[i], size);
        sum += verify_prefix(p, old, size, blk_tag[i]) + size;
        stamp(p, size, tag);
        blk[i] = p; blk_size[i] = size; blk_tag[i] = tag++;
        count_free(old);
        count_alloc(size);
      }
    }
  }
  for (u32 i = 0; i < live; i++) {
    sum += verify(blk[i], blk_size[i], blk_tag[i]);
    count_free(blk_size[i]);
    free(blk[i]);
  }
  ops_done = n + live;
  return sum;
}
