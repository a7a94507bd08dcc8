/* Double free of a 32-byte block. Guarded builds: it sits in a quick list. Release: it is a free
 * object of a page (no header), and the second free is an exact no-op: its page is unchanged.
 * small and tiny (no small-object path): a free block of the general lists. */
#include "misuse.h"
#define INFO_KIND 15u
#define KIND_OBJECT_FREE 3u /* release: an object of a page, free */
static unsigned char before[4096];
int main(void) {
    keep(32);
    char *b = launder(malloc(32));
    keep(32);
    free(b);
    int object = (ralloc_block_info(b) & INFO_KIND) == KIND_OBJECT_FREE;
    precondition(object || (block_info(b) != 0xFFFFFFFFu && ((block_info(b) & INFO_CACHED) || (block_info(b) & 15u) == INFO_FREE)),
                 "b is cached (guarded builds), a free page object (release) or a free block (small, tiny)");
    show("b", b);
    unsigned char *page = (unsigned char *)((uintptr_t)b & ~(uintptr_t)4095); /* release: b's page */
    memcpy(before, page, sizeof before);
    free(b); /* the misuse */
    printf("free returned\n");
    if (object) printf("page unchanged: %d\n", memcmp(before, page, sizeof before) == 0);
    return after_misuse();
}
