/* ralloc_heap_free of a block already freed, in a local heap. */
#include "misuse.h"
int main(void) {
    ralloc_heap_t h = ralloc_heap_new(4096);
    precondition(h != 0, "a local heap");
    char *x = launder(ralloc_heap_alloc(h, 100, 16));
    char *y = launder(ralloc_heap_alloc(h, 100, 16));
    precondition(x && y, "two blocks");
    precondition(ralloc_heap_free(h, x) == 0, "the first free");
    show("x", x);
    int r = ralloc_heap_free(h, x); /* the misuse */
    printf("ralloc_heap_free -> %d\n", r);
    printf("heap check %d\n", ralloc_heap_check(h));
    return after_misuse();
}
