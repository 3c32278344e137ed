/*
 * timeutil.h: the one textual time format Airlock reads and writes:
 * RFC 3339 in UTC with an explicit Z, "2026-11-22T08:00:00Z". Local time
 * zones never enter: an offline CA must not depend on the host's TZ.
 */
#ifndef AIRLOCK_UTIL_TIMEUTIL_H
#define AIRLOCK_UTIL_TIMEUTIL_H

#include <time.h>

#include "util/err.h"

#define TIMEUTIL_STRLEN 21	/* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (years 1950..9999); 0 or ERR_INVALID. */
int timeutil_parse(const char *s, time_t *out, err_t *err);

/*
 * Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out; a time outside years 0..9999
 * gives "0000-00-00T00:00:00Z", which timeutil_parse refuses.
 */
void timeutil_format(time_t t, char out[TIMEUTIL_STRLEN]);

#endif
