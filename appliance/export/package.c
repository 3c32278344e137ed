/*
 * package.c: the download formats, built in memory (see package.h,
 * docs/formats/export.md and docs/formats/smpb.md).
 *
 * Every format is assembled the same way: a list of named files (the
 * "container"), which is either handed out as it is (pkcs12) or packed
 * into a ZIP (pem-zip, der-zip, smpb), or the certificates are encoded
 * into one document (pem-json, pkcs7). Buffers that hold a private key in
 * clear are marked secret so they are wiped when freed.
 *
 * libzip and OpenSSL's cipher BIOs keep working copies in their own
 * buffers, which they free without wiping. Entries holding keys are
 * stored uncompressed so that at least zlib never sees them; the rest is
 * a limit of those libraries, and the reason the process that builds
 * exports must run with core dumps disabled.
 */
#include "export/package.h"
#include "util/zipout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
/* pem.h first: cms.h declares its PEM functions with pem.h macros. */
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "pki/pkiutil.h"
#include "util/text.h"
#include "util/timeutil.h"

/* Largest file count in one container: 2 per device plus the chain. */
#define FILES_MAX (2u * 500000 + 16)

/* ------------------------------------------------------------------ */
/* Names and lists */

int
export_format_parse(const char *s, enum export_format *out)
{
	static const struct {
		const char *name;
		enum export_format f;
	} t[] = {
		{ "smpb", EXPORT_FMT_SMPB }, { "pkcs12", EXPORT_FMT_PKCS12 },
		{ "pem-zip", EXPORT_FMT_PEM_ZIP },
		{ "pem-json", EXPORT_FMT_PEM_JSON },
		{ "der-zip", EXPORT_FMT_DER_ZIP }, { "pkcs7", EXPORT_FMT_PKCS7 },
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].f;
			return 0;
		}
	return ERR_INVALID;
}

const char *
export_format_name(enum export_format f)
{
	switch (f) {
	case EXPORT_FMT_SMPB:
		return "smpb";
	case EXPORT_FMT_PKCS12:
		return "pkcs12";
	case EXPORT_FMT_PEM_ZIP:
		return "pem-zip";
	case EXPORT_FMT_PEM_JSON:
		return "pem-json";
	case EXPORT_FMT_DER_ZIP:
		return "der-zip";
	case EXPORT_FMT_PKCS7:
		return "pkcs7";
	default:
		return "?";
	}
}

int
export_chain_parse(const char *s, enum export_chain *out)
{
	if (s == NULL)
		return ERR_INVALID;
	if (strcmp(s, "separate") == 0)
		*out = EXPORT_CHAIN_SEPARATE;
	else if (strcmp(s, "with-intermediate") == 0)
		*out = EXPORT_CHAIN_WITH_INTERMEDIATE;
	else if (strcmp(s, "with-root-and-intermediate") == 0)
		*out = EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE;
	else
		return ERR_INVALID;
	return 0;
}

const char *
export_chain_name(enum export_chain c)
{
	switch (c) {
	case EXPORT_CHAIN_SEPARATE:
		return "separate";
	case EXPORT_CHAIN_WITH_INTERMEDIATE:
		return "with-intermediate";
	case EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE:
		return "with-root-and-intermediate";
	default:
		return "?";
	}
}

int
export_p12_profile_parse(const char *s, enum export_p12_profile *out)
{
	if (s != NULL && strcmp(s, "modern") == 0)
		*out = EXPORT_P12_MODERN;
	else if (s != NULL && strcmp(s, "compat") == 0)
		*out = EXPORT_P12_COMPAT;
	else
		return ERR_INVALID;
	return 0;
}

void
export_files_init(struct export_files *fs)
{
	memset(fs, 0, sizeof(*fs));
}

void
export_files_free(struct export_files *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		free(fs->f[i].name);
		buf_free(&fs->f[i].data);
	}
	free(fs->f);
	export_files_init(fs);
}

/*
 * Appends one file, its name already checked. Every file of an export goes
 * through here, so the file-count cap and the secret marking live in one
 * place.
 */
