/*
 * say.h: progress lines for the person at the console.
 *
 * Library code never prints. Long operations (a ceremony, `airlock init`)
 * hand each line to a function the caller chose, which prints it, logs it,
 * or drops it (fn NULL).
 */
#ifndef AIRLOCK_UTIL_SAY_H
#define AIRLOCK_UTIL_SAY_H

typedef void (*say_fn)(void *ctx, const char *line);

/* Formats one line (at most 1 KiB; longer is cut) and passes it to fn. */
void say(say_fn fn, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
