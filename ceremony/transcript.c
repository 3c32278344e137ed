/* transcript.c: the signed record of a ceremony (see transcript.h). */
#include "ceremony/transcript.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/pkisign.h"
#include "pki/pkiutil.h"
#include "util/fileio.h"
#include "util/timeutil.h"
#include "util/yamldoc.h"

#ifndef AIRLOCK_VERSION
#define AIRLOCK_VERSION "0.1.0"
#endif

struct transcript {
	buf_t head;	/* everything before steps */
	buf_t steps;
	buf_t outputs;
	buf_t tokens;
	char **step_text;
	size_t n_steps;
	size_t n_outputs;
	char name[128];
};

/*
 * Writes s as a YAML double-quoted scalar. Quotes, backslashes and
 * control characters are escaped so nothing in a name can break the
 * structure; other bytes pass unchanged, since every string we write is
 * UTF-8 already (YAML's \xNN names a code point, not a byte).
 */
static void
put_q(buf_t *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	buf_put_u8(b, '"');
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf_put_u8(b, '\\');
			buf_put_u8(b, c);
		} else if (c < 0x20 || c == 0x7f) {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			buf_put(b, e, sizeof(e));
		} else {
			buf_put_u8(b, c);
		}
	}
	buf_put_u8(b, '"');
}

static void
put_s(buf_t *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
put_kv(buf_t *b, const char *indent, const char *key, const char *value)
{
	put_s(b, indent);
	put_s(b, key);
	put_s(b, ": ");
	put_q(b, value);
	put_s(b, "\n");
}

static void
now_str(char out[TIMEUTIL_STRLEN])
{
	timeutil_format(time(NULL), out);
}

int
transcript_new(const struct script *s, int rehearsal, struct transcript **out)
{
	struct transcript *t;
	char hex[65], when[TIMEUTIL_STRLEN], host[256] = "";
	size_t i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_NOMEM;
	buf_init(&t->head, TRANSCRIPT_MAX_BYTES);
	buf_init(&t->steps, TRANSCRIPT_MAX_BYTES);
	buf_init(&t->outputs, TRANSCRIPT_MAX_BYTES);
	buf_init(&t->tokens, TRANSCRIPT_MAX_BYTES);
	snprintf(t->name, sizeof(t->name), "%s", s->name);
	(void)gethostname(host, sizeof(host) - 1);
	now_str(when);
	buf_hex(s->sha256, sizeof(s->sha256), hex, sizeof(hex));

	put_s(&t->head, "# Airlock ceremony transcript. Verify with:\n"
	    "#   airlock ceremony verify THIS-FILE\n");
	put_s(&t->head, "airlock_transcript: 1\n");
	put_kv(&t->head, "", "ceremony", s->name);
	put_kv(&t->head, "", "type", script_type_name(s->type));
	put_kv(&t->head, "", "description", s->description ? s->description : "");
	put_kv(&t->head, "", "script", s->path);
	put_kv(&t->head, "", "script_sha256", hex);
	put_kv(&t->head, "", "airlock_version", AIRLOCK_VERSION);
	put_kv(&t->head, "", "host", host);
	put_s(&t->head, rehearsal ? "rehearsal: true\n" : "rehearsal: false\n");
	put_kv(&t->head, "", "started", when);
	put_s(&t->head, "present:\n");
	for (i = 0; i < s->n_present; i++) {
		put_kv(&t->head, "  - ", "name", s->present[i].name);
		put_kv(&t->head, "    ", "role", s->present[i].role);
	}
	if (!buf_ok(&t->head)) {
		transcript_free(t);
		return ERR_LIMIT;
	}
	*out = t;
	return 0;
}

void
transcript_free(struct transcript *t)
{
	size_t i;

	if (t == NULL)
		return;
	buf_free(&t->head);
	buf_free(&t->steps);
	buf_free(&t->outputs);
	buf_free(&t->tokens);
	for (i = 0; i < t->n_steps; i++)
		free(t->step_text[i]);
	free(t->step_text);
	free(t);
}

int
transcript_token(struct transcript *t, const char *module, const char *label,
    const char *serial, const char *manufacturer, const char *model)
{
	put_kv(&t->tokens, "  - ", "module", module);
	put_kv(&t->tokens, "    ", "label", label);
	put_kv(&t->tokens, "    ", "serial", serial);
	put_kv(&t->tokens, "    ", "manufacturer", manufacturer);
	put_kv(&t->tokens, "    ", "model", model);
	return buf_ok(&t->tokens) ? 0 : ERR_LIMIT;
}

int
transcript_step(struct transcript *t, const char *fmt, ...)
{
	char text[1024], when[TIMEUTIL_STRLEN], **n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	now_str(when);
	put_kv(&t->steps, "  - ", "time", when);
	put_kv(&t->steps, "    ", "what", text);
	if ((n = realloc(t->step_text, (t->n_steps + 1) * sizeof(*n))) == NULL)
		return ERR_NOMEM;
	t->step_text = n;
	if ((n[t->n_steps] = strdup(text)) == NULL)
		return ERR_NOMEM;
	t->n_steps++;
	return buf_ok(&t->steps) ? 0 : ERR_LIMIT;
}

size_t
transcript_nsteps(const struct transcript *t)
{
	return t->n_steps;
}

const char *
transcript_step_text(const struct transcript *t, size_t i)
{
	return i < t->n_steps ? t->step_text[i] : NULL;
}

static int
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
		return ERR_CRYPTO;
	buf_hex(md, sizeof(md), out, 65);
	return 0;
}

