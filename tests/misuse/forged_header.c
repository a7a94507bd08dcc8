/* A corrupted header: the size of block a (2000 bytes) forged to reach over block b, found by
 * free. Release (a block with a header) cannot tell: freeing a hides b (ralloc_check names
 * COUNTERS). */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(2000));
    char *b = launder(malloc(2000));
    char *c = launder(malloc(2000));
    precondition(a && b && c, "three blocks");
    uint32_t *ha = (uint32_t *)(a - 4), hb = *(uint32_t *)(b - 4);
    uint32_t forged = (*ha & ~15u) + (hb & ~15u);
    *ha = forged | (*ha & 15u); /* the misuse */
    show("a", a);
    show_num("size", forged);
    free(a);
    printf("free returned\n");
    printf("check %d\n", ralloc_check());
    return 0;
}
