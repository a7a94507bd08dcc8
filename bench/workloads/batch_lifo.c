#define LIFO 1
#include "batch.c"
