/* A use-after-free write: a pointer stored into a freed block corrupts the free list; found by
 * malloc. Release checks the link before writing through it (it does not link back), so the
 * block leaves its list alone and is handed out, and the heap stays whole. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(4000));
    char *b = launder(malloc(4000));
    char *c = launder(malloc(4000));
    precondition(a && b && c, "three blocks");
    free(b);
    uint32_t info = block_info(b);
    precondition(info != 0xFFFFFFFFu && (info & INFO_FREE), "b is in the general free lists");
    *(char **)b = a; /* the misuse */
    show("b", b);
    show_num("size", info & ~15u);
    char *q = launder(malloc(2000));
    printf("malloc gave b: %d\n", q == b);
    printf("check %d\n", ralloc_check());
    return 0;
}
