/* event.c: see event.h. */
#include <stdarg.h>
#include <stdio.h>

#include "util/event.h"

const char *
event_outcome_name(enum event_outcome o)
{
	switch (o) {
	case EVENT_OK:
		return "ok";
	case EVENT_REFUSED:
		return "refused";
	case EVENT_FAILED:
		return "failed";
	}
	return "?";
}

int
event_emit(event_fn fn, void *ctx, const char *action,
    enum event_outcome outcome, const char *actor_sha256,
    const char *actor_name, const char *objects, const char *fmt, ...)
{
	struct event e;
	char details[4096];

	if (fn == NULL)
		return 0;
	details[0] = '\0';
	if (fmt != NULL) {
		va_list ap;

		va_start(ap, fmt);
		(void)vsnprintf(details, sizeof(details), fmt, ap);
		va_end(ap);
	}
	e.action = action;
	e.outcome = outcome;
	e.actor_sha256 = actor_sha256;
	e.actor_name = actor_name;
	e.objects = objects;
	e.details = details;
	e.bulk = 0;
	return fn(ctx, &e);
}
