// SwiftPM drops pkg-config's -D flags, and with them the define that turns
// on ncurses' wide-character API, so it is set here before the include.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncursesw/curses.h>
