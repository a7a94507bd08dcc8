/* A use-after-free write into a freed 32-byte block: a pointer to a live block stored where the
 * free list's link is; found by malloc. Guarded builds: a quick list. Release: a page's free
 * list; malloc cannot tell and hands b out, ralloc_check names PAGE. small and tiny: a free block
 * of the general lists, as in corrupt_free_list.c. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(32));
    char *b = launder(malloc(32));
    char *c = launder(malloc(32));
    precondition(a && b && c, "three blocks");
    free(b);
    uint32_t info = block_info(b);
    precondition(info != 0xFFFFFFFFu && ((info & INFO_CACHED) || (info & 15u) == 3u || (info & 15u) == INFO_FREE),
                 "b is cached (guarded builds), a free page object (release) or a free block (small, tiny)");
    *(char **)b = a; /* the misuse */
    show("b", b);
    show_num("size", info & ~15u);
    char *q = launder(malloc(32));
    printf("malloc gave b: %d\n", q == b);
    printf("check %d\n", ralloc_check());
    return 0;
}
