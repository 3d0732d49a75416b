#ifndef SPEEDO_CNCURSES_SHIM_H
#define SPEEDO_CNCURSES_SHIM_H
// SwiftPM drops the -D flags pkg-config gives for ncursesw, so the wide-character API
// must be switched on here, before the include.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <langinfo.h>
#include <ncursesw/curses.h>

// wcwidth is not exported by Swift's Glibc module.
static inline int speedo_wcwidth(wchar_t c) { return wcwidth(c); }
#endif
