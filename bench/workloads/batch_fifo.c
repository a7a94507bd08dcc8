#define LIFO 0
#include "batch.c"
