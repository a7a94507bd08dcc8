/* A leak found by ralloc_assert_no_leak: two blocks still live. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(32));
    char *b = launder(malloc(64));
    char *c = launder(malloc(100));
    precondition(a && b && c, "three blocks");
    free(c);
    show("a", a);
    show_num("a_serial", ralloc_block_serial(a));
    show("b", b);
    show_num("b_serial", ralloc_block_serial(b));
    unsigned n = ralloc_assert_no_leak(); /* the misuse: a and b are still live */
    printf("leaked %u\n", n);
    free(a);
    free(b);
    printf("leaked %u\n", ralloc_assert_no_leak());
    return 0;
}
