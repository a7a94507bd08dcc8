/* A 4-byte write past the end of a 96-byte block, found by ralloc_check. On release the block is
 * a 96-byte page object with no slack and no header: the bytes land in the next object, b, and
 * ralloc_check cannot tell (it returns 0). */
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
    printf("check %d\n", ralloc_check());
    int rest = 1;
    for (int i = 4; i < 96; i++) if (b[i] != 'y') rest = 0;
    printf("b follows a and starts with AAAA: %d\n", b == a + 96 && memcmp(b, "AAAA", 4) == 0);
    printf("rest of b intact: %d\n", rest);
    return after_misuse();
}
