/* airgap.c: the daemon's air-gap guard (see airgap.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/airgap.h"
#include "daemon/daemon.h"
#include "util/timeutil.h"

int
daemon_airgap_check(struct daemon *d, const char *run, const char *objects,
    int always, err_t *err)
{
	struct airgap_finding *f;
	enum daemon_airgap_state st;
	int dirty, record, cleared, r = 0;
	time_t now = time(NULL);
	err_t e;

	/* On the heap: a finding is 15 KiB, and the worker's stack is not
	 * the place to learn that. */
	if ((f = malloc(sizeof(*f))) == NULL)
		return err_set(err, ERR_NOMEM, "air-gap guard: out of memory");
	err_clear(&e);
	/* Unreadable is as bad as networked: the reason says which. */
	dirty = airgap_inspect("/", f, &e) != 0 || !airgap_clear(f);
	st = d->cfg.network_guard == CONFIG_GUARD_DEV_OVERRIDE ?
	    DAEMON_AIRGAP_OVERRIDDEN : dirty ? DAEMON_AIRGAP_REFUSED :
	    DAEMON_AIRGAP_PASSED;
	pthread_mutex_lock(&d->lock);
	if (st != d->airgap.state || strcmp(f->reason, d->airgap.finding) != 0)
		d->airgap.since = now;
	d->airgap.state = st;
	d->airgap.checked = now;
	snprintf(d->airgap.finding, sizeof(d->airgap.finding), "%s",
	    f->reason);
	record = st == DAEMON_AIRGAP_REFUSED && (always ||
	    strcmp(d->airgap.recorded, f->reason) != 0);
	cleared = st != DAEMON_AIRGAP_REFUSED && d->airgap.recorded[0] != '\0';
	if (st == DAEMON_AIRGAP_REFUSED)
		snprintf(d->airgap.recorded, sizeof(d->airgap.recorded), "%s",
		    f->reason);
	else
		d->airgap.recorded[0] = '\0';
	pthread_mutex_unlock(&d->lock);

	if (cleared)
		event_emit(daemon_event, daemon_sink(d), "airgap-cleared",
		    EVENT_OK, NULL, NULL, objects, "signing resumes: %s",
		    f->reason);
	if (st == DAEMON_AIRGAP_REFUSED) {
		if (record)
			event_emit(daemon_event, daemon_sink(d),
			    "airgap-refused", EVENT_REFUSED, NULL, NULL,
			    objects, "%s refused: %s", run != NULL ? run :
			    "signing", f->reason);
		r = err_set(err, ERR_POLICY, "air-gap guard: %s: nothing is "
		    "signed on a networked host (network_guard: enforce in "
		    "%s)", f->reason, d->cfg.path);
	} else if (st == DAEMON_AIRGAP_OVERRIDDEN && run != NULL) {
		fprintf(stderr, "airlockd: AIR-GAP GUARD OVERRIDDEN "
		    "(development only): %s goes on; found: %s\n", run,
		    f->reason);
		fflush(stderr);
		/* An override that leaves no record is not allowed. */
		r = daemon_recorded(d, event_emit(daemon_event, daemon_sink(d),
		    "airgap-override", EVENT_OK, NULL, NULL, objects, "%s under "
		    "network_guard: dev-override (development only); found: "
		    "%s", run, f->reason), err);
	}
	free(f);
	return r;
}

enum daemon_airgap_state
daemon_airgap_describe(struct daemon *d, char *out, size_t outsz)
{
	char since[TIMEUTIL_STRLEN], checked[TIMEUTIL_STRLEN];
	enum daemon_airgap_state st;

	pthread_mutex_lock(&d->lock);
	st = d->airgap.state;
	timeutil_format(d->airgap.since, since);
	timeutil_format(d->airgap.checked, checked);
	switch (st) {
	case DAEMON_AIRGAP_PASSED:
		snprintf(out, outsz, "passed at %s: %s", checked,
		    d->airgap.finding);
		break;
	case DAEMON_AIRGAP_REFUSED:
		snprintf(out, outsz, "REFUSED since %s: %s; nothing is "
		    "signed until the host is air-gapped again (checked at "
		    "each pass, last %s)", since, d->airgap.finding, checked);
		break;
	case DAEMON_AIRGAP_OVERRIDDEN:
		snprintf(out, outsz, "OVERRIDDEN (development only, "
		    "network_guard: dev-override), last at %s; found: %s",
		    checked, d->airgap.finding);
		break;
	default:
		snprintf(out, outsz, "not checked yet (at activation and "
		    "before each signing run)");
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return st;
}
