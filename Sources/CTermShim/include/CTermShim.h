#ifndef DISPATCHTOP_TERM_SHIM_H
#define DISPATCHTOP_TERM_SHIM_H
int dispatchtop_term_shim_placeholder(void);
#endif
