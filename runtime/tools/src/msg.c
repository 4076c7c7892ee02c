/*
 * msg.c — hp_msg_set(): the tools' one way to hand back a message.
 */
#include "hp_tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hp_msg_set(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = 0;
        return;
    }
    if ((size_t)n >= size && size > 4)
        memcpy(msg + size - 4, "...", 4); /* a cut message says so */
}
