#ifndef SPEEDO_CNCURSES_SHIM_H
#define SPEEDO_CNCURSES_SHIM_H
// SwiftPM drops the -D flags pkg-config gives for ncursesw, so the wide-character API
// must be switched on here, before the include.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <langinfo.h>
#include <stdio.h>
#include <ncursesw/curses.h>

// wcwidth is not exported by Swift's Glibc module.
static inline int speedo_wcwidth(wchar_t c) { return wcwidth(c); }

// C globals and composite macros that Swift cannot import (or not as concurrency-safe values).
// newterm on the process's own stdout/stdin: Glibc's stdout and stdin are mutable globals to Swift.
static inline SCREEN *speedo_newterm(void) { return newterm(NULL, stdout, stdin); }
static inline WINDOW *speedo_stdscr(void) { return stdscr; }
static inline int speedo_colors(void) { return COLORS; }
static inline attr_t speedo_attributes(int bold, int dim, int reverse) {
    return (bold ? A_BOLD : 0) | (dim ? A_DIM : 0) | (reverse ? A_REVERSE : 0);
}
#endif
