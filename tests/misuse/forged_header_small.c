/* A forged header below a 100-byte block b, claiming that b reaches over c, found by free.
 * Release has no header below a page object: the word is a's rounding slack, free frees exactly
 * b, and c stays live. */
#include "misuse.h"
int main(void) {
    char *a = keep(100);
    char *b = launder(malloc(100));
    char *c = keep(100);
    precondition(a < b && b < c, "three blocks in address order");
    uint32_t *hb = (uint32_t *)(b - 4);
    uint32_t forged = (ralloc_block_info(b) & ~15u) + (ralloc_block_info(c) & ~15u);
    *hb = forged | (*hb & 15u); /* the misuse */
    show("b", b);
    show_num("size", forged);
    free(b);
    printf("free returned\n");
    printf("b is a free object: %d\n", (ralloc_block_info(b) & 15u) == 3u);
    printf("c usable: %u\n", (unsigned)malloc_usable_size(c));
    return after_misuse();
}
