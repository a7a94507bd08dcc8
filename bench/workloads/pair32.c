/* One operation = malloc(32) + free of the same block (the malloc/free pair). */
#include "common.h"

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0;
  begin(seed);
  for (u32 i = 0; i < n; i++) {
    volatile u32 *p = xmalloc(32);
    count_alloc(32);
    p[0] = i ^ seed;
    p[7] = i;
    sum += (p[0] ^ seed) + p[7];
    CHECK(p[7] == i);
    count_free(32);
    free((void *)p);
  }
  ops_done = n;
  return sum;
}
