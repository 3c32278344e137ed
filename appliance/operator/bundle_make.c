/* bundle_make.c: request bundles made on the workstation (see bundle_make.h). */
#include "operator/bundle_make.h"
#include "util/zipout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* pem.h first: cms.h declares its PEM functions with pem.h macros. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "hsm/hsm_uri.h"
#include "ingest/archive.h"
#include "ingest/csr.h"
#include "ingest/csv.h"
#include "ingest/envelope.h"
#include "ingest/target.h"
#include "queue/revocation.h"
#include "pki/oids.h"
#include "pki/pkiutil.h"
#include "pki/roles.h"
#include "util/fileio.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Largest key file read: an encrypted RSA-8192 PKCS#8 PEM is ~7 KiB. */
#define BM_KEYFILE_MAX (64u * 1024)
/* Longest MAC range argument ("00:11:22:33:44:55:500000:16777216"). */
#define BM_RANGE_MAX 64
/* Characters of a PKCS#12 password, as manifest.c counts them. */
#define BM_PASSWORD_MIN 8
#define BM_PASSWORD_MAX 128
/* The label the manifest's messages carry: it was made, not read. */
#define BM_MANIFEST_LABEL "manifest.yaml (made from the options)"

/* One archive entry: its name in the archive and its bytes. */
struct bm_entry {
	char *name;
	char *origin;		/* the file it came from, for messages */
	buf_t data;
	int store;		/* stored rather than deflated */
};

struct bm {
	struct bm_entry *e;
	size_t n, cap;
	uint64_t total;		/* bytes of all entries */
	diag_t *diag;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

/* Records e as the one message in d; returns its code. */
static int
bm_fail(diag_t *d, const err_t *e)
{
	(void)diag_add(d, NULL, 0, NULL, "%s", e->msg);
	return e->code;
}

static void
bm_subject(X509 *cert, char *out, size_t outsz)
{
	roles_name(X509_get_subject_name(cert), out, outsz);
}

/* time_t of an ASN1_TIME, or 0 when it cannot be read. */
static time_t
bm_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Refuses a certificate outside its validity at now, saying which end. */
static int
bm_check_validity(X509 *cert, time_t now, const char *what, err_t *err)
{
	char subj[ROLES_NAME_MAX], when[TIMEUTIL_STRLEN];

	bm_subject(cert, subj, sizeof(subj));
	if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
		timeutil_format(bm_asn1_time(X509_get0_notBefore(cert)), when);
		return err_set(err, ERR_POLICY, "the %s certificate (%s) is not "
		    "valid before %s", what, subj, when);
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) {
		timeutil_format(bm_asn1_time(X509_get0_notAfter(cert)), when);
		return err_set(err, ERR_POLICY, "the %s certificate (%s) expired "
		    "at %s", what, subj, when);
	}
	return 0;
}

/* 1 when cert has an extendedKeyUsage naming nid. */
static int
bm_has_eku(X509 *cert, int nid)
{
	EXTENDED_KEY_USAGE *eku;
	int i, found = 0;

	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	for (i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
			found = 1;
	EXTENDED_KEY_USAGE_free(eku);
	ERR_clear_error();
	return found;
}

static int
bm_is_rsa(X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	ERR_clear_error();
	return pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
}

/* Decimal digits only, within lo..hi. */
static int
bm_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 10)
		return ERR_INVALID;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return ERR_INVALID;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (v < lo || v > hi)
		return ERR_INVALID;
	*out = (uint32_t)v;
	return 0;
}

int
bundle_make_parse_range(const char *s, struct mac_range *out, err_t *err)
{
	char tmp[BM_RANGE_MAX], *rest, *inc;
	size_t i, colons = 0, seen = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL || strlen(s) >= sizeof(tmp))
		return err_set(err, ERR_INVALID, "the MAC range must be "
		    "START:COUNT[:INCREMENT], like 00:11:22:33:44:00:1000");
	snprintf(tmp, sizeof(tmp), "%s", s);
	for (i = 0; tmp[i] != '\0'; i++)
		colons += tmp[i] == ':';
	/*
	 * START may itself hold colons (00:11:22:33:44:55): with six or more
	 * colons START is the first six groups, otherwise the first one.
	 * Either way COUNT and INCREMENT are plain numbers, so the two
	 * readings can never both make sense.
	 */
	rest = NULL;
	for (i = 0; tmp[i] != '\0'; i++) {
		if (tmp[i] != ':')
			continue;
		if (++seen == (colons >= 6 ? 6u : 1u)) {
			tmp[i] = '\0';
			rest = tmp + i + 1;
			break;
		}
	}
	if (rest == NULL)
		return err_set(err, ERR_INVALID, "the MAC range must be "
		    "START:COUNT[:INCREMENT], like 00:11:22:33:44:00:1000");
	if (mac_parse(tmp, out->start, err) != 0)
		return err_prefix(err, "the MAC range's start");
	if ((inc = strchr(rest, ':')) != NULL)
		*inc++ = '\0';
	if (bm_parse_u32(rest, 1, MAC_RANGE_COUNT_MAX, &out->count) != 0)
		return err_set(err, ERR_INVALID, "the MAC range's count must be "
		    "a number from 1 to %u", MAC_RANGE_COUNT_MAX);
	out->increment = 1;
	if (inc != NULL && bm_parse_u32(inc, 1, MAC_RANGE_INCREMENT_MAX,
	    &out->increment) != 0)
		return err_set(err, ERR_INVALID, "the MAC range's increment "
		    "must be a number from 1 to %u", MAC_RANGE_INCREMENT_MAX);
	return mac_range_check(out, err);
}

/* ------------------------------------------------------------------ */
/* The signer */

