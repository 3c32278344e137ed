/* cmd_audit.c: the audit commands the daemon serves (see cmd_audit.h). */
#include "daemon/cmd_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "audit/log.h"
#include "daemon/audit.h"
#include "daemon/commands.h"
#include "export/writer.h"

/* Collects text up to a size, stopping only before a record. */
struct cmd_audit_range {
	buf_t *t;
	size_t max;
	int64_t next;		/* the record that did not fit, or 0 */
};

static int
cmd_audit_range_line(void *ctx, const char *line, size_t len, err_t *err)
{
	struct cmd_audit_range *a = ctx;

	/* A checkpoint always follows its record into the same reply. */
	if (line[0] == 'R' && a->t->len > 0 && a->t->len + len > a->max) {
		a->next = strtoll(line + 2, NULL, 10);
		return ERR_AGAIN;
	}
	if (buf_put(a->t, line, len) != 0)
		return err_set(err, ERR_LIMIT, "an audit record does not fit "
		    "a reply");
	return 0;
}

void
cmd_audit_text(struct daemon *d, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct cmd_audit_range a;
	int64_t from = 1, max = CMD_AUDIT_TEXT_MAX;
	buf_t t;
	err_t e;
	int r;

	err_clear(&e);
	if (ctl_get(req, "from", NULL) != NULL &&
	    (r = cmd_need_id(req, "from", &from, &e)) != 0) {
		(void)cmd_fail(reply, r, &e);
		return;
	}
	if (ctl_get(req, "max", NULL) != NULL &&
	    (ctl_get_int(req, "max", &max) != 0 || max < 1 ||
	    max > CMD_AUDIT_TEXT_MAX))
		max = CMD_AUDIT_TEXT_MAX;
	buf_init(&t, CMD_AUDIT_TEXT_MAX + AUDIT_LINE_MAX * 4);
	a.t = &t;
	a.max = (size_t)max;
	a.next = 0;
	/* Everything the store holds is in the text copy first. */
	(void)audit_mirror_sync(d->audit, d->st, &e);
	r = audit_log_text(d->st, from, 0, cmd_audit_range_line, &a, &e);
	if (r != 0 && r != ERR_AGAIN) {
		(void)cmd_fail(reply, r, &e);
		buf_free(&t);
		return;
	}
	(void)cmd_text_reply(reply, &t);
	(void)ctl_put_int(reply, "next", a.next);
	buf_free(&t);
}

/* The audit certificate, as the export's file beside the log. */
static int
cmd_audit_cert_file(struct daemon *d, struct export_files *files, err_t *err)
{
	BIO *bio = NULL;
	BUF_MEM *mem;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, d->audit_key.cert) != 1) {
		r = err_set_ossl(err, ERR_CRYPTO, "write the audit certificate");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	r = export_files_add(files, "audit-cert.pem", mem->data, mem->length,
	    0, err);
out:
	BIO_free(bio);
	return r;
}

void
cmd_audit_export(struct daemon *d, uid_t uid, const struct ctl_msg *req,
    struct ctl_msg *reply)
{
	struct export_files files;
	struct daemon_audit_file log;
	char outbox[4096], base[64], subdir[256], sha[65], who[32], obj[320];
	int64_t upto;
	buf_t t;
	err_t e;
	int r;

	(void)req;
	err_clear(&e);
	export_files_init(&files);
	buf_init(&t, 4096);
	snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	pthread_rwlock_rdlock(&d->keys_lock);
	if (!d->activated) {
		r = err_set(&e, ERR_POLICY, "the daemon is not activated: the "
		    "export is signed and the log's head checkpointed with "
		    "keys in the HSM (airlock activate)");
		goto out;
	}
	if (!daemon_outbox(d, outbox, sizeof(outbox))) {
		r = err_set(&e, ERR_NOTFOUND, "no medium with outbox/ at %s",
		    d->cfg.media_dir);
		goto out;
	}
	if ((r = daemon_checkpoint(d, d->st, "audit-export")) != 0) {
		err_set(&e, r, "no checkpoint could be made (see airlock "
		    "status)");
		goto out;
	}
	upto = audit_mirror_seq(d->audit);
	snprintf(base, sizeof(base), "audit-%lld", (long long)upto);
	daemon_audit_file(&log, d->st, "audit.log", 1, upto);
	if ((r = cmd_audit_cert_file(d, &files, &e)) != 0 ||
	    (r = export_write_signed_stream(outbox, base, &files, &log.stream,
	    d->export_key.pkey, d->export_key.cert, d->people_cas, subdir,
	    sizeof(subdir), sha, &e)) != 0)
		goto out;
	(void)daemon_audit_exported(d->st, upto, &e);
	snprintf(obj, sizeof(obj), "dir=%.250s", subdir);
	(void)event_emit(daemon_event, daemon_sink(d), "audit-exported",
	    EVENT_OK, NULL, who, obj, "records 1 to %lld, manifest sha256 %s",
	    (long long)upto, sha);
	(void)buf_printf(&t, "The audit log, records 1 to %lld, is in "
	    "outbox/%s/audit.log (MANIFEST SHA-256 %s).\nCheck it on any "
	    "workstation: airlock audit verify audit.log --cert "
	    "AUDIT-CERT.pem, with the audit certificate from the appliance "
	    "ceremony.\n", (long long)upto, subdir, sha);
	r = 0;
out:
	pthread_rwlock_unlock(&d->keys_lock);
	export_files_free(&files);
	if (r != 0) {
		(void)event_emit(daemon_event, daemon_sink(d), "audit-exported",
		    EVENT_FAILED, NULL, who, NULL, "%s", e.msg);
		(void)cmd_fail(reply, r, &e);
	} else
		(void)cmd_text_reply(reply, &t);
	buf_free(&t);
}
