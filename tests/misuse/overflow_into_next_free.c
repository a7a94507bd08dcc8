/* A 4-byte write past the end of a 96-byte block, found by free. On release the block is a 96-byte
 * page object with no slack and no header: the bytes land in the next object, b, and nothing can
 * tell (the heap stays sound; only b's first bytes changed). */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(96));
    char *b = launder(malloc(96));
    keep(96);
    precondition(a && b, "two blocks");
    memset(a, 'x', 96);
    memset(b, 'y', 96);
    memset(a + 96, 'A', 4); /* the misuse */
    show("a", a);
    free(a);
    printf("free returned\n");
    int rest = 1;
    for (int i = 4; i < 96; i++) if (b[i] != 'y') rest = 0;
    printf("b follows a and starts with AAAA: %d\n", b == a + 96 && memcmp(b, "AAAA", 4) == 0);
    printf("rest of b intact: %d\n", rest);
    printf("b usable: %u\n", (unsigned)malloc_usable_size(b));
    return after_misuse();
}