int
bundle_make_check_signer(EVP_PKEY *key, X509 *cert, time_t now, err_t *err)
{
	char subj[ROLES_NAME_MAX], a[65], b[65];
	EVP_PKEY *cpub;
	int type;

	if (key == NULL || cert == NULL)
		return err_set(err, ERR_INTERNAL, "no signing key or "
		    "certificate");
	bm_subject(cert, subj, sizeof(subj));
	if ((cpub = X509_get0_pubkey(cert)) == NULL) {
		ERR_clear_error();
		return err_set(err, ERR_POLICY, "the signer's certificate (%s) "
		    "has a public key OpenSSL cannot read", subj);
	}
	type = EVP_PKEY_get_base_id(cpub);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		return err_set(err, ERR_POLICY, "the signer's certificate (%s) "
		    "must hold an RSA or EC key", subj);
	/* The SubjectPublicKeyInfo is the key's identity, HSM keys included. */
	if (pki_spki_sha256_hex(key, a) != 0 ||
	    pki_spki_sha256_hex(cpub, b) != 0)
		return err_set_ossl(err, ERR_POLICY, "cannot read the signing "
		    "key's public half");
	if (strcmp(a, b) != 0)
		return err_set(err, ERR_POLICY, "the signing key does not belong "
		    "to the signer's certificate (%s): their public keys differ",
		    subj);
	if (roles_check_role(cert, OIDS_ROLE_OPERATOR, KU_DIGITAL_SIGNATURE |
	    KU_NON_REPUDIATION, "the signer", "signing a bundle", err) != 0 &&
	    !bundle_make_signer_is_officer(cert))
		return err->code;
	return bm_check_validity(cert, now, "signer's", err);
}

int
bundle_make_signer_is_officer(X509 *cert)
{
	return cert != NULL && roles_check_role(cert, OIDS_ROLE_OFFICER,
	    KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, "the signer",
	    "asking for a revocation", NULL) == 0;
}

void
bundle_make_signer_free(struct bundle_make_signer *s)
{
	if (s == NULL)
		return;
	hsm_cred_close(&s->cred);
	X509_free(s->cert);
	memset(s, 0, sizeof(*s));
}

int
bundle_make_signer_file(const char *key_path, const secret_t *pass,
    const char *cert_path, time_t now, struct bundle_make_signer *out,
    err_t *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (key_path == NULL || cert_path == NULL)
		return err_set(err, ERR_INVALID, "a signer needs a key file and "
		    "a certificate");
	if ((r = hsm_cred_open_file(key_path, pass, NULL, NULL, &out->cred,
	    err)) != 0) {
		err_prefix(err, "signer key");
		goto out;
	}
	out->key = out->cred.key;
	if ((r = pki_load_cert_file(cert_path, &out->cert, err)) != 0) {
		err_prefix(err, "signer certificate");
		goto out;
	}
	r = bundle_make_check_signer(out->key, out->cert, now, err);
out:
	if (r != 0)
		bundle_make_signer_free(out);
	return r;
}

int
bundle_make_signer_token(const char *uri, const char *module,
    const secret_t *pin, const char *cert_path, time_t now,
    struct bundle_make_signer *out, err_t *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (uri == NULL || cert_path == NULL)
		return err_set(err, ERR_INVALID, "a signer needs a PKCS#11 URI "
		    "and a certificate");
	/* The certificate first: a typo should not cost a PIN entry. */
	if ((r = pki_load_cert_file(cert_path, &out->cert, err)) != 0) {
		err_prefix(err, "signer certificate");
		goto out;
	}
	if ((r = hsm_cred_open_token(uri, module, pin, &out->cred,
	    err)) != 0) {
		err_prefix(err, "signer");
		goto out;
	}
	out->key = out->cred.key;
	if ((r = hsm_key_check_cert(out->cred.hk, out->cert, err)) != 0)
		goto out;
	r = bundle_make_check_signer(out->key, out->cert, now, err);
out:
	if (r != 0)
		bundle_make_signer_free(out);
	return r;
}

/* ------------------------------------------------------------------ */
/* Entries */

static void
bm_free(struct bm *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->e[i].name);
		free(b->e[i].origin);
		buf_free(&b->e[i].data);
	}
	free(b->e);
	b->e = NULL;
	b->n = b->cap = 0;
}

/* Adds an entry, taking data (emptied) whatever the result. */
static int
bm_add(struct bm *b, const char *name, const char *origin, buf_t *data,
    int store)
{
	const struct archive_limits *lim = &archive_default_limits;
	struct bm_entry *e;
	char why[128];
	int r = 0;

	if (archive_check_name(name, strlen(name), NULL, why,
	    sizeof(why)) != 0) {
		char shown[300];

		archive_show_name(name, strlen(name), shown, sizeof(shown));
		r = ERR_INVALID;
		(void)diag_add(b->diag, origin, 0, NULL, "cannot go into the "
		    "bundle as '%s': the %s", shown, why);
	} else if (b->n >= lim->max_entries - 1 ||
	    data->len > lim->max_total_size - b->total) {
		r = ERR_LIMIT;
		(void)diag_add(b->diag, origin, 0, NULL, "the bundle would hold "
		    "more than %zu files or %llu bytes, the appliance's limits",
		    lim->max_entries, (unsigned long long)lim->max_total_size);
	} else if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		if ((e = reallocarray(b->e, cap, sizeof(*e))) == NULL)
			r = ERR_NOMEM;
		else {
			b->e = e;
			b->cap = cap;
		}
	}
	if (r == 0) {
		e = &b->e[b->n];
		memset(e, 0, sizeof(*e));
		if ((e->name = strdup(name)) == NULL ||
		    (e->origin = strdup(origin)) == NULL) {
			free(e->name);
			r = ERR_NOMEM;
		} else {
			e->data = *data;
			e->store = store;
			b->total += data->len;
			b->n++;
			buf_init(data, 0);
			return 0;
		}
	}
	if (r == ERR_NOMEM)
		(void)diag_add(b->diag, NULL, 0, NULL, "out of memory");
	buf_free(data);
	return r;
}

/*
 * Reads one CSR (path, relative to dirfd) and checks it before it goes
 * in as csr/NAME; shown names it in messages.
 */
static int
bm_add_csr(struct bm *b, int dirfd, const char *path, const char *name,
    const char *shown)
{
	char aname[512];
	struct csr_list l;
	buf_t data;
	err_t e;
	int r;

	err_clear(&e);
	if ((r = fileio_read_at(dirfd, path, archive_default_limits.
	    max_entry_size, &data, &e)) != 0) {
		buf_free(&data);
		(void)diag_add(b->diag, shown, 0, NULL, "%s", e.msg);
		return r;
	}
	/* A bad request is refused here, with its file, not at the appliance. */
	if ((r = csr_parse_all(shown, data.data, data.len, &l,
	    b->diag)) != 0) {
		buf_free(&data);
		return r;
	}
	csr_list_free(&l);
	if ((size_t)snprintf(aname, sizeof(aname), "%s%s", BUNDLE_MAKE_CSR_DIR,
	    name) >= sizeof(aname)) {
		buf_free(&data);
		(void)diag_add(b->diag, shown, 0, NULL, "the file name is too "
		    "long for the bundle");
		return ERR_LIMIT;
	}
	return bm_add(b, aname, shown, &data, 0);
}

