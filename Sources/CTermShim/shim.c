#define NCURSES_WIDECHAR 1
#include <langinfo.h>
#include <pthread.h>
#include <locale.h>
#include <malloc.h>
#include <ncursesw/curses.h>
#include <ncursesw/term.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "CTermShim.h"

int ts_attribute_bold(void) { return (int)A_BOLD; }
int ts_attribute_reverse(void) { return (int)A_REVERSE; }
int ts_attribute_dim(void) { return (int)A_DIM; }
int ts_attribute_underline(void) { return (int)A_UNDERLINE; }

int ts_set_attributes(int attributes, short pair) {
    return attr_set((attr_t)attributes, pair, NULL);
}

int ts_read_key(uint32_t *code) {
    wint_t value = 0;
    int result = wget_wch(stdscr, &value);
    *code = (uint32_t)value;
    return result;
}

int ts_rows(void) { return getmaxy(stdscr); }
int ts_columns(void) { return getmaxx(stdscr); }

int ts_locale_is_utf8(void) {
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

// MARK: - Quit signals

static volatile sig_atomic_t quit_signal = 0;

static void on_quit_signal(int number) { quit_signal = number; }

void ts_install_quit_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_quit_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    // Replaces the Swift runtime's backtracer for SIGQUIT, which would
    // draw a crash report over the screen and wait for a key.
    sigaction(SIGQUIT, &action, NULL);
}

int ts_take_quit_signal(void) {
    int number = quit_signal;
    quit_signal = 0;
    return number;
}

// MARK: - Terminal capabilities

int ts_terminal_can_address_cursor(const char *type) {
    int error = 0;
    TERMINAL *saved = cur_term;
    // setupterm with an error pointer reports a missing terminfo entry
    // instead of printing and exiting. The entry it loads is freed and the
    // previous current terminal (none, before curses starts) is put back.
    if (setupterm(type, STDOUT_FILENO, &error) != OK) {
        return -1;
    }
    char *address = tigetstr("cup");
    char *erase_all = tigetstr("clear");
    int usable = address != NULL && address != (char *)-1 && erase_all != NULL && erase_all != (char *)-1;
    del_curterm(cur_term);
    set_curterm(saved);
    return usable;
}

// MARK: - Memory

int ts_return_free_memory(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}

// MARK: - Crash signals

static const int crash_signals[] = {SIGSEGV, SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGTRAP};
enum { crash_signal_count = sizeof crash_signals / sizeof crash_signals[0] };
static struct sigaction previous_actions[crash_signal_count];
static volatile sig_atomic_t crash_handlers_installed = 0;
static volatile sig_atomic_t saved_stderr_descriptor = -1;

static void on_crash_signal(int number, siginfo_t *info, void *context) {
    (void)context;
    // endwin is not on the async-signal-safe list, but the process is
    // going down anyway and a restored terminal is worth the risk.
    endwin();
    if (saved_stderr_descriptor >= 0) {
        dup2(saved_stderr_descriptor, STDERR_FILENO);
    }
    for (int index = 0; index < crash_signal_count; index++) {
        if (crash_signals[index] == number) {
            sigaction(number, &previous_actions[index], NULL);
        }
    }
    if (info != NULL && info->si_code > 0) {
        // A fault the kernel raised: returning runs the faulting
        // instruction again, which raises the signal once more, now to the
        // previous handler (the runtime's crash report) with the real context.
        return;
    }
    // Sent by kill() or raise(): the previous handler may return, so it
    // runs now, nested, and the default action ends the process after it.
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, number);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    raise(number);
    signal(number, SIG_DFL);
    raise(number);
}

void ts_install_crash_handlers(int saved_stderr) {
    saved_stderr_descriptor = saved_stderr;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_crash_signal;
    sigemptyset(&action.sa_mask);
    // SA_ONSTACK: a stack overflow can only be handled on the alternate
    // stack that the Swift runtime's backtracer sets up.
    action.sa_flags = SA_ONSTACK | SA_SIGINFO;
    for (int index = 0; index < crash_signal_count; index++) {
        sigaction(crash_signals[index], &action, &previous_actions[index]);
    }
    crash_handlers_installed = 1;
}

void ts_remove_crash_handlers(void) {
    if (!crash_handlers_installed) return;
    for (int index = 0; index < crash_signal_count; index++) {
        sigaction(crash_signals[index], &previous_actions[index], NULL);
    }
    crash_handlers_installed = 0;
}
