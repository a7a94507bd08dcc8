/* Buffers grown by realloc in small steps (a vector appended to without capacity
 * doubling). 8 buffers grow at once, in turns picked at random, by 1..64 bytes per step;
 * when a buffer passes its cap (4..64 KiB, drawn when it starts) it is checked, freed and
 * restarted with malloc. One operation = one malloc, realloc or free call. */
#include "common.h"
#define NBUF 8

static u8 *buf[NBUF];
static u32 len[NBUF], cap[NBUF], gen[NBUF];

/* every byte of a buffer is written, as an appending program would */
static inline u8 byte_at(u32 g, u32 i) { return (u8)(g * 31u + i * 7u + (i >> 8)); }

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0, calls = 0, g = 1;
  begin(seed);
  for (u32 b = 0; b < NBUF; b++) {
    len[b] = 0; cap[b] = rnd_range(4096, 65536); gen[b] = g++;
    buf[b] = xmalloc(16); calls++;
    count_alloc(16);
  }
  while (calls < n) {
    u32 b = rnd() % NBUF;
    u32 step = rnd_range(1, 64), old = len[b], nl = old + step;
    if (nl > cap[b]) {
      u8 *p = buf[b];
      for (u32 i = 0; i < old; i += 61) CHECK(p[i] == byte_at(gen[b], i));
      sum += old + p[old - 1];
      count_free(old > 16 ? old : 16);
      free(p); calls++;
      len[b] = 0; cap[b] = rnd_range(4096, 65536); gen[b] = g++;
      buf[b] = xmalloc(16); calls++;
      count_alloc(16);
      continue;
    }
    u8 *p = xrealloc(buf[b], nl); calls++;
    if (old) CHECK(p[old - 1] == byte_at(gen[b], old - 1) && p[0] == byte_at(gen[b], 0));
    for (u32 i = old; i < nl; i++) p[i] = byte_at(gen[b], i);
    buf[b] = p; len[b] = nl;
    count_free(old > 16 ? old : 16);
    count_alloc(nl > 16 ? nl : 16);
  }
  for (u32 b = 0; b < NBUF; b++) {
    u8 *p = buf[b];
    for (u32 i = 0; i < len[b]; i += 61) CHECK(p[i] == byte_at(gen[b], i));
    sum += len[b];
    free(p); calls++;
  }
  ops_done = calls;
  return sum;
}
