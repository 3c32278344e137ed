/*
 * activate.c: logging the daemon in to the CA token and checking every key
 * it will use, before anything is signed.
 *
 * Each CA key is checked against its certificate by a test signature
 * (hsm_key_check_cert); the export and audit keys likewise. The transport
 * key may only decrypt (the helper refuses raw decryption with a key that
 * can sign, and a key that can do both is a bad idea), so it is checked by
 * a round trip: 32 random bytes sealed to the transport certificate's
 * public key must open with the key in the HSM.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>

#include "daemon/daemon.h"
#include "daemon/lockout.h"
#include "pki/vault.h"

/* Appends a line to the activation report. */
static void
activate_note(char *report, size_t reportsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
activate_note(char *report, size_t reportsz, const char *fmt, ...)
{
	size_t used = strlen(report);
	va_list ap;

	if (used + 1 >= reportsz)
		return;
	va_start(ap, fmt);
	vsnprintf(report + used, reportsz - used, fmt, ap);
	va_end(ap);
	used = strlen(report);
	if (used + 1 < reportsz) {
		report[used] = '\n';
		report[used + 1] = '\0';
	}
}

static int
activate_find(struct daemon *d, const char *uri_text, struct hsm_key **out,
    err_t *err)
{
	struct hsm_uri uri;
	int r;

	if ((r = hsm_uri_parse(uri_text, &uri, err)) != 0)
		return r;
	if (uri.token[0] != '\0' && strcmp(uri.token, d->cfg.hsm_token) != 0)
		return err_set(err, ERR_NOTFOUND, "the key is on token '%s', "
		    "not on the configured token '%s'", uri.token,
		    d->cfg.hsm_token);
	return hsm_find_key(d->pool, &uri, out, err);
}

/* The CAs that an enabled profile issues from: their keys must work. */
static int
activate_ca_needed(const struct daemon *d, const struct daemon_ca *ca)
{
	size_t i;

	for (i = 0; i < d->profiles.n; i++)
		if (d->profiles.v[i].enabled &&
		    strcmp(d->profiles.v[i].issuer, ca->name) == 0)
			return 1;
	return 0;
}

static int
activate_transport(struct daemon *d, err_t *err)
{
	struct daemon_appkey *t = &d->transport_key;
	unsigned char probe[32];
	buf_t sealed;
	secret_t *opened = NULL;
	int r;

	if ((r = activate_find(d, t->uri, &t->key, err)) != 0)
		return err_prefix(err, "transport key");
	if ((t->pkey = hsm_key_decrypter(t->key)) == NULL)
		return err_set(err, ERR_HSM, "transport key: cannot make a "
		    "decrypter (not RSA, or not allowed to decrypt)");
	if (RAND_bytes(probe, sizeof(probe)) != 1)
		return err_set(err, ERR_CRYPTO, "no randomness");
	buf_init(&sealed, 4096);
	if ((r = vault_seal(X509_get0_pubkey(t->cert), probe, sizeof(probe),
	    &sealed, err)) == 0 && (r = secret_new(&opened)) == 0 &&
	    (r = vault_open(t->pkey, sealed.data, sealed.len, opened,
	    err)) == 0 && (opened->len != sizeof(probe) ||
	    memcmp(opened->data, probe, sizeof(probe)) != 0))
		r = err_set(err, ERR_POLICY, "the transport key in the HSM "
		    "does not open what is sealed to the transport "
		    "certificate: wrong key");
	buf_free(&sealed);
	secret_free(opened);
	if (r != 0)
		return err_prefix(err, "transport key check");
	return 0;
}

static int
activate_keys(struct daemon *d, char *report, size_t reportsz, err_t *err)
{
	size_t i;

	for (i = 0; i < d->n_cas; i++) {
		struct daemon_ca *ca = &d->cas[i];
		err_t e;

		err_clear(&e);
		if (activate_find(d, ca->key_uri, &ca->key, &e) != 0 ||
		    hsm_key_check_cert(ca->key, ca->cert, &e) != 0) {
			hsm_key_free(ca->key);
			ca->key = NULL;
			if (activate_ca_needed(d, ca))
				return err_set(err, e.code, "CA '%s' (issuer "
				    "of an enabled profile): %s", ca->name,
				    e.msg);
			activate_note(report, reportsz, "CA %-20s not usable "
			    "here (%s)", ca->name, e.msg);
			continue;
		}
		activate_note(report, reportsz, "CA %-20s key matches its "
		    "certificate", ca->name);
	}
	if (activate_find(d, d->export_key.uri, &d->export_key.key,
	    err) != 0 || hsm_key_check_cert(d->export_key.key,
	    d->export_key.cert, err) != 0)
		return err_prefix(err, "export key");
	if ((d->export_key.pkey = hsm_key_signer(d->export_key.key)) == NULL)
		return err_set(err, ERR_HSM, "export key: cannot make a signer");
	activate_note(report, reportsz, "export key             matches its "
	    "certificate");
	if (activate_transport(d, err) != 0)
		return err->code;
	activate_note(report, reportsz, "transport key          opens what "
	    "is sealed to its certificate");
	/* The audit key signs checkpoints: no activation without it. */
	if (activate_find(d, d->audit_key.uri, &d->audit_key.key, err) != 0 ||
	    hsm_key_check_cert(d->audit_key.key, d->audit_key.cert, err) != 0)
		return err_prefix(err, "audit key");
	if ((d->audit_key.pkey = hsm_key_signer(d->audit_key.key)) == NULL)
		return err_set(err, ERR_HSM, "audit key: cannot make a signer");
	activate_note(report, reportsz, "audit key              matches its "
	    "certificate");
	return 0;
}

/* Frees every key handle and the pool; the caller holds keys_lock. */
static void
activate_release(struct daemon *d)
{
	size_t i;
	struct daemon_appkey *a[3] = { &d->export_key, &d->transport_key,
	    &d->audit_key };

	for (i = 0; i < 3; i++) {
		EVP_PKEY_free(a[i]->pkey);
		a[i]->pkey = NULL;
		hsm_key_free(a[i]->key);
		a[i]->key = NULL;
	}
	for (i = 0; i < d->n_cas; i++) {
		hsm_key_free(d->cas[i].key);
		d->cas[i].key = NULL;
	}
	hsm_pool_close(d->pool);
	d->pool = NULL;
	d->activated = 0;
}

int
daemon_activate(struct daemon *d, const secret_t *pin, char *report,
    size_t reportsz, err_t *err)
{
	struct hsm_uri token;
	char guard[AIRGAP_REASON_MAX + 128];
	int r, login;

	report[0] = '\0';
	/*
	 * Every login to the CA token, whatever rebuilt its PIN, passes
	 * here: a locked-out token is not even tried, and the result is
	 * counted (lockout.h) outside keys_lock, so the worker is not held
	 * up by the audit step.
	 */
	if ((r = daemon_lockout_login_check(d, err)) != 0)
		return r;
	pthread_rwlock_wrlock(&d->keys_lock);
	if (d->activated) {
		pthread_rwlock_unlock(&d->keys_lock);
		return err_set(err, ERR_EXISTS, "already activated (since "
		    "activation on token '%s'); deactivate first",
		    d->token.label);
	}
	/* Before the PIN is used: a networked host is not logged in to. */
	if ((r = daemon_airgap_check(d, "activation", NULL, 1, err)) != 0) {
		pthread_rwlock_unlock(&d->keys_lock);
		return r;
	}
	(void)daemon_airgap_describe(d, guard, sizeof(guard));
	activate_note(report, reportsz, "air-gap guard: %s", guard);
	hsm_uri_init(&token);
	snprintf(token.token, sizeof(token.token), "%s", d->cfg.hsm_token);
	r = hsm_pool_open(d->cfg.hsm_module, &token, d->cfg.hsm_sessions, pin,
	    &d->pool, err);
	login = r;
	if (r == 0)
		r = hsm_pool_token_info(d->pool, &d->token, err);
	if (r == 0) {
		activate_note(report, reportsz, "token '%s' (serial %s), %u "
		    "session%s logged in", d->token.label, d->token.serial,
		    d->cfg.hsm_sessions, d->cfg.hsm_sessions == 1 ? "" : "s");
		r = activate_keys(d, report, reportsz, err);
	}
	if (r != 0) {
		activate_release(d);
		pthread_rwlock_unlock(&d->keys_lock);
		/* The login's own result counts, not a later key check's. */
		daemon_lockout_login_result(d, login, err);
		return r;
	}
	d->activated = 1;
	d->activated_at = time(NULL);
	d->generation++;
	pthread_rwlock_unlock(&d->keys_lock);
	daemon_lockout_login_result(d, 0, err);
	daemon_wake(d);
	return 0;
}

void
daemon_deactivate(struct daemon *d)
{
	/* Ask a signing run to stop at its next group, so the console does
	 * not wait for a whole batch; it resumes after the next activation. */
	d->interrupt = 1;
	pthread_rwlock_wrlock(&d->keys_lock);
	if (d->pool != NULL || d->activated) {
		activate_release(d);
		d->generation++;
	}
	if (!d->stop)
		d->interrupt = 0;
	pthread_rwlock_unlock(&d->keys_lock);
}
