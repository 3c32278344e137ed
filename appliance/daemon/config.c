/* config.c: see config.h. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "queue/queue.h"
#include "util/yamldoc.h"

static char *
config_dup(const char *s, int *oom)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		*oom = 1;
	return d;
}

/* A path value: absolute, no NUL (yamldoc refuses those), not empty. */
static int
config_path(struct yamldoc *doc, const struct yamldoc_node *root,
    const char *key, int required, const char *dflt, char **out, int *oom)
{
	const struct yamldoc_node *n = NULL;
	const char *v = NULL;
	int r;

	if ((r = yamldoc_get_str(doc, root, key, required, &v)) < 0)
		return r;
	if (r == 0)
		v = dflt;
	if (v != NULL && v[0] != '/') {
		(void)yamldoc_get_node(doc, root, key, 0, &n);
		return yamldoc_error(doc, n != NULL ? n : root,
		    "%s must be an absolute path", key);
	}
	*out = config_dup(v, oom);
	return 0;
}

static int
config_users(struct yamldoc *doc, const struct yamldoc_node *root,
    struct config *c)
{
	const struct yamldoc_node *seq;
	size_t i;
	int r, bad = 0;

	if ((r = yamldoc_get_seq(doc, root, "console_users", 0, &seq)) < 0)
		return r;
	if (r == 0) {
		c->users[0] = 0;	/* root only */
		c->n_users = 1;
		return 0;
	}
	if (seq->n == 0 || seq->n > CONFIG_MAX_USERS)
		return yamldoc_error(doc, seq, "console_users lists 1 to %d "
		    "users", CONFIG_MAX_USERS);
	for (i = 0; i < seq->n; i++) {
		const char *name;
		struct passwd *pw;
		char *end;
		unsigned long v;

		if (yamldoc_as_str(doc, seq->items[i], &name) < 0) {
			bad = 1;
			continue;
		}
		errno = 0;
		v = strtoul(name, &end, 10);
		if (*name >= '0' && *name <= '9' && *end == '\0' &&
		    errno == 0 && v < 0xfffffffful) {
			c->users[c->n_users++] = (uid_t)v;
			continue;
		}
		if ((pw = getpwnam(name)) == NULL) {
			(void)yamldoc_error(doc, seq->items[i], "no user "
			    "named '%s' on this host", name);
			bad = 1;
			continue;
		}
		c->users[c->n_users++] = pw->pw_uid;
	}
	return bad ? ERR_INVALID : 0;
}

/*
 * lockout: failed logins and failed approvals a credential may have
 * before it is locked out (queue/lockout.h). The defaults: a PIN typed
 * wrong twice still leaves a third try, and three is below the retry
 * counter of common HSM tokens, so the appliance locks the token (and
 * two officers can clear it) before the token locks its own PIN (which
 * only the token's security officer can reset). Approvals are signed
 * files that fail mostly by a copied digest or a stale statement, so
 * five; a forged signature gains nothing from more tries anyway.
 */
static void
config_lockout(struct yamldoc *doc, const struct yamldoc_node *root,
    struct config *out)
{
	const struct yamldoc_node *lock = NULL;
	long long v;

	out->lockout_login_failures = CONFIG_LOGIN_FAILURES;
	out->lockout_approval_failures = CONFIG_APPROVAL_FAILURES;
	if (yamldoc_get_map(doc, root, "lockout", 0, &lock) != 1)
		return;
	if (yamldoc_get_int(doc, lock, "login_failures", 0, 1,
	    CONFIG_FAILURES_MAX, &v) == 1)
		out->lockout_login_failures = (unsigned)v;
	if (yamldoc_get_int(doc, lock, "approval_failures", 0, 1,
	    CONFIG_FAILURES_MAX, &v) == 1)
		out->lockout_approval_failures = (unsigned)v;
	(void)yamldoc_check_unknown(doc, lock);
}

/* user: a name from the passwd database, not root (sandbox_drop_user). */
static int
config_user(struct yamldoc *doc, const struct yamldoc_node *root,
    struct config *c, int *oom)
{
	const struct yamldoc_node *n = NULL;
	const struct passwd *pw;
	const char *name;
	int r;

	if ((r = yamldoc_get_str(doc, root, "user", 0, &name)) != 1)
		return r;
	(void)yamldoc_get_node(doc, root, "user", 0, &n);
	if ((pw = getpwnam(name)) == NULL)
		return yamldoc_error(doc, n != NULL ? n : root, "no user named "
		    "'%s' on this host", name);
	if (pw->pw_uid == 0)
		return yamldoc_error(doc, n != NULL ? n : root, "user '%s' is "
		    "root: name the unprivileged user airlockd runs as", name);
	c->user = config_dup(name, oom);
	return 0;
}

