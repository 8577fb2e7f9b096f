/* omvflashd: the one way lists are written in its messages ("a, b, c"). */
#ifndef OMVFLASHD_CLI_TEXT_H
#define OMVFLASHD_CLI_TEXT_H

#include <stdio.h>
#include <string.h>

/** Append ", " (unless @p buf is empty) and @p item to @p buf (@p len bytes), truncating. */
static inline void cli_join_add(char *buf, size_t len, const char *item)
{
    size_t used = 0;
    while (used < len && buf[used])
        used++;
    if (used + 1 >= len)
        return;
    /* Using the result keeps -Wformat-truncation quiet: truncation is acceptable here. */
    if (snprintf(buf + used, len - used, "%s%s", used ? ", " : "", item) < 0)
        buf[used] = '\0';
}

#endif
