/* ralloc_dealloc of the same range twice (a whole block). */
#include "misuse.h"
int main(void) {
    keep(2000);
    char *b = launder(malloc(2000));
    keep(2000);
    precondition(ralloc_dealloc(b, 2000) == 0, "the first dealloc frees b");
    show("b", b);
    int r = ralloc_dealloc(b, 2000); /* the misuse */
    printf("ralloc_dealloc -> %d\n", r);
    return after_misuse();
}
