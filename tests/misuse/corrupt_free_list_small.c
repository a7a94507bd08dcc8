/* A use-after-free write into a freed 32-byte block: a pointer to a live block stored where the
 * free list's link is; found by malloc. Guarded builds: a quick list. Release: a page's free
 * list; malloc cannot tell and hands b out, ralloc_check names PAGE. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(32));
    char *b = launder(malloc(32));
    char *c = launder(malloc(32));
    precondition(a && b && c, "three blocks");
    free(b);
    uint32_t info = block_info(b);
    precondition(info != 0xFFFFFFFFu && ((info & INFO_CACHED) || (info & 15u) == 3u),
                 "b is cached (guarded builds) or a free page object (release)");
    *(char **)b = a; /* the misuse */
    show("b", b);
    show_num("size", info & ~15u);
    char *q = launder(malloc(32));
    printf("malloc gave b: %d\n", q == b);
    printf("check %d\n", ralloc_check());
    return 0;
}