int
config_load(const char *path, struct config *out, diag_t *diag, err_t *err)
{
	struct yamldoc *doc = NULL;
	const struct yamldoc_node *root, *hsm = NULL, *signer = NULL, *n;
	const char *s;
	long long v;
	int r, oom = 0, b;

	memset(out, 0, sizeof(*out));
	if ((r = yamldoc_load(path, NULL, &doc, err)) != 0)
		return r;
	yamldoc_set_diag(doc, diag);
	root = doc->root;
	if (yamldoc_as_map(doc, root) < 0)
		goto done;
	(void)yamldoc_get_int(doc, root, "airlockd", 1, 1, 1, &v);
	(void)config_path(doc, root, "state", 1, NULL, &out->state_dir, &oom);
	(void)config_path(doc, root, "media", 1, NULL, &out->media_dir, &oom);
	(void)config_path(doc, root, "policies", 0, "/etc/airlock/policies",
	    &out->policies_dir, &oom);
	(void)config_path(doc, root, "socket", 0,
	    "/run/airlock/console.sock", &out->socket_path, &oom);
	(void)config_users(doc, root, out);
	out->hsm_sessions = 2;
	if (yamldoc_get_map(doc, root, "hsm", 1, &hsm) == 1) {
		(void)config_path(doc, hsm, "module", 1, NULL,
		    &out->hsm_module, &oom);
		if (yamldoc_get_str(doc, hsm, "token", 1, &s) == 1) {
			if (strlen(s) == 0 || strlen(s) > 32)
				(void)yamldoc_error(doc, hsm, "hsm.token is a "
				    "token label of 1 to 32 characters");
			else
				out->hsm_token = config_dup(s, &oom);
		}
		if (yamldoc_get_int(doc, hsm, "sessions", 0, 1, 64, &v) == 1)
			out->hsm_sessions = (unsigned)v;
		(void)yamldoc_check_unknown(doc, hsm);
	}
	if (yamldoc_get_map(doc, root, "signer", 0, &signer) == 1) {
		if (yamldoc_get_int(doc, signer, "threads", 0, 0, 64, &v) == 1)
			out->signer_threads = (unsigned)v;
		if (yamldoc_get_int(doc, signer, "group", 0, 1, QUEUE_MAX_GROUP,
		    &v) == 1)
			out->signer_group = (unsigned)v;
		(void)yamldoc_check_unknown(doc, signer);
	}
	out->scan_interval_ms = 1000;
	out->settle_ms = 1000;
	if (yamldoc_get_int(doc, root, "scan_interval_ms", 0, 10, 600000,
	    &v) == 1)
		out->scan_interval_ms = (unsigned)v;
	if (yamldoc_get_int(doc, root, "settle_ms", 0, 1, 600000, &v) == 1)
		out->settle_ms = (unsigned)v;
	out->require_mount = 1;
	if (yamldoc_get_bool(doc, root, "require_mount", 0, &b) == 1)
		out->require_mount = b;
	config_lockout(doc, root, out);
	if (yamldoc_get_str(doc, root, "network_guard", 0, &s) == 1) {
		if (strcmp(s, "dev-override") == 0)
			out->network_guard = CONFIG_GUARD_DEV_OVERRIDE;
		else if (strcmp(s, "enforce") != 0 &&
		    yamldoc_get_node(doc, root, "network_guard", 0, &n) == 1)
			(void)yamldoc_error(doc, n, "network_guard is "
			    "'enforce' or 'dev-override'");
	}
	{
		static const char *const modes[] = { "pin", "split-pin", NULL };
		int idx = 0;

		if (yamldoc_get_enum(doc, root, "activation", 0, modes,
		    &idx) == 1)
			out->split_pin = idx == 1;
	}
	out->share_timeout = 600;
	if (yamldoc_get_int(doc, root, "share_timeout", 0, 30, 86400,
	    &v) == 1)
		out->share_timeout = (unsigned)v;
	(void)config_user(doc, root, out, &oom);
	(void)yamldoc_check_unknown(doc, root);
	if ((out->path = strdup(path)) == NULL)
		oom = 1;
done:
	yamldoc_free(doc);
	if (oom) {
		config_free(out);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if (diag->n > 0 || diag->dropped > 0) {
		char first[1200];

		diag_format(diag, 0, first, sizeof(first));
		config_free(out);
		return err_set(err, ERR_INVALID, "%s (%zu problem%s)", first,
		    diag->n + diag->dropped,
		    diag->n + diag->dropped == 1 ? "" : "s");
	}
	return 0;
}

void
config_free(struct config *c)
{
	free(c->path);
	free(c->state_dir);
	free(c->media_dir);
	free(c->policies_dir);
	free(c->socket_path);
	free(c->hsm_module);
	free(c->hsm_token);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

int
config_user_allowed(const struct config *c, uid_t uid)
{
	size_t i;

	for (i = 0; i < c->n_users; i++)
		if (c->users[i] == uid)
			return 1;
	return 0;
}