/*
 * Reads the regular files of one folder, one level deep. A symbolic link
 * or a subfolder is refused rather than skipped: the operator then knows
 * the bundle holds exactly what the folder shows.
 */
static int
bm_add_csr_dir(struct bm *b, const char *path)
{
	char shown[4200];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0, files = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		(void)diag_add(b->diag, path, 0, NULL, "cannot open the folder: "
		    "%s", strerror(errno));
		return ERR_IO;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		(void)diag_add(b->diag, path, 0, NULL, "cannot list the folder: "
		    "%s", strerror(errno));
		return ERR_IO;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		int one;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(shown, sizeof(shown), "%s/%s", path, de->d_name);
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			(void)diag_add(b->diag, shown, 0, NULL, "cannot stat: %s",
			    strerror(errno));
			r = r ? r : ERR_IO;
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			(void)diag_add(b->diag, shown, 0, NULL, "is a symbolic "
			    "link; refusing to follow it (copy the file in)");
			r = r ? r : ERR_INVALID;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			(void)diag_add(b->diag, shown, 0, NULL, "is a folder; "
			    "CSR folders are read one level deep");
			r = r ? r : ERR_INVALID;
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			(void)diag_add(b->diag, shown, 0, NULL, "is not a "
			    "regular file");
			r = r ? r : ERR_INVALID;
			continue;
		}
		files++;
		if ((one = bm_add_csr(b, fd, de->d_name, de->d_name,
		    shown)) != 0) {
			r = r ? r : one;
			if (one == ERR_NOMEM || one == ERR_LIMIT)
				break;
		}
	}
	if (errno != 0 && de == NULL && r == 0) {
		(void)diag_add(b->diag, path, 0, NULL, "cannot list the folder: "
		    "%s", strerror(errno));
		r = ERR_IO;
	}
	closedir(d);
	if (r == 0 && files == 0) {
		(void)diag_add(b->diag, path, 0, NULL, "the folder holds no "
		    "files");
		r = ERR_INVALID;
	}
	return r;
}

/* One --csr PATH: a file, or a folder of them. */
static int
bm_add_csr_path(struct bm *b, const char *path)
{
	const char *base;
	struct stat st;

	if (lstat(path, &st) != 0) {
		(void)diag_add(b->diag, path, 0, NULL, errno == ENOENT ?
		    "does not exist" : "cannot stat: %s", strerror(errno));
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	}
	if (S_ISLNK(st.st_mode)) {
		(void)diag_add(b->diag, path, 0, NULL, "is a symbolic link; "
		    "refusing to follow it");
		return ERR_INVALID;
	}
	if (S_ISDIR(st.st_mode))
		return bm_add_csr_dir(b, path);
	/* fileio_read_at refuses anything but a regular file itself. */
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	return bm_add_csr(b, AT_FDCWD, path, base, path);
}

static int
bm_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bm_entry *)a)->name,
	    ((const struct bm_entry *)b)->name);
}

/*
 * Sorts the entries and refuses two whose names collide, also ignoring
 * ASCII case as the appliance does (two folders may hold an a.pem each).
 */
