#ifndef DISPATCHTOP_TERM_SHIM_H
#define DISPATCHTOP_TERM_SHIM_H

// Small C helpers for the console: curses macros that Swift cannot import,
// signal handlers that must be plain C because they run in signal context,
// and glibc's malloc_trim, which the Glibc module does not export.

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

/// Installs SIGINT, SIGTERM, SIGHUP and SIGQUIT handlers that only record
/// the signal number. They are installed without SA_RESTART, so a blocking
/// read returns early and the loop checks the flag at once.
void ts_install_quit_handlers(void);

/// Returns 1 when terminfo describes `type` (NULL reads TERM) with cursor
/// addressing (`cup`) and screen clearing (`clear`), 0 when it lacks either
/// (TERM=dumb, a printing terminal), and -1 when terminfo has no such type.
int ts_terminal_can_address_cursor(const char *type);

/// The signal recorded by the quit handlers, or 0; clears it.
int ts_take_quit_signal(void);

/// Gives the free pages of every malloc arena back to the system
/// (glibc's malloc_trim); returns 1 when memory was released.
int ts_return_free_memory(void);

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