int
transcript_output(struct transcript *t, const char *file, const void *data,
    size_t len, const char *kind, const char *const *attrs)
{
	char hex[65];
	size_t i;

	if (t->n_outputs >= TRANSCRIPT_MAX_OUTPUTS)
		return ERR_LIMIT;
	if (sha256_hex(data, len, hex) != 0)
		return ERR_CRYPTO;
	put_kv(&t->outputs, "  - ", "file", file);
	put_kv(&t->outputs, "    ", "sha256", hex);
	put_kv(&t->outputs, "    ", "kind", kind);
	for (i = 0; attrs != NULL && attrs[i] != NULL && attrs[i + 1] != NULL;
	    i += 2) {
		if (i / 2 >= TRANSCRIPT_MAX_ATTRS)
			return ERR_LIMIT;
		put_kv(&t->outputs, "    ", attrs[i], attrs[i + 1]);
	}
	t->n_outputs++;
	return buf_ok(&t->outputs) ? 0 : ERR_LIMIT;
}

int
transcript_load_pubkey(const char *path, EVP_PKEY **out, err_t *err)
{
	buf_t b;
	BIO *bio = NULL;
	X509 *x = NULL;
	int r = 0;

	*out = NULL;
	buf_init(&b, 1024 * 1024);
	if ((r = fileio_read(path, 1024 * 1024, &b, err)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		*out = X509_get_pubkey(x);
	} else {
		(void)BIO_reset(bio);
		*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	if (*out == NULL)
		r = err_set_ossl(err, ERR_INVALID, "%s holds neither a PEM "
		    "certificate nor a PEM public key", path);
	ERR_clear_error();
out:
	X509_free(x);
	BIO_free(bio);
	buf_free(&b);
	return r;
}

int
transcript_finish(struct transcript *t, const char *dir, EVP_PKEY *signer,
    const EVP_PKEY *signer_pub, const char *signer_file, err_t *err)
{
	char when[TIMEUTIL_STRLEN], spki_hex[65], path[4200], sigpath[4200];
	char fname[200], signame[200];
	const EVP_MD *md = pkisign_md_for_key(signer_pub, NULL);
	unsigned char *sig = NULL;
	size_t siglen = 0;
	buf_t all;
	int r;

	buf_init(&all, TRANSCRIPT_MAX_BYTES);
	now_str(when);
	if (pki_spki_sha256_hex(signer_pub, spki_hex) != 0) {
		r = err_set_ossl(err, ERR_CRYPTO, "hashing the signer's key");
		goto out;
	}
	buf_put(&all, t->head.data, t->head.len);
	put_s(&all, "hsm:\n");
	if (t->tokens.len == 0)
		put_s(&all, "  []\n");
	buf_put(&all, t->tokens.data, t->tokens.len);
	put_s(&all, "steps:\n");
	buf_put(&all, t->steps.data, t->steps.len);
	put_s(&all, "outputs:\n");
	buf_put(&all, t->outputs.data, t->outputs.len);
	put_s(&all, "signer:\n");
	put_kv(&all, "  ", "file", signer_file);
	put_kv(&all, "  ", "public_key_sha256", spki_hex);
	put_kv(&all, "  ", "digest", EVP_MD_get0_name(md));
	put_kv(&all, "", "finished", when);
	if (!buf_ok(&all)) {
		r = err_set(err, ERR_LIMIT, "transcript larger than %d bytes",
		    TRANSCRIPT_MAX_BYTES);
		goto out;
	}
	if ((r = pkisign_blob(signer, md, all.data, all.len, &sig, &siglen,
	    err)) != 0) {
		err_prefix(err, "signing the transcript");
		goto out;
	}
	snprintf(fname, sizeof(fname), "%s.transcript.yaml", t->name);
	snprintf(signame, sizeof(signame), "%s.transcript.sig", t->name);
	if ((r = fileio_join(path, sizeof(path), dir, fname, err)) != 0 ||
	    (r = fileio_join(sigpath, sizeof(sigpath), dir, signame, err)) != 0)
		goto out;
	if ((r = fileio_create(path, all.data, all.len, 0644, err)) != 0)
		goto out;
	r = fileio_create(sigpath, sig, siglen, 0644, err);
out:
	OPENSSL_free(sig);
	buf_free(&all);
	return r;
}

static char *
dup_str(struct yamldoc *doc, const struct yamldoc_node *m, const char *key)
{
	const char *v = NULL;

	if (yamldoc_get_str(doc, m, key, 1, &v) != 1)
		return NULL;
	return strdup(v);
}

static int
verify_sig(const char *dir, const buf_t *body, const char *sigfile,
    EVP_PKEY *pub, const char *mdname, err_t *err)
{
	char path[4200];
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = EVP_get_digestbyname(mdname);
	buf_t sig;
	int r;

	buf_init(&sig, 4096);
	if (md == NULL || (EVP_MD_get_type(md) != NID_sha256 &&
	    EVP_MD_get_type(md) != NID_sha384 &&
	    EVP_MD_get_type(md) != NID_sha512)) {
		r = err_set(err, ERR_INVALID, "signer.digest '%s' is not "
		    "sha256, sha384 or sha512", mdname);
		goto out;
	}
	if ((r = fileio_join(path, sizeof(path), dir, sigfile, err)) != 0 ||
	    (r = fileio_read(path, 4096, &sig, err)) != 0)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub) != 1) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot verify %s", sigfile);
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig.data, sig.len, body->data, body->len) != 1) {
		ERR_clear_error();
		r = err_set(err, ERR_INVALID, "%s: the signature does not match "
		    "the transcript: it was changed after the ceremony, or "
		    "signed by another key", path);
		goto out;
	}