static int
bm_sort(struct bm *b)
{
	size_t i;
	int r = 0;

	if (b->n == 0)
		return 0;
	qsort(b->e, b->n, sizeof(*b->e), bm_entry_cmp);
	for (i = 0; i + 1 < b->n; i++) {
		size_t j;

		for (j = i + 1; j < b->n; j++) {
			if (strcasecmp(b->e[i].name, b->e[j].name) != 0)
				continue;
			(void)diag_add(b->diag, b->e[j].origin, 0, NULL, "would "
			    "go into the bundle as '%s', as %s does (names may "
			    "not repeat, even in another case)", b->e[j].name,
			    b->e[i].origin);
			r = ERR_INVALID;
		}
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* CSV */

static const struct bm_entry *
bm_find_csr(const struct bm *b, const char *file)
{
	size_t i, dl = strlen(BUNDLE_MAKE_CSR_DIR);

	for (i = 0; i < b->n; i++)
		if (strncmp(b->e[i].name, BUNDLE_MAKE_CSR_DIR, dl) == 0 &&
		    strcmp(b->e[i].name + dl, file) == 0)
			return &b->e[i];
	return NULL;
}

/*
 * Reads the CSV, checks it as the appliance will, and checks that its
 * csr_file column and the CSR files given agree both ways: a name
 * without a file would fail at the appliance, a file without a name is
 * carried for nothing and most likely a mistake.
 */
static int
bm_add_csv(struct bm *b, const char *path, size_t n_csr)
{
	struct csv_batch cb;
	unsigned char *used = NULL;
	buf_t data;
	err_t e;
	size_t i, dl = strlen(BUNDLE_MAKE_CSR_DIR);
	int r;

	err_clear(&e);
	if ((r = fileio_read(path, archive_default_limits.max_entry_size,
	    &data, &e)) != 0) {
		buf_free(&data);
		(void)diag_add(b->diag, path, 0, NULL, "%s", e.msg);
		return r;
	}
	if ((r = csv_parse(path, data.data, data.len, &cb, b->diag)) != 0) {
		buf_free(&data);
		return r;
	}
	if (b->n > 0 && (used = calloc(b->n, 1)) == NULL) {
		r = ERR_NOMEM;
		(void)diag_add(b->diag, NULL, 0, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < cb.nrows; i++) {
		const char *f = csv_value(&cb, &cb.rows[i], CSV_COL_CSR_FILE);
		const struct bm_entry *x;

		if (*f == '\0')
			continue;
		if ((x = bm_find_csr(b, f)) == NULL) {
			(void)diag_add(b->diag, path, cb.rows[i].line, "csr_file",
			    "Line %lu - csr_file '%s' names a request that was "
			    "not given with --csr", cb.rows[i].line, f);
			r = ERR_INVALID;
		} else {
			used[x - b->e] = 1;
		}
	}
	for (i = 0; i < b->n && n_csr > 0; i++) {
		if (used[i] || strncmp(b->e[i].name, BUNDLE_MAKE_CSR_DIR, dl) != 0)
			continue;
		(void)diag_add(b->diag, b->e[i].origin, 0, NULL, "no csr_file "
		    "of %s names this request ('%s')", path, b->e[i].name + dl);
		r = ERR_INVALID;
	}
	if (r == 0)
		r = bm_add(b, BUNDLE_MAKE_CSV_NAME, path, &data, 0);
out:
	free(used);
	csv_batch_free(&cb);
	buf_free(&data);
	return r;
}

/*
 * The revocation's targets file: read without following a link, checked
 * line by line as the appliance will (every problem named with the
 * operator's own file and line), and carried as BUNDLE_MAKE_TARGETS_NAME.
 */
static int
bm_add_targets(struct bm *b, const char *path)
{
	struct target_list l;
	buf_t data;
	err_t e;
	int r;

	err_clear(&e);
	target_list_init(&l);
	if ((r = fileio_read(path, TARGET_FILE_MAX, &data, &e)) != 0) {
		buf_free(&data);
		(void)diag_add(b->diag, path, 0, NULL, "%s", e.msg);
		return r;
	}
	r = target_parse_file(path, data.data, data.len, &l, b->diag);
	if (r == 0 && l.n == 0) {
		(void)diag_add(b->diag, path, 0, NULL, "the file names no "
		    "target");
		r = ERR_INVALID;
	}
	target_list_free(&l);
	if (r == 0)
		return bm_add(b, BUNDLE_MAKE_TARGETS_NAME, path, &data, 0);
	buf_free(&data);
	return r;
}

/* ------------------------------------------------------------------ */
/* manifest.yaml */

/*
 * Appends s as a YAML double-quoted scalar. Quoting every string keeps
 * YAML from reading "yes", "1e3" or "null" as anything but text, and the
 * escapes below are the only ones needed: a backslash, a quote, and the
 * newline and tab a description may hold. Any other control character is
 * refused, not escaped, since the appliance refuses it too.
 */
static int
bm_yaml_str(buf_t *y, const char *s, int multiline)
{
	const unsigned char *p;

	(void)buf_put(y, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			(void)buf_put_u8(y, '\\');
			(void)buf_put_u8(y, *p);
		} else if (multiline && *p == '\n') {
			(void)buf_put(y, "\\n", 2);
		} else if (multiline && *p == '\t') {
			(void)buf_put(y, "\\t", 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			return ERR_INVALID;
		} else {
			(void)buf_put_u8(y, *p);
		}
	}
	(void)buf_put(y, "\"\n", 2);
	return buf_ok(y) ? 0 : ERR_LIMIT;
}

/* Puts "key: " then the quoted value; the sticky flag catches the rest. */
static int
bm_yaml_kv(buf_t *y, const char *indent_key, const char *v, int multiline)
{
	(void)buf_put(y, indent_key, strlen(indent_key));
	(void)buf_put(y, ": ", 2);
	return bm_yaml_str(y, v, multiline);
}

/*
 * Text for people (batch name, description): valid UTF-8 with no control
 * or invisible character (util/text.h), but for newline and tab in a
 * description, and at most max characters.
 */
static int
bm_check_text(const char *what, const char *s, size_t min, size_t max,
    int multiline, diag_t *d)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), off = 0, chars = 0;

	if (!text_utf8_valid(s, n, NULL)) {
		(void)diag_add(d, NULL, 0, what, "is not valid UTF-8");
		return ERR_INVALID;
	}
	while (off < n) {
		uint32_t cp;
		size_t l = text_utf8_next(p + off, n - off, &cp);

		if (l == 0)
			break;
		if (text_forbidden(cp) && !(multiline && (cp == '\n' ||
		    cp == '\t'))) {
			(void)diag_add(d, NULL, 0, what, "must not contain "
			    "control or invisible characters (U+%04X)",
			    (unsigned)cp);
			return ERR_INVALID;
		}
		off += l;
		chars++;
	}
	if (chars < min || chars > max) {
		(void)diag_add(d, NULL, 0, what, "must be %zu to %zu characters "
		    "(it has %zu)", min, max, chars);
		return ERR_INVALID;
	}
	return 0;
}

/* Never shown back, not even in part: only its length is. */
static int
bm_check_password(const secret_t *pw, diag_t *d)
{
	size_t i, chars = 0;

	if (pw == NULL || pw->data == NULL) {
		(void)diag_add(d, NULL, 0, NULL, "format pkcs12 needs a PKCS#12 "
		    "password (--p12-password)");
		return ERR_INVALID;
	}
	if (!text_utf8_valid(pw->data, pw->len, NULL) ||
	    memchr(pw->data, '\0', pw->len) != NULL) {
		(void)diag_add(d, NULL, 0, NULL, "the PKCS#12 password is not "
		    "valid UTF-8 text");
		return ERR_INVALID;
	}
	for (i = 0; i < pw->len; i++) {
		if (pw->data[i] < 0x20 || pw->data[i] == 0x7f) {
			(void)diag_add(d, NULL, 0, NULL, "the PKCS#12 password "
			    "must not contain control characters");
			return ERR_INVALID;
		}
		chars += (pw->data[i] & 0xc0) != 0x80;
	}
	if (chars < BM_PASSWORD_MIN || chars > BM_PASSWORD_MAX) {
		(void)diag_add(d, NULL, 0, NULL, "the PKCS#12 password must be "
		    "%d to %d characters (it has %zu)", BM_PASSWORD_MIN,
		    BM_PASSWORD_MAX, chars);
		return ERR_INVALID;
	}
	return 0;
}

/* A random RFC 4122 version 4 UUID in lower case. */
static int
bm_uuid4(char out[37])
{
	unsigned char u[16];

	if (RAND_bytes(u, sizeof(u)) != 1) {
		ERR_clear_error();
		return ERR_CRYPTO;
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	OPENSSL_cleanse(u, sizeof(u));
	return 0;
}

/* The body of a revocation's manifest (bundle.md, section 6.2). */
static int
bm_manifest_revocation(const struct bundle_make_opts *o, buf_t *y)
{
	size_t i;
	int r = 0;

	r |= bm_yaml_kv(y, "reason", o->reason, 0);
	r |= bm_yaml_kv(y, "message", o->message, 0);
	if (o->invalidity_date != 0) {
		char when[TIMEUTIL_STRLEN];

		timeutil_format(o->invalidity_date, when);
		r |= bm_yaml_kv(y, "invalidity_date", when, 0);
	}
	if (o->n_targets > 0)
		(void)buf_put(y, "targets:\n", 9);
	for (i = 0; i < o->n_targets; i++) {
		(void)buf_put(y, "  - ", 4);
		r |= bm_yaml_str(y, o->targets[i], 0);
	}
	if (o->targets_path != NULL)
		r |= bm_yaml_kv(y, "targets_file", BUNDLE_MAKE_TARGETS_NAME, 0);
	if (!buf_ok(y))
		return ERR_LIMIT;
	return r != 0 ? ERR_INVALID : 0;
}

/* The manifest text for o; y is marked secret by the caller. */
static int
bm_manifest(const struct bundle_make_opts *o, const char *id,
    time_t created, const struct bm *b, int has_csr, buf_t *y)
{
	char when[TIMEUTIL_STRLEN], mac[MAC_STR_MAX], num[32];
	size_t i;
	int r = 0;

	timeutil_format(created, when);
	(void)buf_put(y, "airlock_bundle: 1\n", 18);
	r |= bm_yaml_kv(y, "kind", manifest_kind_name(o->kind), 0);
	r |= bm_yaml_kv(y, "id", id, 0);
	r |= bm_yaml_kv(y, "created", when, 0);
	if (o->kind == MANIFEST_KIND_REVOCATION)
		return r != 0 ? ERR_INVALID : bm_manifest_revocation(o, y);
	(void)buf_put(y, "batch:\n", 7);
	r |= bm_yaml_kv(y, "  name", o->batch_name, 0);
	if (o->description != NULL && o->description[0] != '\0')
		r |= bm_yaml_kv(y, "  description", o->description, 1);
	r |= bm_yaml_kv(y, "profile", o->profile, 0);
	(void)buf_put(y, "input:\n", 7);
	r |= bm_yaml_kv(y, "  mode", manifest_input_name(o->mode), 0);
	switch (o->mode) {
	case MANIFEST_INPUT_MAC_RANGE:
		if (mac_format(o->range.start, MAC_STYLE_COLON_LOWER, mac,
		    sizeof(mac)) != 0)
			return ERR_INTERNAL;
		r |= bm_yaml_kv(y, "  start", mac, 0);
		snprintf(num, sizeof(num), "  count: %u\n  increment: %u\n",
		    (unsigned)o->range.count, (unsigned)o->range.increment);
		(void)buf_put(y, num, strlen(num));
		break;
	case MANIFEST_INPUT_CSR:
		(void)buf_put(y, "  files:\n", 9);
		for (i = 0; i < b->n; i++)
			if (strncmp(b->e[i].name, BUNDLE_MAKE_CSR_DIR,
			    strlen(BUNDLE_MAKE_CSR_DIR)) == 0)
			{
				(void)buf_put(y, "    - ", 6);
				r |= bm_yaml_str(y, b->e[i].name, 0);
			}
		break;
	case MANIFEST_INPUT_CSV:
		r |= bm_yaml_kv(y, "  file", BUNDLE_MAKE_CSV_NAME, 0);
		if (has_csr)
			r |= bm_yaml_kv(y, "  directory", BUNDLE_MAKE_CSR_DIR, 0);
		break;
	}
	(void)buf_put(y, "output:\n", 8);
	r |= bm_yaml_kv(y, "  format", manifest_format_name(o->format), 0);
	r |= bm_yaml_kv(y, "  chain", manifest_chain_name(o->chain), 0);
	r |= bm_yaml_kv(y, "  results_log", manifest_log_name(o->results_log),
	    0);
	if (o->format == MANIFEST_FORMAT_SMPB)
		r |= bm_yaml_kv(y, "  recipient", BUNDLE_MAKE_RECIPIENT_NAME, 0);
	if (o->format == MANIFEST_FORMAT_PKCS12) {
		(void)buf_put(y, "  pkcs12:\n", 10);
		r |= bm_yaml_kv(y, "    password",
		    (const char *)o->p12_password->data, 0);
		r |= bm_yaml_kv(y, "    encryption",
		    manifest_p12_name(o->p12_encryption), 0);
	}
	/* Codes were OR-ed above: any refusal is one, the buffer says which. */
	if (!buf_ok(y))
		return ERR_LIMIT;
	return r != 0 ? ERR_INVALID : 0;
}

/* ------------------------------------------------------------------ */
/* ZIP, CMS */

/*
 * Packs the (sorted) entries into a ZIP archive in out. Every entry is a
 * regular file, mode 0644, made on Unix, dated `created`, with no extra
 * fields: what `zip -X` makes, and nothing the appliance has to judge.
 * The manifest is stored rather than deflated when it holds the PKCS#12
 * password, so that the size of the encrypted bundle says nothing about
 * the password (compression before encryption leaks).
 */
static int
bm_zip(const struct bm *b, time_t created, buf_t *out, err_t *err)
{
	struct zipout_entry *e;
	size_t i;
	int rc;

	if ((e = calloc(b->n ? b->n : 1, sizeof(*e))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < b->n; i++) {
		e[i].name = b->e[i].name;
		e[i].data = b->e[i].data.data;
		e[i].len = b->e[i].data.len;
		e[i].store = b->e[i].store;
	}
	rc = zipout_pack(e, b->n, created, ENVELOPE_DEFAULT_MAX, out, err);
	free(e);
	return rc;
}

/* Frees cms, wiping the content it carries (the archive, in clear). */
static void
bm_cms_free(CMS_ContentInfo *cms)
{
	ASN1_OCTET_STRING **pos;

	if (cms == NULL)
		return;
	if ((pos = CMS_get0_content(cms)) != NULL && *pos != NULL &&
	    (*pos)->data != NULL && (*pos)->length > 0)
		OPENSSL_cleanse((*pos)->data, (size_t)(*pos)->length);
	CMS_ContentInfo_free(cms);
}

/* DER of cms appended to out. */
static int
bm_cms_der(CMS_ContentInfo *cms, buf_t *out, err_t *err)
{
	unsigned char *der = NULL;
	int n, r;

	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		return err_set_ossl(err, ERR_CRYPTO, "cannot encode the CMS");
	r = buf_put(out, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	if (r != 0)
		return err_set(err, r, "the bundle does not fit in %zu bytes",
		    out->max);
	return 0;
}

/*
 * Signs zip as an attached SignedData, as `openssl cms -sign -binary
 * -nodetach -md sha256` does: CMS_BINARY so that the bytes are taken as
 * they are (no MIME canonicalisation), the signer's certificate included,
 * signed attributes with content type id-data. CMS_NOSMIMECAP leaves out
 * the S/MIME capabilities attribute, which says nothing to the appliance.
 * The signature is then verified against the certificate, so that a key
 * that signs wrongly (a token key that is not the certificate's) is
 * caught here.
 */
static int
bm_sign(const buf_t *zip, EVP_PKEY *key, X509 *cert, buf_t *der,
    err_t *err)
{
	const unsigned flags = CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *one = NULL;
	BIO *in = NULL;
	int rc = 0;

	if (zip->len > ENVELOPE_HARD_MAX)
		return err_set(err, ERR_LIMIT, "the archive is too large");
	if ((in = BIO_new_mem_buf(zip->data, (int)zip->len)) == NULL ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    CMS_add1_signer(cms, cert, key, EVP_sha256(),
	    CMS_NOSMIMECAP) == NULL ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot sign the bundle");
		goto out;
	}
	if ((one = sk_X509_new_null()) == NULL || !sk_X509_push(one, cert)) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (CMS_verify(cms, one, NULL, NULL, NULL, CMS_BINARY | CMS_NOINTERN |
	    CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		rc = err_set_ossl(err, ERR_POLICY, "the bundle's signature does "
		    "not verify under the signer's certificate; is the key the "
		    "certificate's?");
		goto out;
	}
	rc = bm_cms_der(cms, der, err);
out:
	sk_X509_free(one);
	bm_cms_free(cms);
	BIO_free(in);
	return rc;
}

/*
 * EnvelopedData of der to the transport certificate: AES-256-CBC (the
 * only content cipher the appliance takes), the content key sent with
 * RSAES-OAEP and SHA-256, which the appliance accepts beside PKCS#1 v1.5
 * and which has no padding oracle. The recipient is named by issuer and
 * serial number, as `openssl cms -encrypt` does.
 */
static int
bm_encrypt(const buf_t *der, X509 *to, CMS_ContentInfo **out, err_t *err)
{
	STACK_OF(X509) *none = NULL;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	BIO *in = NULL;
	int rc = 0;

	*out = NULL;
	if ((none = sk_X509_new_null()) == NULL ||
	    (in = BIO_new_mem_buf(der->data, (int)der->len)) == NULL ||
	    (cms = CMS_encrypt(none, NULL, EVP_aes_256_cbc(), CMS_BINARY |
	    CMS_PARTIAL)) == NULL ||
	    (ri = CMS_add1_recipient_cert(cms, to, CMS_KEY_PARAM)) == NULL ||
	    (pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encrypt the bundle "
		    "to the transport certificate");
		CMS_ContentInfo_free(cms);
		cms = NULL;
	}
	*out = cms;
	BIO_free(in);
	sk_X509_free(none);
	return rc;
}

/* The final encoding: DER, or one PEM block labelled CMS. */
static int
bm_encode(CMS_ContentInfo *cms, int pem, buf_t *out, err_t *err)
{
	BIO *m;
	char *p = NULL;
	long n;
	int r;

	if (!pem)
		return bm_cms_der(cms, out, err);
	if ((m = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_CMS(m, cms) != 1 ||
	    (n = BIO_get_mem_data(m, &p)) <= 0) {
		BIO_free(m);
		return err_set_ossl(err, ERR_CRYPTO, "cannot write the bundle "
		    "as PEM");
	}
	r = buf_put(out, p, (size_t)n);
	BIO_free(m);
	if (r != 0)
		return err_set(err, r, "the bundle does not fit in %zu bytes",
		    out->max);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The whole */

/* A revocation's options (the targets file is checked when read). */
static int
bm_check_revocation(const struct bundle_make_opts *o, time_t now, diag_t *d)
{
	struct target_list l;
	size_t i;
	err_t e;
	int r = 0;

	err_clear(&e);
	if (o->profile != NULL || o->batch_name != NULL ||
	    o->n_csr_paths > 0 || o->csv_path != NULL ||
	    o->recipient_path != NULL || o->p12_password != NULL) {
		(void)diag_add(d, NULL, 0, NULL, "a revocation request takes no "
		    "profile, batch name, input or output options");
		r = ERR_INVALID;
	}
	if (!queue_revocation_reason_ok(o->reason)) {
		(void)diag_add(d, NULL, 0, "reason", "must be one of "
		    "unspecified, keyCompromise, cACompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "certificateHold, privilegeWithdrawn, aACompromise, "
		    "removeFromCRL");
		r = ERR_INVALID;
	} else if (o->invalidity_date != 0 &&
	    strcmp(o->reason, "removeFromCRL") == 0) {
		(void)diag_add(d, NULL, 0, "invalidity date", "does not go with "
		    "removeFromCRL: releasing a hold states no invalidity");
		r = ERR_INVALID;
	}
	if (o->invalidity_date > now) {
		(void)diag_add(d, NULL, 0, "invalidity date", "is in the future");
		r = ERR_INVALID;
	}
	if (o->message == NULL || bm_check_text("message", o->message, 1,
	    QUEUE_REVOCATION_MESSAGE_MAX, 0, d) != 0)
		r = ERR_INVALID;
	if (o->message == NULL)
		(void)diag_add(d, NULL, 0, "message", "is required");
	if (o->n_targets == 0 && o->targets_path == NULL) {
		(void)diag_add(d, NULL, 0, NULL, "a revocation names at least "
		    "one target: a serial, a batch, a MAC, a subject or a file "
		    "of them");
		r = ERR_INVALID;
	}
	if (o->n_targets > QUEUE_REVOCATION_MAX_TARGETS) {
		(void)diag_add(d, NULL, 0, NULL, "at most %d targets",
		    QUEUE_REVOCATION_MAX_TARGETS);
		return ERR_LIMIT;
	}
	/* Each as the appliance will read it, so a typo stops here. */
	target_list_init(&l);
	for (i = 0; i < o->n_targets; i++) {
		if (target_parse(o->targets[i], strlen(o->targets[i]), NULL, 0,
		    &l, &e) != 0) {
			char shown[200];

			(void)diag_add(d, NULL, 0, NULL, "target '%s': %s",
			    text_show(o->targets[i], strlen(o->targets[i]), 64,
			    shown, sizeof(shown)), e.msg);
			r = ERR_INVALID;
		}
	}
	target_list_free(&l);
	if (o->encrypt_to != NULL && bm_check_validity(o->encrypt_to, now,
	    "transport", &e) != 0)
		r = bm_fail(d, &e);
	if (bundle_make_check_signer(o->signer_key, o->signer_cert, now,
	    &e) != 0)
		r = bm_fail(d, &e);
	return r;
}

/* The options that do not depend on any file, checked before any is read. */
static int
bm_check_opts(const struct bundle_make_opts *o, time_t now, diag_t *d)
{
	err_t e;
	int r = 0;

	err_clear(&e);
	if (o->kind == MANIFEST_KIND_REVOCATION)
		return bm_check_revocation(o, now, d);
	if (o->kind != MANIFEST_KIND_REQUEST) {
		(void)diag_add(d, NULL, 0, NULL, "unknown bundle kind");
		return ERR_INVALID;
	}
	/* Only an operator orders certificates; officers may only ask for
	 * revocations. */
	if (o->signer_cert != NULL && bundle_make_signer_is_officer(
	    o->signer_cert) && roles_check_role(o->signer_cert,
	    OIDS_ROLE_OPERATOR, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
	    "the signer", "signing a request bundle", &e) != 0) {
		(void)bm_fail(d, &e);
		return ERR_POLICY;
	}
	if (o->profile == NULL || o->batch_name == NULL) {
		(void)diag_add(d, NULL, 0, NULL, "a bundle needs a profile and "
		    "a batch name");
		return ERR_INVALID;
	}
	if (bm_check_text("batch name", o->batch_name, 1, 128, 0, d) != 0 ||
	    (o->description != NULL && bm_check_text("description",
	    o->description, 0, 1024, 1, d) != 0))
		r = ERR_INVALID;
	switch (o->mode) {
	case MANIFEST_INPUT_MAC_RANGE:
		if (o->n_csr_paths > 0 || o->csv_path != NULL) {
			(void)diag_add(d, NULL, 0, NULL, "a MAC range bundle "
			    "takes no CSR or CSV files");
			r = ERR_INVALID;
		} else if (mac_range_check(&o->range, &e) != 0) {
			(void)diag_add(d, NULL, 0, NULL, "the MAC range: %s",
			    e.msg);
			r = ERR_INVALID;
		}
		break;
	case MANIFEST_INPUT_CSR:
		if (o->n_csr_paths == 0 || o->csv_path != NULL) {
			(void)diag_add(d, NULL, 0, NULL, "a CSR bundle needs at "
			    "least one CSR file or folder, and no CSV");
			r = ERR_INVALID;
		}
		break;
	case MANIFEST_INPUT_CSV:
		if (o->csv_path == NULL) {
			(void)diag_add(d, NULL, 0, NULL, "a CSV bundle needs the "
			    "CSV file");
			r = ERR_INVALID;
		}
		break;
	default:
		(void)diag_add(d, NULL, 0, NULL, "unknown input mode");
		return ERR_INVALID;
	}
	if (o->n_csr_paths > BUNDLE_MAKE_MAX_PATHS) {
		(void)diag_add(d, NULL, 0, NULL, "at most %d CSR paths",
		    BUNDLE_MAKE_MAX_PATHS);
		r = ERR_INVALID;
	}
	if ((o->format == MANIFEST_FORMAT_SMPB) != (o->recipient_path != NULL)) {
		(void)diag_add(d, NULL, 0, NULL, o->recipient_path == NULL ?
		    "format smpb needs the recipient certificate it is "
		    "encrypted to (--recipient)" : "a recipient certificate is "
		    "only for format smpb");
		r = ERR_INVALID;
	}
	if (o->format == MANIFEST_FORMAT_PKCS12) {
		if (bm_check_password(o->p12_password, d) != 0)
			r = ERR_INVALID;
		/* The password must never sit in clear on a USB stick. */
		if (o->encrypt_to == NULL) {
			(void)diag_add(d, NULL, 0, NULL, "a bundle with a PKCS#12 "
			    "password must be encrypted to the appliance's "
			    "transport certificate (--encrypt-to)");
			r = ERR_POLICY;
		}
	} else if (o->p12_password != NULL) {
		(void)diag_add(d, NULL, 0, NULL, "a PKCS#12 password is only for "
		    "format pkcs12");
		r = ERR_INVALID;
	}
	if (o->encrypt_to != NULL) {
		char subj[ROLES_NAME_MAX];

		bm_subject(o->encrypt_to, subj, sizeof(subj));
		if (!bm_is_rsa(o->encrypt_to)) {
			(void)diag_add(d, NULL, 0, NULL, "the transport "
			    "certificate (%s) must hold an RSA key", subj);
			r = ERR_POLICY;
		} else if (!bm_has_eku(o->encrypt_to,
		    oids_nid(OIDS_PURPOSE_TRANSPORT))) {
			(void)diag_add(d, NULL, 0, NULL, "%s is not an appliance "
			    "transport certificate (no airlock-transport "
			    "extended key usage)", subj);
			r = ERR_POLICY;
		} else if (bm_check_validity(o->encrypt_to, now, "transport",
		    &e) != 0) {
			r = bm_fail(d, &e);
		}
	}
	if (bundle_make_check_signer(o->signer_key, o->signer_cert, now,
	    &e) != 0)
		r = bm_fail(d, &e);
	return r;
}

/* The smpb recipient: an RSA certificate valid now, carried as PEM. */
static int
bm_add_recipient(struct bm *b, const char *path, time_t now)
{
	char subj[ROLES_NAME_MAX];
	X509 *x = NULL;
	buf_t pem;
	err_t e;
	int r;

	err_clear(&e);
	buf_init(&pem, PKI_CERT_FILE_MAX * 2);
	if ((r = pki_load_cert_file(path, &x, &e)) != 0)
		goto out;
	bm_subject(x, subj, sizeof(subj));
	if (!bm_is_rsa(x))
		r = err_set(&e, ERR_POLICY, "the recipient certificate (%s) must "
		    "hold an RSA key: the SMPB is encrypted to it", subj);
	else if ((r = bm_check_validity(x, now, "recipient", &e)) == 0 &&
	    (r = pki_cert_pem(x, &pem, &e)) == 0)
		r = bm_add(b, BUNDLE_MAKE_RECIPIENT_NAME, path, &pem, 0);
out:
	if (r != 0 && e.msg[0] != '\0')
		(void)diag_add(b->diag, path, 0, NULL, "%s", e.msg);
	buf_free(&pem);
	X509_free(x);
	return r;
}

/* Runs the archive through the appliance's parsers: it must pass. */
static int
bm_self_check(const buf_t *zip, const struct manifest *m, diag_t *d)
{
	struct archive *a = NULL;
	int r;

	if ((r = archive_open("the bundle's archive", zip->data, zip->len,
	    NULL, &a, d)) == 0)
		r = manifest_check_archive(m, a, d);
	archive_close(a);
	return r;
}

int
bundle_make(const struct bundle_make_opts *o, buf_t *out, diag_t *diag)
{
	struct manifest m;
	struct bm b;
	CMS_ContentInfo *env = NULL;
	buf_t man, zip, signd;
	char id[37];
	time_t now;
	size_t i, before = diag_count(diag);
	err_t e;
	int r, has_csr;

	memset(&m, 0, sizeof(m));
	memset(&b, 0, sizeof(b));
	b.diag = diag;
	err_clear(&e);
	buf_init(out, ENVELOPE_DEFAULT_MAX);
	buf_init(&man, MANIFEST_MAX_BYTES);
	buf_init(&zip, ENVELOPE_DEFAULT_MAX);
	buf_init(&signd, ENVELOPE_DEFAULT_MAX);
	/* Each may hold the PKCS#12 password in clear. */
	buf_set_secret(&man);
	buf_set_secret(&zip);
	buf_set_secret(&signd);
	if (o == NULL) {
		(void)diag_add(diag, NULL, 0, NULL, "no options");
		return ERR_INTERNAL;
	}
	now = o->created != 0 ? o->created : time(NULL);
	if ((r = bm_check_opts(o, now, diag)) != 0)
		goto out;
	if (o->id != NULL)
		snprintf(id, sizeof(id), "%s", o->id);
	else if (bm_uuid4(id) != 0) {
		r = ERR_CRYPTO;
		(void)diag_add(diag, NULL, 0, NULL, "cannot make a random "
		    "bundle id");
		goto out;
	}
	/* Inputs, each checked as the appliance will check it. */
	if (o->kind == MANIFEST_KIND_REVOCATION && o->targets_path != NULL &&
	    (r = bm_add_targets(&b, o->targets_path)) != 0)
		goto out;
	for (i = 0; i < o->n_csr_paths; i++) {
		int one = bm_add_csr_path(&b, o->csr_paths[i]);

		if (one != 0 && r == 0)
			r = one;
		if (one == ERR_NOMEM || one == ERR_LIMIT)
			goto out;
	}
	has_csr = b.n > 0 && o->kind == MANIFEST_KIND_REQUEST;
	if (r == 0 && (r = bm_sort(&b)) == 0 && o->kind ==
	    MANIFEST_KIND_REQUEST && o->mode == MANIFEST_INPUT_CSV)
		r = bm_add_csv(&b, o->csv_path, o->n_csr_paths);
	if (r == 0 && o->kind == MANIFEST_KIND_REQUEST &&
	    o->format == MANIFEST_FORMAT_SMPB)
		r = bm_add_recipient(&b, o->recipient_path, now);
	if (r != 0)
		goto out;
	/* The manifest names the files, so it is made once they are in. */
	if ((r = bm_manifest(o, id, now, &b, has_csr, &man)) != 0) {
		(void)diag_add(diag, NULL, 0, NULL, r == ERR_LIMIT ? "the "
		    "manifest is larger than %u bytes" : "a value cannot be "
		    "written into the manifest", MANIFEST_MAX_BYTES);
		goto out;
	}
	if ((r = manifest_parse(BM_MANIFEST_LABEL, man.data, man.len, &m,
	    diag)) != 0)
		goto out;
	{
		buf_t copy;

		buf_init(&copy, MANIFEST_MAX_BYTES);
		buf_set_secret(&copy);
		if (buf_put(&copy, man.data, man.len) != 0) {
			buf_free(&copy);
			r = ERR_NOMEM;
			(void)diag_add(diag, NULL, 0, NULL, "out of memory");
			goto out;
		}
		if ((r = bm_add(&b, MANIFEST_NAME, BM_MANIFEST_LABEL, &copy,
		    manifest_has_secret(&m))) != 0)
			goto out;
	}
	qsort(b.e, b.n, sizeof(*b.e), bm_entry_cmp);
	if ((r = bm_zip(&b, now, &zip, &e)) != 0 ||
	    (r = bm_self_check(&zip, &m, diag)) != 0)
		goto fail_e;
	/* Sign, then encrypt: the signature covers the archive itself. */
	if ((r = bm_sign(&zip, o->signer_key, o->signer_cert, &signd,
	    &e)) != 0)
		goto fail_e;
	if (o->encrypt_to != NULL) {
		if ((r = bm_encrypt(&signd, o->encrypt_to, &env, &e)) != 0 ||
		    (r = bm_encode(env, o->pem, out, &e)) != 0)
			goto fail_e;
	} else if (!o->pem) {
		r = buf_put(out, signd.data, signd.len) == 0 ? 0 :
		    err_set(&e, ERR_LIMIT, "the bundle is too large");
	} else {
		const unsigned char *p = signd.data;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p,
		    (long)signd.len);

		r = cms == NULL ? err_set_ossl(&e, ERR_CRYPTO, "cannot read "
		    "back the signed bundle") : bm_encode(cms, 1, out, &e);
		bm_cms_free(cms);
	}
fail_e:
	if (r != 0 && diag_count(diag) == before)
		(void)bm_fail(diag, &e);
out:
	if (r != 0 && diag_count(diag) == before)
		(void)diag_add(diag, NULL, 0, NULL, "cannot make the bundle "
		    "(%s)", err_code_name(r));
	if (r != 0)
		buf_free(out);
	CMS_ContentInfo_free(env);
	manifest_free(&m);
	bm_free(&b);
	buf_free(&man);
	buf_free(&zip);
	buf_free(&signd);
	return r;
}