static int
files_append(struct export_files *fs, const char *name, const void *data,
    size_t len, int secret, err_t *err)
{
	struct export_file *f;

	if (fs->n >= FILES_MAX)
		return err_set(err, ERR_LIMIT, "more than %u files", FILES_MAX);
	if (fs->n == fs->cap) {
		size_t ncap = fs->cap == 0 ? 16 : fs->cap * 2;
		struct export_file *nf = reallocarray(fs->f, ncap,
		    sizeof(*nf));

		if (nf == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		fs->f = nf;
		fs->cap = ncap;
	}
	f = &fs->f[fs->n];
	memset(f, 0, sizeof(*f));
	buf_init(&f->data, EXPORT_FILE_MAX);
	if (secret)
		buf_set_secret(&f->data);
	f->secret = secret;
	if ((f->name = strdup(name)) == NULL ||
	    (len > 0 && buf_put(&f->data, data, len) != 0)) {
		free(f->name);
		buf_free(&f->data);
		return err_set(err, ERR_NOMEM, "'%s' does not fit in memory",
		    name);
	}
	fs->n++;
	return 0;
}

int
export_files_add(struct export_files *fs, const char *name,
    const void *data, size_t len, int secret, err_t *err)
{
	char stem[EXPORT_NAME_MAX + 1];
	size_t i;
	int rc;

	if ((rc = export_item_filename(name, stem, sizeof(stem), err)) != 0)
		return rc;
	if (strcmp(stem, name) != 0)
		return err_set(err, ERR_INVALID, "file name '%s' is not in "
		    "its final form", stem);
	/* FAT and the importers' file systems fold ASCII case. */
	for (i = 0; i < fs->n; i++)
		if (strcasecmp(fs->f[i].name, name) == 0)
			return err_set(err, ERR_EXISTS, "two files would be "
			    "named '%s'", stem);
	return files_append(fs, name, data, len, secret, err);
}

/*
 * Appends by joining stem and ext. Linear duplicate checks would make a
 * 500,000-device batch quadratic, so package_stems checks item names once
 * with a sort and the adds below skip the scan.
 */
static int
files_add_named(struct export_files *fs, const char *stem, const char *ext,
    const buf_t *data, int secret, err_t *err)
{
	char name[EXPORT_NAME_MAX + 16];

	if ((size_t)snprintf(name, sizeof(name), "%s%s", stem, ext) >=
	    sizeof(name))
		return err_set(err, ERR_LIMIT, "name '%s' too long", stem);
	return files_append(fs, name, data->data, data->len, secret, err);
}

/* ------------------------------------------------------------------ */
/* Encodings */

/* Unencrypted PKCS#8 PEM into a secret buffer; the BIO wipes its copy. */
static int
key_pem(EVP_PKEY *key, buf_t *out, err_t *err)
{
	BIO *b;
	char *p;
	long len;
	int rc = 0;

	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return err_set_ossl(err, ERR_NOMEM, "cannot make a BIO");
	if (!PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL,
	    NULL) || (len = BIO_get_mem_data(b, &p)) <= 0)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode a device key");
	else if (buf_put(out, p, (size_t)len) != 0)
		rc = err_set(err, ERR_LIMIT, "a device key does not fit");
	BIO_free(b);
	return rc;
}

/* Issuer and root as the chain option puts them into each device file. */
static int
device_chain(const struct export_opts *o, X509 *chain[2])
{
	int k = 0;

	if (o->chain == EXPORT_CHAIN_WITH_INTERMEDIATE ||
	    o->chain == EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE)
		chain[k++] = o->issuer;
	if (o->chain == EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE)
		chain[k++] = o->root;
	return k;
}

