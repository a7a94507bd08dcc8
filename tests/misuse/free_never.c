/* free of a pointer never allocated: inside the free space after the last block. */
#include "misuse.h"
int main(void) {
    keep(100);
    char *c = keep(100);
    char *x = c + 4096;
    uint32_t f = block_holding((uint32_t)(uintptr_t)x);
    precondition(f != 0 && (misuse_block_info(f) & INFO_FREE) && f < (uint32_t)(uintptr_t)x, "x lies inside a free block, past its start");
    show("x", x);
    free(x); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