out:
	EVP_MD_CTX_free(ctx);
	buf_free(&sig);
	return r;
}

static int
read_outputs(struct yamldoc *doc, const struct yamldoc_node *seq,
    const char *dir, struct transcript_info *info, err_t *err)
{
	size_t i, j;

	if (seq->n > TRANSCRIPT_MAX_OUTPUTS)
		return err_set(err, ERR_LIMIT, "too many outputs");
	if ((info->outputs = calloc(seq->n ? seq->n : 1,
	    sizeof(*info->outputs))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < seq->n; i++) {
		const struct yamldoc_node *m = seq->items[i];
		struct transcript_output *o = &info->outputs[i];
		char path[4200], hex[65];
		buf_t data;
		int r;

		info->n_outputs++;
		if (yamldoc_as_map(doc, m) != 1)
			return err_set(err, ERR_INVALID, "outputs[%zu] is not a "
			    "mapping", i);
		if ((o->file = dup_str(doc, m, "file")) == NULL ||
		    (o->sha256 = dup_str(doc, m, "sha256")) == NULL ||
		    (o->kind = dup_str(doc, m, "kind")) == NULL)
			return err_set(err, ERR_INVALID, "outputs[%zu] lacks "
			    "file, sha256 or kind", i);
		for (j = 0; j < m->n; j++) {
			const char *k = m->pairs[j].key, *v = NULL;

			if (strcmp(k, "file") == 0 || strcmp(k, "sha256") == 0 ||
			    strcmp(k, "kind") == 0)
				continue;
			if (o->n_attrs == TRANSCRIPT_MAX_ATTRS)
				return err_set(err, ERR_LIMIT, "outputs[%zu] has "
				    "too many attributes", i);
			if (yamldoc_get_str(doc, m, k, 1, &v) != 1)
				return err_set(err, ERR_INVALID, "outputs[%zu].%s "
				    "is not a string", i, k);
			o->attr_key[o->n_attrs] = strdup(k);
			o->attr_val[o->n_attrs] = strdup(v);
			o->n_attrs++;
		}
		if (strchr(o->file, '/') != NULL)
			return err_set(err, ERR_INVALID, "output %s: names "
			    "outside the ceremony directory are not allowed",
			    o->file);
		buf_init(&data, 64 * 1024 * 1024);
		if ((r = fileio_join(path, sizeof(path), dir, o->file, err)) != 0 ||
		    (r = fileio_read(path, 64 * 1024 * 1024, &data, err)) != 0) {
			buf_free(&data);
			return r;
		}
		r = sha256_hex(data.data, data.len, hex);
		buf_free(&data);
		if (r != 0)
			return err_set(err, ERR_CRYPTO, "hashing %s", path);
		if (strcmp(hex, o->sha256) != 0)
			return err_set(err, ERR_INVALID, "%s: SHA-256 %s differs "
			    "from the transcript's %s: the file was changed "
			    "after the ceremony", path, hex, o->sha256);
	}
	return 0;
}

/* Steps and who was present: what `airlock init` puts in the audit log. */
static int
read_steps(struct yamldoc *doc, struct transcript_info *info, err_t *err)
{
	const struct yamldoc_node *seq = NULL;
	size_t i;

	if (yamldoc_get_seq(doc, doc->root, "steps", 1, &seq) != 1)
		return err_set(err, ERR_INVALID, "the transcript has no steps");
	if (seq->n > TRANSCRIPT_MAX_STEPS)
		return err_set(err, ERR_LIMIT, "too many steps");
	if ((info->steps = calloc(seq->n ? seq->n : 1,
	    sizeof(*info->steps))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < seq->n; i++) {
		struct transcript_step_info *st = &info->steps[i];

		if (yamldoc_as_map(doc, seq->items[i]) != 1 ||
		    yamldoc_get_time(doc, seq->items[i], "time", 1,
		    &st->time) != 1 ||
		    (st->what = dup_str(doc, seq->items[i], "what")) == NULL)
			return err_set(err, ERR_INVALID, "steps[%zu] lacks time "
			    "or what", i);
		info->n_steps++;
	}
	if (yamldoc_get_seq(doc, doc->root, "present", 0, &seq) != 1)
		return 0;
	if (seq->n > TRANSCRIPT_MAX_STEPS)
		return err_set(err, ERR_LIMIT, "too many people present");
	if ((info->present = calloc(seq->n ? seq->n : 1,
	    sizeof(*info->present))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < seq->n; i++) {
		const char *name = NULL, *role = NULL;
		char line[600];

		if (yamldoc_as_map(doc, seq->items[i]) != 1 ||
		    yamldoc_get_str(doc, seq->items[i], "name", 1, &name) != 1)
			return err_set(err, ERR_INVALID, "present[%zu] lacks a "
			    "name", i);
		(void)yamldoc_get_str(doc, seq->items[i], "role", 0, &role);
		snprintf(line, sizeof(line), "%s%s%s%s", name, role ? " (" :
		    "", role ? role : "", role ? ")" : "");
		if ((info->present[i] = strdup(line)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		info->n_present++;
	}
	return 0;
}

int
transcript_verify(const char *dir, const char *file,
    struct transcript_info *info, err_t *err)
{
	struct yamldoc *doc = NULL;
	const struct yamldoc_node *signer = NULL, *outs = NULL;
	char path[4200], sigfile[300], hex[65], spath[4200];
	const char *v = NULL, *mdname = NULL;
	EVP_PKEY *pub = NULL;
	diag_t diag;
	buf_t body;
	size_t flen = strlen(file);
	int r;

	memset(info, 0, sizeof(*info));
	diag_init(&diag);
	buf_init(&body, TRANSCRIPT_MAX_BYTES);
	if (flen < 16 || strcmp(file + flen - 16, ".transcript.yaml") != 0) {
		r = err_set(err, ERR_INVALID, "%s: a transcript's name ends in "
		    ".transcript.yaml", file);
		goto out;
	}
	snprintf(sigfile, sizeof(sigfile), "%.*s.transcript.sig",
	    (int)(flen - 16), file);
	if ((r = fileio_join(path, sizeof(path), dir, file, err)) != 0 ||
	    (r = fileio_read(path, TRANSCRIPT_MAX_BYTES, &body, err)) != 0)
		goto out;
	if ((r = yamldoc_parse(path, body.data, body.len,
	    &yamldoc_default_limits, &doc, err)) != 0)
		goto out;
	yamldoc_set_diag(doc, &diag);
	if (yamldoc_as_map(doc, doc->root) != 1 ||
	    yamldoc_get_map(doc, doc->root, "signer", 1, &signer) != 1 ||
	    yamldoc_get_str(doc, signer, "file", 1, &v) != 1 ||
	    yamldoc_get_str(doc, signer, "digest", 1, &mdname) != 1 ||
	    (info->signer_file = strdup(v)) == NULL ||
	    yamldoc_get_str(doc, signer, "public_key_sha256", 1, &v) != 1 ||
	    (info->signer_sha256 = strdup(v)) == NULL) {
		r = diag_count(&diag) ? diag_to_err(&diag, err, ERR_INVALID) :
		    err_set(err, ERR_INVALID, "%s: no signer section", path);
		goto out;
	}
	if (strchr(info->signer_file, '/') != NULL) {
		r = err_set(err, ERR_INVALID, "%s: signer.file must be in the "
		    "ceremony directory", path);
		goto out;
	}
	if ((r = fileio_join(spath, sizeof(spath), dir, info->signer_file,
	    err)) != 0 || (r = transcript_load_pubkey(spath, &pub, err)) != 0)
		goto out;
	if (pki_spki_sha256_hex(pub, hex) != 0 ||
	    strcmp(hex, info->signer_sha256) != 0) {
		r = err_set(err, ERR_INVALID, "%s: the public key in %s does not "
		    "have the SHA-256 %s that the transcript names", path,
		    info->signer_file, info->signer_sha256);
		goto out;
	}
	if ((r = verify_sig(dir, &body, sigfile, pub, mdname, err)) != 0)
		goto out;
	/* The signature holds: the rest of the content can be trusted. */
	if ((info->ceremony = dup_str(doc, doc->root, "ceremony")) == NULL ||
	    (info->type = dup_str(doc, doc->root, "type")) == NULL ||
	    yamldoc_get_time(doc, doc->root, "started", 1, &info->started) != 1 ||
	    yamldoc_get_bool(doc, doc->root, "rehearsal", 1,
	    &info->rehearsal) != 1 ||
	    yamldoc_get_seq(doc, doc->root, "outputs", 1, &outs) != 1) {
		r = diag_count(&diag) ? diag_to_err(&diag, err, ERR_INVALID) :
		    err_set(err, ERR_INVALID, "%s: incomplete transcript", path);
		goto out;
	}
	if (sha256_hex(body.data, body.len, hex) != 0 ||
	    (info->sha256 = strdup(hex)) == NULL) {
		r = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = read_outputs(doc, outs, dir, info, err)) == 0)
		r = read_steps(doc, info, err);
out:
	EVP_PKEY_free(pub);
	yamldoc_free(doc);
	diag_free(&diag);
	buf_free(&body);
	if (r != 0)
		transcript_info_free(info);
	return r;
}

void
transcript_info_free(struct transcript_info *info)
{
	size_t i, j;

	for (i = 0; i < info->n_outputs; i++) {
		free(info->outputs[i].file);
		free(info->outputs[i].kind);
		free(info->outputs[i].sha256);
		for (j = 0; j < info->outputs[i].n_attrs; j++) {
			free(info->outputs[i].attr_key[j]);
			free(info->outputs[i].attr_val[j]);
		}
	}
	free(info->outputs);
	for (i = 0; i < info->n_steps; i++)
		free(info->steps[i].what);
	free(info->steps);
	for (i = 0; i < info->n_present; i++)
		free(info->present[i]);
	free(info->present);
	free(info->ceremony);
	free(info->type);
	free(info->sha256);
	free(info->signer_file);
	free(info->signer_sha256);
	memset(info, 0, sizeof(*info));
}

/* Every certificate in dir's *.pem files, as candidate intermediates. */
static STACK_OF(X509) *
dir_certs(const char *dir)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct dirent *de;
	DIR *d;

	if (sk == NULL || (d = opendir(dir)) == NULL)
		return sk;
	while ((de = readdir(d)) != NULL && sk_X509_num(sk) < 1024) {
		size_t len = strlen(de->d_name);
		char path[4200];
		X509 *x = NULL;
		err_t ignore;

		if (len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0 ||
		    fileio_join(path, sizeof(path), dir, de->d_name, &ignore) != 0)
			continue;
		if (pki_load_cert_file(path, &x, &ignore) == 0 &&
		    X509_check_ca(x) != 0 && sk_X509_push(sk, x) > 0)
			continue;
		X509_free(x);
	}
	closedir(d);
	ERR_clear_error();
	return sk;
}

int
transcript_check_signer(const char *dir, const struct transcript_info *info,
    X509 *root, err_t *err)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	char path[4200];
	X509 *signer = NULL;
	err_t ignore;
	int r;

	if ((r = fileio_join(path, sizeof(path), dir, info->signer_file,
	    err)) != 0)
		return r;
	if (pki_load_cert_file(path, &signer, &ignore) != 0) {
		ERR_clear_error();
		return strcmp(info->type, "key") == 0 ? 1 : err_set(err,
		    ERR_POLICY, "%s: signed by %s, which is not a certificate",
		    info->ceremony, info->signer_file);
	}
	if ((store = X509_STORE_new()) == NULL || !X509_STORE_add_cert(store,
	    root) || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = dir_certs(dir)) == NULL ||
	    !X509_STORE_CTX_init(ctx, store, signer, untrusted)) {
		r = err_set_ossl(err, ERR_CRYPTO, "cannot check the signer");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1)
		r = err_set(err, ERR_POLICY, "%s: its signer %s does not chain to "
		    "the root you gave: %s", info->ceremony, info->signer_file,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(signer);
	return r;
}

const char *
transcript_output_attr(const struct transcript_output *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->n_attrs; i++)
		if (strcmp(o->attr_key[i], key) == 0)
			return o->attr_val[i];
	return NULL;
}
