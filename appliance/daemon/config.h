/*
 * config.h: airlockd's configuration file (docs/man/airlockd.8).
 *
 *   airlockd: 1
 *   state: /var/lib/airlock          # airlock.db (from `airlock init`), bundles/
 *   media: /media/airlock            # the stick: inbox/ outbox/ quarantine/
 *   policies: /etc/airlock/policies  # the profiles, NAME.yaml
 *   socket: /run/airlock/console.sock
 *   console_users: [root, airlock]   # who may use the console socket
 *   hsm:
 *     module: /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
 *     token: airlock-ca              # label of the CA token
 *     sessions: 2                    # signing sessions (1..64)
 *   signer:
 *     threads: 0                     # 0: one per online CPU
 *     group: 256                     # lines per transaction (1..10000)
 *   scan_interval_ms: 1000           # how often inbox/ is looked at
 *   settle_ms: 1000                  # a file must be unchanged this long
 *   require_mount: true              # media must be a mounted file system
 *   lockout:                         # failures before a credential locks
 *     login_failures: 3              # wrong PINs at activation (1..1000)
 *     approval_failures: 5           # a person's failed approvals (1..1000)
 *   network_guard: enforce           # or dev-override (development only)
 *   activation: pin                  # or split-pin: M officers' PIN shares
 *   share_timeout: 600               # seconds presented shares are held
 *   user: airlock                    # started as root: run as this user
 *
 * Strict like every Airlock YAML file: unknown keys are errors, every
 * problem reported at once with file, line and key. No PIN ever appears
 * here: the CA token's PIN is given at activation, at the console.
 */
#ifndef AIRLOCK_DAEMON_CONFIG_H
#define AIRLOCK_DAEMON_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define CONFIG_MAX_USERS 16
/* lockout: the defaults (config.c says why) and the highest limit. */
#define CONFIG_LOGIN_FAILURES 3
#define CONFIG_APPROVAL_FAILURES 5
#define CONFIG_FAILURES_MAX 1000

/* The air-gap guard (daemon/airgap.c): refuse, or warn and record. */
enum config_network_guard {
	CONFIG_GUARD_ENFORCE = 0,
	CONFIG_GUARD_DEV_OVERRIDE
};

struct config {
	char *path;
	char *state_dir, *media_dir, *policies_dir, *socket_path;
	uid_t users[CONFIG_MAX_USERS];	/* resolved console_users */
	size_t n_users;
	char *hsm_module, *hsm_token;
	unsigned hsm_sessions;
	unsigned signer_threads;
	unsigned signer_group;		/* 0: SIGNER_GROUP */
	unsigned scan_interval_ms, settle_ms;
	int require_mount;		/* media must be a mount point */
	unsigned lockout_login_failures;	/* 1 .. CONFIG_FAILURES_MAX */
	unsigned lockout_approval_failures;
	enum config_network_guard network_guard;
	int split_pin;			/* activation: split-pin */
	unsigned share_timeout;		/* seconds shares are held */
	char *user;			/* NULL: stay who we were started as */
};

/*
 * Reads and checks path. Names in console_users are resolved with
 * getpwnam (a number is taken as a uid). 0, or ERR_INVALID with every
 * problem in diag (and the first in err), ERR_IO.
 */
int config_load(const char *path, struct config *out, diag_t *diag,
    err_t *err);

void config_free(struct config *c);

/* 1 when uid may use the console socket. */
int config_user_allowed(const struct config *c, uid_t uid);

#endif
