#include "csgio.h"
int csgio_placeholder(void) { return 0; }
