/* say.c: progress lines for the console (see say.h). */
#include "util/say.h"

#include <stdarg.h>
#include <stdio.h>

void
say(say_fn fn, void *ctx, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(ctx, line);
}
