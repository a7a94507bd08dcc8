/* A leak found by ralloc_assert_no_leak: two blocks still live. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(32));
    char *b = launder(malloc(64));
    char *c = launder(malloc(100));
    precondition(a && b && c, "three blocks");
    free(c);
    show("a", a);
    show_num("a_serial", misuse_block_serial((uint32_t)(uintptr_t)a));
    show("b", b);
    show_num("b_serial", misuse_block_serial((uint32_t)(uintptr_t)b));
    unsigned n = misuse_assert_no_leak(); /* the misuse: a and b are still live */
    printf("leaked %u\n", n);
    free(a);
    free(b);
    printf("leaked %u\n", misuse_assert_no_leak());
    return 0;
}
