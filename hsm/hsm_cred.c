/* hsm_cred.c: see hsm_cred.h. */
#include <stdint.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "hsm/hsm_cred.h"
#include "hsm/hsm_pin.h"
#include "util/buf.h"
#include "util/fileio.h"

static int
hsm_cred_pass_cb(char *buf, int size, int rwflag, void *u)
{
	const secret_t *pass = u;

	(void)rwflag;
	if (pass == NULL || size < 0 || pass->len >= (size_t)size)
		return -1;
	memcpy(buf, pass->data, pass->len);
	return (int)pass->len;
}

int
hsm_cred_open_file(const char *path, const secret_t *pass,
    const char *pass_source, const char *what, struct hsm_cred *out,
    err_t *err)
{
	static const char marker[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
	secret_t *read = NULL;
	BIO *bio = NULL;
	buf_t b;
	int r;

	memset(out, 0, sizeof(*out));
	buf_init(&b, HSM_CRED_FILE_MAX);
	buf_set_secret(&b);
	if ((r = fileio_read(path, HSM_CRED_FILE_MAX, &b, err)) != 0)
		goto out;
	if (b.len < sizeof(marker) - 1 || memmem(b.data, b.len, marker,
	    sizeof(marker) - 1) == NULL) {
		r = err_set(err, ERR_POLICY, "%s is not a passphrase-protected "
		    "PKCS#8 key (expected '%s'); protect it with 'openssl pkcs8 "
		    "-topk8 -v2 aes-256-cbc'", path, marker);
		goto out;
	}
	if (pass == NULL && pass_source != NULL) {
		if ((r = secret_new(&read)) != 0) {
			r = err_set(err, r, "cannot allocate locked memory");
			goto out;
		}
		if ((r = hsm_pin_read(pass_source, what ? what : path, read,
		    err)) != 0)
			goto out;
		pass = read;
	}
	if (pass == NULL || pass->len == 0) {
		r = err_set(err, ERR_INVALID, "%s needs its passphrase", path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL ||
	    (out->key = PEM_read_bio_PrivateKey(bio, NULL, hsm_cred_pass_cb,
	    (void *)(uintptr_t)pass)) == NULL) {
		ERR_clear_error();
		r = err_set(err, ERR_AUTH, "wrong passphrase for %s, or the "
		    "file is damaged", path);
		goto out;
	}
	r = 0;
out:
	BIO_free(bio);
	secret_free(read);
	buf_free(&b);
	return r;
}

int
hsm_cred_open_token(const char *uri, const char *module,
    const secret_t *pin, struct hsm_cred *out, err_t *err)
{
	struct hsm_uri u;
	const char *mod;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = hsm_uri_parse(uri, &u, err)) != 0)
		return err_prefix(err, "key URI");
	if (u.token[0] == '\0' && u.serial[0] == '\0')
		return err_set(err, ERR_INVALID, "the key URI names no token: "
		    "give token= (its label) or serial=");
	if (u.object[0] == '\0' && u.id_len == 0)
		return err_set(err, ERR_INVALID, "the key URI names no key: "
		    "give object= (its label) or id=");
	if (u.type != HSM_URI_TYPE_NONE && u.type != HSM_URI_TYPE_PRIVATE)
		return err_set(err, ERR_INVALID, "the key URI must name a "
		    "private key (type=private)");
	mod = module != NULL ? module : u.module_path[0] ? u.module_path : NULL;
	if (mod == NULL)
		return err_set(err, ERR_INVALID, "no PKCS#11 module: give "
		    "--module PATH or module-path= in the URI");
	if ((r = hsm_pool_open(mod, &u, 1, pin, &out->pool, err)) == 0 &&
	    (r = hsm_find_key(out->pool, &u, &out->hk, err)) == 0 &&
	    (out->key = hsm_key_signer(out->hk)) == NULL)
		r = err_set_ossl(err, ERR_CRYPTO, "cannot make a signer for "
		    "the key on the token");
	if (r != 0)
		hsm_cred_close(out);
	return r;
}

void
hsm_cred_close(struct hsm_cred *c)
{
	/* The HSM's order: the signer, then the key, then the pool. */
	EVP_PKEY_free(c->key);
	hsm_key_free(c->hk);
	hsm_pool_close(c->pool);
	memset(c, 0, sizeof(*c));
}
