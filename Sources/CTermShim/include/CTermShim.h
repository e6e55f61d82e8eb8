#ifndef DISPATCHTOP_TERM_SHIM_H
#define DISPATCHTOP_TERM_SHIM_H

// Small C helpers for the console's terminal backend: curses macros that
// Swift cannot import, and signal handlers that must be plain C because
// they run in signal context.

#include <stdint.h>

/// Curses attribute bits (macros built with casts, so not imported).
int ts_attribute_bold(void);
int ts_attribute_reverse(void);
int ts_attribute_dim(void);
int ts_attribute_underline(void);

/// Sets the attributes (and colour pair) of the standard screen for the next writes.
int ts_set_attributes(int attributes, short pair);

/// Reads one key or character with `wget_wch` on the standard screen.
/// Returns OK for a character, KEY_CODE_YES for a function key, ERR on timeout.
int ts_read_key(uint32_t *code);

/// Rows and columns of the standard screen.
int ts_rows(void);
int ts_columns(void);

/// True when the current LC_CTYPE uses UTF-8.
int ts_locale_is_utf8(void);

/// Installs SIGINT and SIGTERM handlers that only record the signal number.
/// They are installed without SA_RESTART, so a blocking read returns early
/// and the loop checks the flag at once.
void ts_install_quit_handlers(void);

/// The signal recorded by the quit handlers, or 0; clears it.
int ts_take_quit_signal(void);

/// Installs handlers for SIGSEGV, SIGILL, SIGABRT, SIGBUS, SIGFPE and SIGTRAP.
/// Each restores the terminal (endwin) and points standard error back at
/// `saved_stderr` when it is not -1. It then puts back the handler that was
/// there before and raises the signal again, so the runtime's own crash
/// report still runs. A kernel fault is raised again by returning to the
/// faulting instruction. A signal sent by kill() is raised at once, and the
/// default action then ends the process.
void ts_install_crash_handlers(int saved_stderr);

/// Puts back the handlers that were there before ts_install_crash_handlers.
void ts_remove_crash_handlers(void);

#endif
