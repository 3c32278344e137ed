/*
 * airgap.h: the daemon's air-gap guard (airlockd(8), "AIR-GAP GUARD").
 *
 * At activation and before each signing run (a batch, a CRL) the daemon
 * reads the host's network state (util/airgap.h). With network_guard:
 * enforce (the default) a host with an interface up other than loopback,
 * a default route, or a state that cannot be read, is refused: nothing is
 * signed, the console and the audit log (airgap-refused) say why, and the
 * work waits where it is for the worker's next pass. With dev-override the
 * run goes on, but never quietly: each activation and signing run under it
 * prints a warning to stderr and writes an airgap-override record of what
 * was found, and `airlock status` shows it.
 */
#ifndef AIRLOCK_DAEMON_AIRGAP_H
#define AIRLOCK_DAEMON_AIRGAP_H

#include <time.h>

#include "util/airgap.h"
#include "util/err.h"

struct daemon;

enum daemon_airgap_state {
	DAEMON_AIRGAP_UNCHECKED = 0,
	DAEMON_AIRGAP_PASSED,
	DAEMON_AIRGAP_REFUSED,
	DAEMON_AIRGAP_OVERRIDDEN
};

/* The guard's last word, under the daemon's lock. */
struct daemon_airgap {
	enum daemon_airgap_state state;
	time_t checked, since;		/* last check; state's start */
	char finding[AIRGAP_REASON_MAX];
	/* The refusal last written to the audit log: a finding is recorded
	 * once per change, not at every pass of the worker. */
	char recorded[AIRGAP_REASON_MAX];
};

/*
 * Checks the host before run ("activation", "batch 3", "CRL request 5";
 * objects are its audit OBJECTS) or, with run NULL, before a worker pass
 * (a gate that records refusals but announces no override). 0 when
 * signing may go on: the host is air-gapped, or the guard is overridden
 * and (for a run) the override was recorded. ERR_POLICY when refused,
 * with the reason in err; ERR_IO when the override could not be recorded.
 * A refusal is recorded when its finding differs from the one recorded
 * last, or always when always is set (an officer's activation).
 */
int daemon_airgap_check(struct daemon *d, const char *run,
    const char *objects, int always, err_t *err);

/*
 * The guard's last word as one line into out: "passed: ...", "REFUSED
 * since T: ...", "OVERRIDDEN (development only) ...". Returns the state.
 */
enum daemon_airgap_state daemon_airgap_describe(struct daemon *d, char *out,
    size_t outsz);

#endif
