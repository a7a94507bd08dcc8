/* One operation = malloc(32) + free of the same block (the malloc/free pair). */
#include "common.h"

EXPORT("run") u32 run(u32 n, u32 seed) {
  begin(seed);
  u32 sum = pairs(n, seed);
  ops_done = n;
  return sum;
}
