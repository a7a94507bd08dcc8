/* 10,000 live objects of 16..1024 bytes; one operation = free a random live object and
 * allocate a new one of a random size in its slot. The initial fill and the final drain
 * (10,000 mallocs and 10,000 frees) count as 10,000 more operations. */
#include "common.h"
#define LIVE 10000

static u8 *slot[LIVE];
static u32 slot_size[LIVE], slot_tag[LIVE];

static inline void fill(u32 i, u32 tag) {
  u32 size = rnd_range(16, 1024);
  u8 *p = xmalloc(size);
  stamp(p, size, tag);
  slot[i] = p; slot_size[i] = size; slot_tag[i] = tag;
  count_alloc(size);
}

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, tag = 1;
  begin(seed);
  for (u32 i = 0; i < LIVE; i++) fill(i, tag++);
  for (u32 k = 0; k < n; k++) {
    u32 i = rnd() % LIVE;
    sum += verify(slot[i], slot_size[i], slot_tag[i]) + slot_size[i];
    count_free(slot_size[i]);
    free(slot[i]);
    fill(i, tag++);
  }
  for (u32 i = 0; i < LIVE; i++) {
    sum += verify(slot[i], slot_size[i], slot_tag[i]);
    count_free(slot_size[i]);
    free(slot[i]);
  }
  ops_done = n + LIVE;
  return sum;
}
