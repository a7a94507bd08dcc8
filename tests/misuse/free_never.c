/* free of a pointer never allocated: inside the free space after the last block. */
#include "misuse.h"
int main(void) {
    keep(100);
    char *c = keep(100);
    char *x = c + 4096;
    char *f = block_holding(x);
    precondition(f != NULL && (ralloc_block_info(f) & INFO_FREE) && f < x, "x lies inside a free block, past its start");
    show("x", x);
    free(x); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
