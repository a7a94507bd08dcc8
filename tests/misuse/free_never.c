/* free of a pointer never allocated: near the end of the free space after the last block, past
 * anything the program (or the warm-up before main, misuse.h) was ever given. */
#include "misuse.h"
int main(void) {
    keep(100);
    keep(100);
    char *f = NULL;
    for (char *b = ralloc_walk(NULL); b; b = ralloc_walk(b)) f = b; /* the heap's last block */
    precondition(f != NULL && (ralloc_block_info(f) & INFO_FREE) && (ralloc_block_info(f) & ~15u) >= 256,
                 "the heap ends in a free block of at least 256 bytes");
    char *x = f + (ralloc_block_info(f) & ~15u) - 64;
    precondition(block_holding(x) == f && f < x, "x lies inside a free block, past its start");
    show("x", x);
    free(x); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