/* Adds issuer.EXT and root.EXT (when there is a root) to a container. */
static int
add_chain_files(const struct export_opts *o, struct export_files *fs,
    int der, err_t *err)
{
	X509 *c[2] = { o->issuer, o->root };
	const char *stem[2] = { "issuer", "root" };
	buf_t b;
	int i, rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		if (c[i] == NULL)
			continue;
		buf_init(&b, EXPORT_FILE_MAX);
		if ((rc = der ? pki_cert_der(c[i], &b, err) :
		    pki_cert_pem(c[i], &b, err)) == 0)
			rc = export_files_add(fs, der ? (i ? "root.cer" :
			    "issuer.cer") : (i ? "root.pem" : "issuer.pem"),
			    b.data, b.len, 0, err);
		if (rc != 0)
			err_prefix(err, "%s certificate", stem[i]);
		buf_free(&b);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* ZIP in memory */

/*
 * Packs the files of fs, in order, into a ZIP archive appended to out.
 * Entries holding keys are stored rather than deflated (see the top of
 * this file); all entries carry the export time.
 */
static int
zip_pack(const struct export_files *fs, time_t mtime, buf_t *out,
    err_t *err)
{
	struct zipout_entry *e;
	size_t i;
	int rc;

	if ((e = calloc(fs->n ? fs->n : 1, sizeof(*e))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < fs->n; i++) {
		e[i].name = fs->f[i].name;
		e[i].data = fs->f[i].data.data;
		e[i].len = fs->f[i].data.len;
		e[i].store = fs->f[i].secret;
	}
	rc = zipout_pack(e, fs->n, mtime, EXPORT_FILE_MAX, out, err);
	free(e);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Per-format builders. Each adds to out; the caller empties it on error. */

struct pkg {
	const struct export_opts *o;
	const struct export_item *items;
	size_t n;
	char **stems;		/* file-name stem per item, NULL if not issued */
	size_t issued;
	int with_keys;
};

/* Device certificate plus chain as PEM, or as DER (certificate only). */
static int
device_certs(const struct pkg *p, size_t i, int der, buf_t *b, err_t *err)
{
	X509 *chain[2];
	int k, nc, rc;

	if (der)
		return pki_cert_der(p->items[i].cert, b, err);
	if ((rc = pki_cert_pem(p->items[i].cert, b, err)) != 0)
		return rc;
	nc = device_chain(p->o, chain);
	for (k = 0; k < nc && rc == 0; k++)
		rc = pki_cert_pem(chain[k], b, err);
	return rc;
}

/* pem-zip and der-zip: batch.zip with NAME.pem or NAME.cer and the chain. */
static int
build_zip(const struct pkg *p, int der, struct export_files *out,
    err_t *err)
{
	struct export_files c;
	buf_t b, z;
	size_t i;
	int rc = 0;

	export_files_init(&c);
	for (i = 0; i < p->n && rc == 0; i++) {
		if (p->stems[i] == NULL)
			continue;
		buf_init(&b, EXPORT_FILE_MAX);
		if ((rc = device_certs(p, i, der, &b, err)) == 0)
			rc = files_add_named(&c, p->stems[i], der ? ".cer" :
			    ".pem", &b, 0, err);
		buf_free(&b);
	}
	if (rc == 0)
		rc = add_chain_files(p->o, &c, der, err);
	buf_init(&z, EXPORT_FILE_MAX);
	if (rc == 0 && (rc = zip_pack(&c, p->o->created, &z, err)) == 0)
		rc = export_files_add(out, "batch.zip", z.data, z.len, 0, err);
	buf_free(&z);
	export_files_free(&c);
	return rc;
}

/* Appends a JSON array of the PEM encodings of certs[0..n). */
static int
json_pem_array(buf_t *j, X509 *const *certs, int n, err_t *err)
{
	buf_t b;
	int k, rc = 0;

	buf_put_u8(j, '[');
	for (k = 0; k < n && rc == 0; k++) {
		if (certs[k] == NULL)
			continue;
		buf_init(&b, EXPORT_FILE_MAX);
		if (k > 0)
			buf_put_u8(j, ',');
		if ((rc = pki_cert_pem(certs[k], &b, err)) == 0 &&
		    export_json_string(j, (const char *)b.data, b.len) != 0)
			rc = err_set(err, ERR_LIMIT, "batch.json is too large");
		buf_free(&b);
	}
	buf_put_u8(j, ']');
	return rc;
}

/* pem-json: one batch.json (docs/formats/export.md gives its shape). */
static int
build_pem_json(const struct pkg *p, struct export_files *out, err_t *err)
{
	X509 *top[2] = { p->o->issuer, p->o->root }, *chain[2];
	char serial[128], fp[65], num[24];
	buf_t j;
	size_t i;
	int nc, rc = 0, first = 1;

	buf_init(&j, EXPORT_FILE_MAX);
	buf_put(&j, "{\"format\":\"pem-json\",\"version\":1,\"batch\":", 41);
	if (export_json_string(&j, p->o->batch_name,
	    strlen(p->o->batch_name)) != 0)
		rc = err_set(err, ERR_INVALID, "the batch name is not UTF-8");
	buf_put(&j, ",\"chain\":", 9);
	if (rc == 0)
		rc = json_pem_array(&j, top, p->o->root != NULL ? 2 : 1, err);
	buf_put(&j, ",\"certificates\":[", 17);
	nc = device_chain(p->o, chain);
	for (i = 0; i < p->n && rc == 0; i++) {
		const struct export_item *it = &p->items[i];
		buf_t b;

		if (p->stems[i] == NULL)
			continue;
		if (export_serial_hex(it->cert, serial, sizeof(serial)) != 0 ||
		    pki_cert_sha256_hex(it->cert, fp) != 0) {
			rc = err_set_ossl(err, ERR_CRYPTO, "line %lu: cannot "
			    "read the certificate", it->line);
			break;
		}
		snprintf(num, sizeof(num), "%lu", it->line);
		buf_put(&j, first ? "\n{\"line\":" : ",\n{\"line\":",
		    first ? 9 : 10);
		first = 0;
		buf_put(&j, num, strlen(num));
		buf_put(&j, ",\"name\":", 8);
		export_json_string(&j, it->name, strlen(it->name));
		buf_put(&j, ",\"serial\":", 10);
		export_json_string(&j, serial, strlen(serial));
		buf_put(&j, ",\"sha256\":", 10);
		export_json_string(&j, fp, strlen(fp));
		buf_put(&j, ",\"certificate\":", 15);
		buf_init(&b, EXPORT_FILE_MAX);
		if ((rc = pki_cert_pem(it->cert, &b, err)) == 0)
			export_json_string(&j, (const char *)b.data, b.len);
		buf_free(&b);
		buf_put(&j, ",\"chain\":", 9);
		if (rc == 0)
			rc = json_pem_array(&j, chain, nc, err);
		buf_put_u8(&j, '}');
	}
	buf_put(&j, "\n]}\n", 4);
	if (rc == 0 && !buf_ok(&j))
		rc = err_set(err, ERR_LIMIT, "batch.json is too large");
	if (rc == 0)
		rc = export_files_add(out, "batch.json", j.data, j.len, 0, err);
	buf_free(&j);
	return rc;
}

/* pkcs7: a degenerate (certificates-only) SignedData, DER. */
static int
build_pkcs7(const struct pkg *p, struct export_files *out, err_t *err)
{
	PKCS7 *p7;
	unsigned char *der = NULL;
	size_t i;
	int len, rc = 0;

	if ((p7 = PKCS7_new()) == NULL || !PKCS7_set_type(p7,
	    NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data)) {
		PKCS7_free(p7);
		return err_set_ossl(err, ERR_NOMEM, "cannot make a PKCS#7");
	}
	for (i = 0; i < p->n && rc == 0; i++)
		if (p->stems[i] != NULL &&
		    !PKCS7_add_certificate(p7, p->items[i].cert))
			rc = err_set_ossl(err, ERR_CRYPTO, "line %lu: cannot "
			    "add the certificate", p->items[i].line);
	if (rc == 0 && (!PKCS7_add_certificate(p7, p->o->issuer) ||
	    (p->o->root != NULL && !PKCS7_add_certificate(p7, p->o->root))))
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot add the chain");
	if (rc == 0 && (len = i2d_PKCS7(p7, &der)) <= 0)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode the PKCS#7");
	if (rc == 0)
		rc = export_files_add(out, "batch.p7b", der, (size_t)len, 0,
		    err);
	OPENSSL_free(der);
	PKCS7_free(p7);
	return rc;
}

/* pkcs12: NAME.p12 per device, the chain alongside as PEM. */
static int
build_pkcs12(const struct pkg *p, struct export_files *out, err_t *err)
{
	const struct export_opts *o = p->o;
	const char *pass = (const char *)o->p12_password->data;
	int modern = o->p12_profile == EXPORT_P12_MODERN;
	int nid = modern ? NID_aes_256_cbc :
	    NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
	int iter = modern ? EXPORT_P12_MODERN_ITER : EXPORT_P12_COMPAT_ITER;
	STACK_OF(X509) *ca;
	X509 *chain[2];
	PKCS12 *p12;
	buf_t b;
	size_t i;
	int k, nc, len, rc = 0;

	if ((ca = sk_X509_new_null()) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	nc = device_chain(o, chain);
	for (k = 0; k < nc; k++)
		if (!sk_X509_push(ca, chain[k])) {
			sk_X509_free(ca);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
	for (i = 0; i < p->n && rc == 0; i++) {
		const struct export_item *it = &p->items[i];
		unsigned char *der = NULL;

		if (p->stems[i] == NULL)
			continue;
		/*
		 * No MAC from PKCS12_create_ex (mac_iter -1): OpenSSL 3.0
		 * would pick SHA-1 for it; PKCS12_set_mac names the digest.
		 */
		p12 = PKCS12_create_ex(pass, it->name, it->key, it->cert,
		    nc > 0 ? ca : NULL, nid, nid, iter, -1, 0, NULL, NULL);
		if (p12 == NULL || !PKCS12_set_mac(p12, pass, -1, NULL, 0,
		    iter, modern ? EVP_sha256() : EVP_sha1()) ||
		    (len = i2d_PKCS12(p12, &der)) <= 0) {
			rc = err_set_ossl(err, ERR_CRYPTO, "line %lu: cannot "
			    "make the PKCS#12 file", it->line);
		} else {
			buf_view(&b, der, (size_t)len);
			rc = files_add_named(out, p->stems[i], ".p12", &b, 1,
			    err);
		}
		if (der != NULL)
			OPENSSL_clear_free(der, (size_t)len);
		PKCS12_free(p12);
	}
	sk_X509_free(ca);
	if (rc == 0)
		rc = add_chain_files(o, out, 0, err);
	return rc;
}

/* Lowest and highest serial of the issued items, as hex. */
static int
serial_range(const struct pkg *p, char *lo, char *hi, size_t sz)
{
	const ASN1_INTEGER *min = NULL, *max = NULL, *s;
	size_t i, imin = 0, imax = 0;

	lo[0] = hi[0] = '\0';
	for (i = 0; i < p->n; i++) {
		if (p->stems[i] == NULL)
			continue;
		s = X509_get0_serialNumber(p->items[i].cert);
		if (min == NULL || ASN1_INTEGER_cmp(s, min) < 0) {
			min = s;
			imin = i;
		}
		if (max == NULL || ASN1_INTEGER_cmp(s, max) > 0) {
			max = s;
			imax = i;
		}
	}
	if (min == NULL)
		return 0;
	if (export_serial_hex(p->items[imin].cert, lo, sz) != 0 ||
	    export_serial_hex(p->items[imax].cert, hi, sz) != 0)
		return ERR_CRYPTO;
	return 0;
}

/* batch.txt: the plain-text summary inside an SMPB (see smpb.md). */
static int
batch_txt(const struct pkg *p, buf_t *b, err_t *err)
{
	char lo[128], hi[128], when[TIMEUTIL_STRLEN], *issuer;
	const struct export_opts *o = p->o;
	int n;
	char line[1024];

	if (serial_range(p, lo, hi, sizeof(lo)) != 0)
		return err_set_ossl(err, ERR_CRYPTO, "cannot read a serial");
	issuer = X509_NAME_oneline(X509_get_subject_name(o->issuer), NULL, 0);
	if (issuer == NULL)
		return err_set_ossl(err, ERR_NOMEM, "cannot read the issuer");
	timeutil_format(o->created, when);
	n = snprintf(line, sizeof(line),
	    "Airlock batch summary\r\n"
	    "batch: %s\r\n"
	    "profile: %s\r\n"
	    "created: %s\r\n"
	    "issuer: %s\r\n"
	    "chain: %s\r\n"
	    "keys: %s\r\n"
	    "requested: %zu\r\n"
	    "issued: %zu\r\n"
	    "failed: %zu\r\n"
	    "serial-lowest: %s\r\n"
	    "serial-highest: %s\r\n",
	    o->batch_name, o->profile != NULL ? o->profile : "",
	    when, issuer, export_chain_name(o->chain),
	    p->with_keys ? "generated by the appliance" : "held by the devices",
	    p->n, p->issued, p->n - p->issued, lo, hi);
	OPENSSL_free(issuer);
	if (n < 0 || (size_t)n >= sizeof(line))
		return err_set(err, ERR_LIMIT, "batch.txt: the batch summary "
		    "is too long");
	return buf_put(b, line, (size_t)n) == 0 ? 0 :
	    err_set(err, ERR_NOMEM, "out of memory");
}

/* CMS EnvelopedData, AES-256-CBC, RSA key transport, DER. */
static int
envelope(X509 *recipient, const buf_t *plain, buf_t *der, err_t *err)
{
	STACK_OF(X509) *r;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	unsigned char *p;
	int len, rc = 0;

	if ((r = sk_X509_new_null()) == NULL || !sk_X509_push(r, recipient) ||
	    (in = BIO_new_mem_buf(plain->data, (int)plain->len)) == NULL) {
		sk_X509_free(r);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if ((cms = CMS_encrypt(r, in, EVP_aes_256_cbc(), CMS_BINARY)) == NULL)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encrypt the SMPB "
		    "to the recipient");
	else if ((len = i2d_CMS_ContentInfo(cms, NULL)) <= 0)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode the SMPB");
	else if (buf_reserve(der, (size_t)len, &p) != 0)
		rc = err_set(err, ERR_LIMIT, "the SMPB is too large");
	else if (i2d_CMS_ContentInfo(cms, &p) != len)
		rc = err_set_ossl(err, ERR_CRYPTO, "cannot encode the SMPB");
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(r);
	return rc;
}

/* smpb: EnvelopedData over ZIP{certificates.zip, batch.txt}. */
static int
build_smpb(const struct pkg *p, struct export_files *out, err_t *err)
{
	struct export_files inner, outer;
	buf_t b, z, outerz, der;
	size_t i;
	int rc = 0;

	export_files_init(&inner);
	export_files_init(&outer);
	for (i = 0; i < p->n && rc == 0; i++) {
		if (p->stems[i] == NULL)
			continue;
		buf_init(&b, EXPORT_FILE_MAX);
		if ((rc = pki_cert_der(p->items[i].cert, &b, err)) == 0)
			rc = files_add_named(&inner, p->stems[i], ".cer", &b, 0,
			    err);
		buf_free(&b);
		if (rc != 0 || p->items[i].key == NULL)
			continue;
		buf_init(&b, EXPORT_FILE_MAX);
		buf_set_secret(&b);
		if ((rc = key_pem(p->items[i].key, &b, err)) == 0)
			rc = files_add_named(&inner, p->stems[i], ".key", &b, 1,
			    err);
		buf_free(&b);
	}
	if (rc == 0)
		rc = add_chain_files(p->o, &inner, 1, err);
	buf_init(&z, EXPORT_FILE_MAX);
	buf_set_secret(&z);
	if (rc == 0)
		rc = zip_pack(&inner, p->o->created, &z, err);
	export_files_free(&inner);
	if (rc == 0)
		rc = export_files_add(&outer, "certificates.zip", z.data, z.len,
		    p->with_keys, err);
	buf_free(&z);
	buf_init(&b, 64 * 1024);
	if (rc == 0 && (rc = batch_txt(p, &b, err)) == 0)
		rc = export_files_add(&outer, "batch.txt", b.data, b.len, 0,
		    err);
	buf_free(&b);
	buf_init(&outerz, EXPORT_FILE_MAX);
	buf_set_secret(&outerz);
	if (rc == 0)
		rc = zip_pack(&outer, p->o->created, &outerz, err);
	export_files_free(&outer);
	buf_init(&der, EXPORT_FILE_MAX);
	if (rc == 0 && (rc = envelope(p->o->recipient, &outerz, &der,
	    err)) == 0)
		rc = export_files_add(out, "batch.smpb", der.data, der.len, 1,
		    err);
	buf_free(&outerz);
	buf_free(&der);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Checks and the entry point */

static int
stem_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcasecmp(*x, *y);
}

/* Names in the container that device files must not take. */
static const char *const reserved[] = {
	"issuer", "root", "batch", "results", "certificates", "MANIFEST",
};

/* Derives the file-name stems and refuses unsafe or duplicate ones. */
static int
package_stems(struct pkg *p, err_t *err)
{
	char stem[EXPORT_NAME_MAX + 1];
	char **sorted;
	size_t i, k, m = 0;
	int rc = 0;

	if ((p->stems = calloc(p->n > 0 ? p->n : 1, sizeof(char *))) == NULL ||
	    (sorted = calloc(p->n > 0 ? p->n : 1, sizeof(char *))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (i = 0; i < p->n && rc == 0; i++) {
		if (!p->items[i].issued)
			continue;
		if ((rc = export_item_filename(p->items[i].name, stem,
		    sizeof(stem), err)) != 0) {
			err_prefix(err, "line %lu", p->items[i].line);
			break;
		}
		for (k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
			if (strcasecmp(stem, reserved[k]) == 0)
				rc = err_set(err, ERR_INVALID, "line %lu: name "
				    "'%s' is reserved for a chain or batch "
				    "file", p->items[i].line, stem);
		if (rc == 0 && (p->stems[i] = strdup(stem)) == NULL)
			rc = err_set(err, ERR_NOMEM, "out of memory");
		if (rc == 0)
			sorted[m++] = p->stems[i];
	}
	if (rc == 0 && m > 1) {
		qsort(sorted, m, sizeof(*sorted), stem_cmp);
		for (i = 1; i < m && rc == 0; i++)
			if (strcasecmp(sorted[i - 1], sorted[i]) == 0)
				rc = err_set(err, ERR_INVALID, "two devices "
				    "would have the file name '%s' (names "
				    "are compared after ':' becomes '-' and "
				    "ignoring case)", sorted[i]);
	}
	p->issued = m;
	free(sorted);
	return rc;
}

static int
package_check(const struct export_opts *o, struct pkg *p, err_t *err)
{
	size_t i;
	int fmt_keys = o->format == EXPORT_FMT_SMPB ||
	    o->format == EXPORT_FMT_PKCS12;

	if (o->issuer == NULL)
		return err_set(err, ERR_INVALID, "the issuing CA certificate "
		    "is missing");
	if (strcmp(export_format_name(o->format), "?") == 0)
		return err_set(err, ERR_INVALID, "unknown export format %d",
		    (int)o->format);
	if (strcmp(export_chain_name(o->chain), "?") == 0)
		return err_set(err, ERR_INVALID, "unknown chain option %d",
		    (int)o->chain);
	if (o->chain == EXPORT_CHAIN_WITH_ROOT_AND_INTERMEDIATE &&
	    o->root == NULL)
		return err_set(err, ERR_INVALID, "chain option "
		    "with-root-and-intermediate needs the root certificate");
	if (o->batch_name == NULL || !text_clean(o->batch_name) ||
	    strlen(o->batch_name) > 256)
		return err_set(err, ERR_INVALID, "the batch name is missing, "
		    "too long or holds control characters");
	if (o->profile != NULL && !text_clean(o->profile))
		return err_set(err, ERR_INVALID, "the profile name holds "
		    "control characters");
	for (i = 0; i < p->n; i++) {
		const struct export_item *it = &p->items[i];

		if (!it->issued)
			continue;
		if (it->cert == NULL)
			return err_set(err, ERR_INVALID, "line %lu is marked "
			    "issued but has no certificate", it->line);
		if (it->key != NULL) {
			if (!fmt_keys)
				return err_set(err, ERR_POLICY, "line %lu: the "
				    "appliance generated this device's key, "
				    "so only the smpb and pkcs12 formats may "
				    "carry it; %s would leave it unencrypted",
				    it->line, export_format_name(o->format));
			if (X509_check_private_key(it->cert, it->key) != 1)
				return err_set_ossl(err, ERR_INVALID, "line "
				    "%lu: the key does not match the "
				    "certificate", it->line);
			p->with_keys = 1;
		} else if (o->format == EXPORT_FMT_PKCS12)
			return err_set(err, ERR_POLICY, "line %lu: pkcs12 "
			    "needs the device key, and the device holds it "
			    "(the request was a CSR); choose another format",
			    it->line);
	}
	if (o->format == EXPORT_FMT_PKCS12) {
		const secret_t *pw = o->p12_password;

		if (o->p12_profile != EXPORT_P12_MODERN &&
		    o->p12_profile != EXPORT_P12_COMPAT)
			return err_set(err, ERR_INVALID, "unknown PKCS#12 "
			    "profile %d", (int)o->p12_profile);
		if (pw == NULL || pw->data == NULL || pw->len == 0)
			return err_set(err, ERR_POLICY, "pkcs12 needs a "
			    "password, and none was given");
		if (pw->len < EXPORT_P12_PASSWORD_MIN)
			return err_set(err, ERR_POLICY, "the PKCS#12 password "
			    "has %zu characters; at least %d are required",
			    pw->len, EXPORT_P12_PASSWORD_MIN);
		if (memchr(pw->data, '\0', pw->len) != NULL ||
		    !text_utf8_valid(pw->data, pw->len, NULL))
			return err_set(err, ERR_INVALID, "the PKCS#12 password "
			    "must be UTF-8 text without NUL bytes");
	}
	if (o->format == EXPORT_FMT_SMPB) {
		EVP_PKEY *pk;

		if (o->recipient == NULL)
			return err_set(err, ERR_INVALID, "smpb needs the "
			    "recipient certificate named in the bundle, and "
			    "there is none");
		pk = X509_get0_pubkey(o->recipient);
		if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA"))
			return err_set(err, ERR_POLICY, "the SMPB recipient "
			    "certificate must hold an RSA key");
		if ((X509_get_extension_flags(o->recipient) & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(o->recipient) & KU_KEY_ENCIPHERMENT))
			return err_set(err, ERR_POLICY, "the SMPB recipient "
			    "certificate does not allow keyEncipherment");
	}
	return 0;
}

/* Appends the results log, which is never secret. */
static int
add_log(const struct export_opts *o, const struct export_item *items,
    size_t n, struct export_files *out, err_t *err)
{
	buf_t b;
	int rc;

	if (o->log == EXPORT_LOG_NONE)
		return 0;
	if (o->log != EXPORT_LOG_CSV && o->log != EXPORT_LOG_JSON)
		return err_set(err, ERR_INVALID, "unknown results log format");
	buf_init(&b, EXPORT_FILE_MAX);
	rc = o->log == EXPORT_LOG_CSV ? export_results_csv(items, n, &b, err) :
	    export_results_json(items, n, &b, err);
	if (rc == 0)
		rc = export_files_add(out, export_log_filename(o->log), b.data,
		    b.len, 0, err);
	buf_free(&b);
	return rc;
}

int
export_package(const struct export_opts *o, const struct export_item *items,
    size_t n, struct export_files *out, err_t *err)
{
	struct pkg p;
	int rc;

	if (o == NULL || out == NULL || (items == NULL && n > 0))
		return err_set(err, ERR_INVALID, "export_package: no input");
	if (out->n != 0)
		return err_set(err, ERR_INTERNAL, "export_package: the output "
		    "list is not empty");
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.items = items;
	p.n = n;
	if ((rc = package_check(o, &p, err)) == 0 &&
	    (rc = package_stems(&p, err)) == 0) {
		switch (o->format) {
		case EXPORT_FMT_PEM_ZIP:
			rc = build_zip(&p, 0, out, err);
			break;
		case EXPORT_FMT_DER_ZIP:
			rc = build_zip(&p, 1, out, err);
			break;
		case EXPORT_FMT_PEM_JSON:
			rc = build_pem_json(&p, out, err);
			break;
		case EXPORT_FMT_PKCS7:
			rc = build_pkcs7(&p, out, err);
			break;
		case EXPORT_FMT_PKCS12:
			rc = build_pkcs12(&p, out, err);
			break;
		case EXPORT_FMT_SMPB:
			rc = build_smpb(&p, out, err);
			break;
		}
		if (rc == 0)
			rc = add_log(o, items, n, out, err);
	}
	if (p.stems != NULL)
		for (size_t i = 0; i < n; i++)
			free(p.stems[i]);
	free(p.stems);
	if (rc != 0)
		export_files_free(out);
	return rc;
}
