/* Binary trees (the benchmarks-game shape): one long-lived tree of depth 12, then trees
 * of random depth 4..12 built, checked and freed whole. Node = two child pointers and an
 * item, malloc(12). One operation = one node (its malloc and its free). */
#include "common.h"

typedef struct node { struct node *l, *r; u32 item; } node;

static u32 nodes;

static node *build(u32 depth, u32 item) {
  node *t = xmalloc(sizeof(node));
  count_alloc(sizeof(node));
  nodes++;
  t->item = item;
  if (depth) {
    t->l = build(depth - 1, 2 * item);
    t->r = build(depth - 1, 2 * item + 1);
  } else {
    t->l = t->r = 0;
  }
  return t;
}
/* checks the shape and items, returns a checksum */
static u32 check(const node *t, u32 depth, u32 item) {
  CHECK(t->item == item);
  if (!depth) { CHECK(!t->l && !t->r); return item; }
  return item + check(t->l, depth - 1, 2 * item) - check(t->r, depth - 1, 2 * item + 1);
}
static void destroy(node *t) {
  if (t->l) { destroy(t->l); destroy(t->r); }
  count_free(sizeof(node));
  free(t);
}

EXPORT("run") u32 run(u32 n, u32 seed) {
  u32 sum = 0;
  begin(seed);
  nodes = 0;
  node *keep = build(12, 1);
  while (nodes < n) {
    u32 d = rnd_range(4, 12);
    node *t = build(d, rnd() & 0xffff);
    sum = sum * 31 + check(t, d, t->item);
    destroy(t);
  }
  sum += check(keep, 12, 1);
  destroy(keep);
  ops_done = nodes;
  return sum;
}
