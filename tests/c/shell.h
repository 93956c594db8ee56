/* shell.h — for the C tests that build and run programs: sh(fmt, ...) formats a command and runs it with
 * system(3), returning its status. */
#ifndef PAB_SHELL_H
#define PAB_SHELL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

#endif
