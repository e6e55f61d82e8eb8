#include "CTermShim.h"
int dispatchtop_term_shim_placeholder(void) { return 0; }
