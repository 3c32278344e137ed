/* helper_p11.c: PKCS#11 operations inside airlock-hsm (see helper_p11.h). */
#include "hsm/helper_p11.h"
#include "hsm/hsm.h"
#include "hsm/hsm_proto.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libp11.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit-1/p11-kit/pkcs11.h>

/* Enough for an 8192-bit modulus or any EC point we support. */
#define P11_ATTR_MAX 1024
/* The CKA_ID of a generated key: random, so labels can be reused safely. */
#define P11_ID_LEN 16

struct hp11 {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;
	void *dl;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	int have_session;
	int logged_in;
	struct hp11_token tok;
	/* The last private key used, so repeated signing skips the search. */
	int cache_valid;
	char cache_label[129];
	unsigned char cache_id[64];
	size_t cache_id_len;
	CK_OBJECT_HANDLE cache_h;
	CK_KEY_TYPE cache_type;
};

static const struct {
	CK_RV rv;
	const char *name;
} p11_rv_names[] = {
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
	{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
	{ CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID" },
	{ CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE" },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
};

/* Records a failed PKCS#11 call as ERR_HSM naming the call and the code. */
static int
p11_fail(err_t *err, const struct hp11 *h, const char *call, CK_RV rv)
{
	const char *name = NULL;
	size_t i;

	for (i = 0; i < sizeof(p11_rv_names) / sizeof(p11_rv_names[0]); i++)
		if (p11_rv_names[i].rv == rv)
			name = p11_rv_names[i].name;
	if (rv == CKR_USER_NOT_LOGGED_IN)
		return err_set(err, ERR_AUTH, "%s on token '%s' needs a login; "
		    "give the user PIN", call, h->tok.label);
	return err_set(err, ERR_HSM, "%s failed on token '%s': %s (0x%lx)",
	    call, h->tok.label, name ? name : "PKCS#11 error",
	    (unsigned long)rv);
}

/* Copies a libp11 string (already without padding) into a fixed field. */
static void
p11_copy(char *dst, size_t dstsz, const char *src)
{
	(void)snprintf(dst, dstsz, "%s", src ? src : "");
}

static int
p11_token_matches(const PKCS11_TOKEN *t, const struct hp11_token *w)
{
	if (w->label[0] && strcmp(w->label, t->label ? t->label : "") != 0)
		return 0;
	if (w->serial[0] && strcmp(w->serial, t->serialnr ? t->serialnr : "")
	    != 0)
		return 0;
	if (w->manufacturer[0] && strcmp(w->manufacturer,
	    t->manufacturer ? t->manufacturer : "") != 0)
		return 0;
	if (w->model[0] && strcmp(w->model, t->model ? t->model : "") != 0)
		return 0;
	return 1;
}

/* "'A' (serial 1), 'B' (serial 2)" for messages about missing tokens. */
static void
p11_list_tokens(const struct hp11 *h, char *out, size_t outsz)
{
	size_t o = 0;
	unsigned int i;
	int n;

	out[0] = '\0';
	for (i = 0; i < h->nslots; i++) {
		const PKCS11_TOKEN *t = h->slots[i].token;

		if (t == NULL || !t->initialized)
			continue;
		n = snprintf(out + o, outsz - o, "%s'%s' (serial %s)",
		    o ? ", " : "", t->label, t->serialnr);
		if (n < 0 || (size_t)n >= outsz - o)
			break;
		o += (size_t)n;
	}
	if (o == 0)
		(void)snprintf(out, outsz, "none");
}

/* The CK_RV libp11 left on the OpenSSL error queue, or CKR_OK. */
static CK_RV
p11_last_ckr(void)
{
	unsigned long e, rv = CKR_OK;
	int lib = ERR_get_CKR_code();

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_LIB(e) == lib)
			rv = (unsigned long)ERR_GET_REASON(e);
	return rv;
}

static int
p11_login(struct hp11 *h, const char *pin, err_t *err)
{
	const PKCS11_TOKEN *t = h->slot->token;
	CK_RV rv;

	if (t->userPinLocked)
		return err_set(err, ERR_AUTH, "the user PIN of token '%s' is "
		    "locked; the security officer must unlock it",
		    h->tok.label);
	ERR_clear_error();
	if (PKCS11_open_session(h->slot, 1) != 0)
		return err_set(err, ERR_HSM, "cannot open a session on token "
		    "'%s'", h->tok.label);
	if (PKCS11_login(h->slot, 0, pin) == 0) {
		h->logged_in = 1;
		return 0;
	}
	rv = p11_last_ckr();
	if (rv == CKR_PIN_INCORRECT)
		return err_set(err, ERR_AUTH, HSM_WRONG_PIN " '%s'",
		    h->tok.label);
	if (rv == CKR_PIN_LOCKED)
		return err_set(err, ERR_AUTH, "the user PIN of token '%s' is "
		    "locked; the security officer must unlock it",
		    h->tok.label);
	if (rv == CKR_PIN_LEN_RANGE)
		return err_set(err, ERR_AUTH, HSM_WRONG_PIN " '%s' (its "
		    "length is outside what the token accepts)", h->tok.label);
	return p11_fail(err, h, "login", rv);
}

/* Gets the module's function list from the copy libp11 already loaded. */
static int
p11_function_list(struct hp11 *h, const char *module, err_t *err)
{
	CK_RV (*get)(CK_FUNCTION_LIST **);
	void *sym;
	CK_RV rv;

	h->dl = dlopen(module, RTLD_NOW | RTLD_NOLOAD);
	if (h->dl == NULL)
		return err_set(err, ERR_HSM, "PKCS#11 module %s is not loaded "
		    "after libp11 loaded it", module);
	sym = dlsym(h->dl, "C_GetFunctionList");
	if (sym == NULL)
		return err_set(err, ERR_HSM, "PKCS#11 module %s has no "
		    "C_GetFunctionList", module);
	/* POSIX guarantees dlsym results convert to function pointers. */
	memcpy(&get, &sym, sizeof(get));
	if ((rv = get(&h->f)) != CKR_OK || h->f == NULL)
		return err_set(err, ERR_HSM, "C_GetFunctionList of %s failed "
		    "(0x%lx)", module, (unsigned long)rv);
	return 0;
}

int
hp11_open(const char *module, const struct hp11_token *want, const char *pin,
    struct hp11 **out, struct hp11_token *info, err_t *err)
{
	struct hp11 *h;
	char list[600];
	unsigned int i, matches = 0;
	CK_SLOT_ID sid;
	CK_RV rv;
	int r;

	*out = NULL;
	if (want->label[0] == '\0' && want->serial[0] == '\0')
		return err_set(err, ERR_INVALID, "the token must be named by "
		    "label (token=) or serial (serial=)");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((h->ctx = PKCS11_CTX_new()) == NULL) {
		free(h);
		return err_set(err, ERR_NOMEM, "cannot create a libp11 context");
	}
	if (PKCS11_CTX_load(h->ctx, module) != 0) {
		PKCS11_CTX_free(h->ctx);
		free(h);
		ERR_clear_error();
		return err_set(err, ERR_HSM, "cannot load PKCS#11 module %s",
		    module);
	}
	if (PKCS11_enumerate_slots(h->ctx, &h->slots, &h->nslots) != 0) {
		r = err_set(err, ERR_HSM, "cannot list the slots of PKCS#11 "
		    "module %s", module);
		goto fail;
	}
	for (i = 0; i < h->nslots; i++) {
		const PKCS11_TOKEN *t = h->slots[i].token;

		if (t == NULL || !t->initialized || !p11_token_matches(t, want))
			continue;
		matches++;
		h->slot = &h->slots[i];
	}
	if (matches != 1) {
		p11_list_tokens(h, list, sizeof(list));
		r = err_set(err, matches ? ERR_INVALID : ERR_NOTFOUND,
		    "%s token%s%s%s%s%s in %s; tokens present: %s",
		    matches ? "more than one" : "no",
		    want->label[0] ? " labelled '" : "", want->label,
		    want->label[0] ? "'" : "",
		    want->serial[0] ? " with serial " : "", want->serial,
		    module, list);
		goto fail;
	}
	p11_copy(h->tok.label, sizeof(h->tok.label), h->slot->token->label);
	p11_copy(h->tok.serial, sizeof(h->tok.serial),
	    h->slot->token->serialnr);
	p11_copy(h->tok.manufacturer, sizeof(h->tok.manufacturer),
	    h->slot->token->manufacturer);
	p11_copy(h->tok.model, sizeof(h->tok.model), h->slot->token->model);
	if (pin != NULL && (r = p11_login(h, pin, err)) != 0)
		goto fail;
	if ((r = p11_function_list(h, module, err)) != 0)
		goto fail;
	sid = PKCS11_get_slotid_from_slot(h->slot);
	rv = h->f->C_OpenSession(sid, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &h->s);
	if (rv == CKR_TOKEN_WRITE_PROTECTED && pin == NULL)
		rv = h->f->C_OpenSession(sid, CKF_SERIAL_SESSION, NULL, NULL,
		    &h->s);
	if (rv != CKR_OK) {
		r = p11_fail(err, h, "C_OpenSession", rv);
		goto fail;
	}
	h->have_session = 1;
	*info = h->tok;
	*out = h;
	return 0;
fail:
	hp11_close(h);
	return r;
}

void
hp11_close(struct hp11 *h)
{
	if (h == NULL)
		return;
	if (h->have_session)
		(void)h->f->C_CloseSession(h->s);
	if (h->logged_in)
		(void)PKCS11_logout(h->slot);
	if (h->slots != NULL)
		PKCS11_release_all_slots(h->ctx, h->slots, h->nslots);
	if (h->dl != NULL)
		(void)dlclose(h->dl);
	PKCS11_CTX_unload(h->ctx);
	PKCS11_CTX_free(h->ctx);
	ERR_clear_error();
	free(h);
}

int
hp11_logged_in(const struct hp11 *h)
{
	return h->logged_in;
}

int
hp11_set_pin(struct hp11 *h, const char *old, const char *new_pin,
    err_t *err)
{
	CK_RV rv;

	/*
	 * Logged in or not, C_SetPIN changes the user's PIN and checks the
	 * old one, so a session cannot change a PIN it was not told.
	 */
	rv = h->f->C_SetPIN(h->s, (CK_UTF8CHAR_PTR)(uintptr_t)old,
	    strlen(old), (CK_UTF8CHAR_PTR)(uintptr_t)new_pin, strlen(new_pin));
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED)
		return err_set(err, ERR_AUTH, "token '%s' refused the current "
		    "PIN (%s)", h->tok.label, rv == CKR_PIN_LOCKED ? "locked" :
		    "wrong PIN");
	if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
		return err_set(err, ERR_INVALID, "token '%s' does not accept "
		    "the new PIN's length or characters", h->tok.label);
	if (rv != CKR_OK)
		return p11_fail(err, h, "C_SetPIN", rv);
	return 0;
}

int
hp11_random(struct hp11 *h, unsigned char *out, size_t n, err_t *err)
{
	CK_RV rv;

	if (n == 0 || n > HSM_PROTO_RANDOM_MAX)
		return err_set(err, ERR_INVALID, "random request of %zu bytes "
		    "is outside 1..%u", n, HSM_PROTO_RANDOM_MAX);
	if ((rv = h->f->C_GenerateRandom(h->s, out, n)) != CKR_OK)
		return p11_fail(err, h, "C_GenerateRandom", rv);
	return 0;
}

/*
 * Finds up to max objects matching class (when cls != 0), label and id
 * (each when present); *n is how many were found, capped at max.
 */
static int
p11_find_objects(struct hp11 *h, CK_OBJECT_CLASS cls, const char *label,
    const unsigned char *id, size_t id_len, CK_OBJECT_HANDLE *objs,
    CK_ULONG max, CK_ULONG *n, err_t *err)
{
	CK_ATTRIBUTE t[3];
	CK_ULONG nt = 0;
	CK_RV rv;

	if (cls != 0) {
		t[nt].type = CKA_CLASS;
		t[nt].pValue = &cls;
		t[nt++].ulValueLen = sizeof(cls);
	}
	if (label != NULL && label[0] != '\0') {
		t[nt].type = CKA_LABEL;
		t[nt].pValue = (void *)(uintptr_t)label;
		t[nt++].ulValueLen = strlen(label);
	}
	if (id_len > 0) {
		t[nt].type = CKA_ID;
		t[nt].pValue = (void *)(uintptr_t)id;
		t[nt++].ulValueLen = id_len;
	}
	if ((rv = h->f->C_FindObjectsInit(h->s, t, nt)) != CKR_OK)
		return p11_fail(err, h, "C_FindObjectsInit", rv);
	rv = h->f->C_FindObjects(h->s, objs, max, n);
	(void)h->f->C_FindObjectsFinal(h->s);
	if (rv != CKR_OK)
		return p11_fail(err, h, "C_FindObjects", rv);
	return 0;
}

/* Reads one attribute into buf (at most max bytes); *len gets its size. */
static int
p11_get_attr(struct hp11 *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    void *buf, size_t max, size_t *len, const char *what, err_t *err)
{
	CK_ATTRIBUTE a = { type, buf, max };
	CK_RV rv;

	rv = h->f->C_GetAttributeValue(h->s, o, &a, 1);
	if (rv == CKR_BUFFER_TOO_SMALL ||
	    (rv == CKR_OK && a.ulValueLen > max))
		return err_set(err, ERR_LIMIT, "attribute %s on token '%s' is "
		    "longer than %zu bytes", what, h->tok.label, max);
	if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return p11_fail(err, h, what, rv != CKR_OK ? rv :
		    CKR_ATTRIBUTE_TYPE_INVALID);
	*len = a.ulValueLen;
	return 0;
}

/* Builds an RSA or EC public key from the attributes of object o. */
static int
p11_public_spki(struct hp11 *h, CK_OBJECT_HANDLE o, CK_KEY_TYPE kt,
    struct hp11_keyrec *rec, err_t *err)
{
	unsigned char a1[P11_ATTR_MAX], a2[P11_ATTR_MAX];
	size_t l1, l2;
	const unsigned char *p;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *os = NULL;
	const unsigned char *pt;
	size_t ptlen;
	unsigned char *der = NULL;
	int r = ERR_CRYPTO, nid, dlen;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if (kt == CKK_RSA) {
		if ((r = p11_get_attr(h, o, CKA_MODULUS, a1, sizeof(a1), &l1,
		    "CKA_MODULUS", err)) != 0 ||
		    (r = p11_get_attr(h, o, CKA_PUBLIC_EXPONENT, a2,
		    sizeof(a2), &l2, "CKA_PUBLIC_EXPONENT", err)) != 0)
			goto done;
		r = ERR_CRYPTO;
		if ((n = BN_bin2bn(a1, (int)l1, NULL)) == NULL ||
		    (e = BN_bin2bn(a2, (int)l2, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto crypto;
		rec->keytype = HSM_KEY_RSA;
	} else if (kt == CKK_EC) {
		if ((r = p11_get_attr(h, o, CKA_EC_PARAMS, a1, sizeof(a1), &l1,
		    "CKA_EC_PARAMS", err)) != 0 ||
		    (r = p11_get_attr(h, o, CKA_EC_POINT, a2, sizeof(a2), &l2,
		    "CKA_EC_POINT", err)) != 0)
			goto done;
		r = ERR_CRYPTO;
		p = a1;
		if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)l1)) == NULL ||
		    p != a1 + l1 || (nid = OBJ_obj2nid(oid)) == NID_undef) {
			r = err_set(err, ERR_HSM, "token '%s' returned EC "
			    "parameters that are not a named curve",
			    h->tok.label);
			goto done;
		}
		/*
		 * PKCS#11 says CKA_EC_POINT is a DER OCTET STRING; a few
		 * modules return the bare point, so accept both.
		 */
		p = a2;
		os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)l2);
		if (os != NULL && p == a2 + l2) {
			pt = ASN1_STRING_get0_data(os);
			ptlen = (size_t)ASN1_STRING_length(os);
		} else {
			pt = a2;
			ptlen = l2;
		}
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen))
			goto crypto;
		rec->keytype = HSM_KEY_EC;
	} else {
		r = err_set(err, ERR_HSM, "key on token '%s' is neither RSA "
		    "nor EC (CKA_KEY_TYPE 0x%lx)", h->tok.label,
		    (unsigned long)kt);
		goto done;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL,
	    kt == CKK_RSA ? "RSA" : "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (dlen = i2d_PUBKEY(pkey, &der)) <= 0)
		goto crypto;
	if ((size_t)dlen > HSM_PROTO_SPKI_MAX) {
		r = err_set(err, ERR_LIMIT, "public key is too large");
		goto done;
	}
	rec->spki = der;
	rec->spki_len = (size_t)dlen;
	der = NULL;
	r = 0;
	goto done;
crypto:
	r = err_set(err, ERR_HSM, "token '%s' returned a public key OpenSSL "
	    "cannot use", h->tok.label);
done:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	return r;
}

static int
p11_key_type(struct hp11 *h, CK_OBJECT_HANDLE o, CK_KEY_TYPE *kt, err_t *err)
{
	size_t len;
	int r;

	if ((r = p11_get_attr(h, o, CKA_KEY_TYPE, kt, sizeof(*kt), &len,
	    "CKA_KEY_TYPE", err)) != 0)
		return r;
	if (len != sizeof(*kt))
		return err_set(err, ERR_HSM, "token '%s' returned a malformed "
		    "CKA_KEY_TYPE", h->tok.label);
	return 0;
}

/* Fills rec from the key object o of class cls, and its public half. */
static int
p11_keyrec(struct hp11 *h, CK_OBJECT_HANDLE o, CK_OBJECT_CLASS cls,
    struct hp11_keyrec *rec, err_t *err)
{
	CK_OBJECT_HANDLE pub[2];
	CK_ULONG npub = 0;
	CK_KEY_TYPE kt;
	size_t len;
	int r;

	memset(rec, 0, sizeof(*rec));
	if ((r = p11_get_attr(h, o, CKA_LABEL, rec->label,
	    sizeof(rec->label) - 1, &len, "CKA_LABEL", err)) != 0)
		return r;
	rec->label[len] = '\0';
	if ((r = p11_get_attr(h, o, CKA_ID, rec->id, sizeof(rec->id),
	    &rec->id_len, "CKA_ID", err)) != 0)
		return r;
	if ((r = p11_key_type(h, o, &kt, err)) != 0)
		return r;
	/*
	 * The public point of an EC key is only on the public-key object, so
	 * prefer the public object with the same id and label.
	 */
	if (cls == CKO_PRIVATE_KEY && rec->id_len > 0) {
		if ((r = p11_find_objects(h, CKO_PUBLIC_KEY, rec->label,
		    rec->id, rec->id_len, pub, 2, &npub, err)) != 0)
			return r;
		if (npub == 1)
			o = pub[0];
	}
	if (cls == CKO_PRIVATE_KEY && npub != 1 && kt != CKK_RSA)
		return err_set(err, ERR_NOTFOUND, "token '%s' has no single "
		    "public key object for key '%s'", h->tok.label, rec->label);
	return p11_public_spki(h, o, kt, rec, err);
}

void
hp11_keyrec_clear(struct hp11_keyrec *r)
{
	OPENSSL_free(r->spki);
	memset(r, 0, sizeof(*r));
}

int
hp11_find(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int cls, struct hp11_keyrec *out, err_t *err)
{
	CK_OBJECT_CLASS c = cls == HSM_PROTO_CLASS_PUBLIC ? CKO_PUBLIC_KEY :
	    CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n;
	int r;

	memset(out, 0, sizeof(*out));
	if ((label == NULL || label[0] == '\0') && id_len == 0)
		return err_set(err, ERR_INVALID, "a key must be named by object "
		    "label (object=) or id (id=)");
	if ((r = p11_find_objects(h, c, label, id, id_len, objs, 2, &n,
	    err)) != 0)
		return r;
	if (n == 0)
		return err_set(err, ERR_NOTFOUND, "no %s key%s%s%s%s on token "
		    "'%s'%s", c == CKO_PUBLIC_KEY ? "public" : "private",
		    label && label[0] ? " labelled '" : "",
		    label ? label : "", label && label[0] ? "'" : "",
		    id_len ? " with the given id" : "", h->tok.label,
		    h->logged_in ? "" : " (not logged in: private keys are "
		    "invisible)");
	if (n > 1)
		return err_set(err, ERR_INVALID, "several %s keys on token '%s' "
		    "match; name the key by id", c == CKO_PUBLIC_KEY ?
		    "public" : "private", h->tok.label);
	return p11_keyrec(h, objs[0], c, out, err);
}

static int
p11_curve_oid(unsigned curve, unsigned char *der, size_t max, size_t *len,
    err_t *err)
{
	ASN1_OBJECT *o;
	unsigned char *p = der;
	int n;

	o = OBJ_nid2obj(curve == HSM_PROTO_CURVE_P256 ? NID_X9_62_prime256v1 :
	    NID_secp384r1);
	if (o == NULL || (n = i2d_ASN1_OBJECT(o, NULL)) <= 0 ||
	    (size_t)n > max || i2d_ASN1_OBJECT(o, &p) != n)
		return err_set(err, ERR_CRYPTO, "cannot encode the curve OID");
	*len = (size_t)n;
	return 0;
}

/* Appends one attribute; the template is sized for the longest list. */
#define P11_ATTR(t, v, l) do {						\
	if (nt >= sizeof(tpl) / sizeof(tpl[0]))				\
		return err_set(err, ERR_INTERNAL, "key template overflow");	\
	tpl[nt].type = (t); tpl[nt].pValue = (void *)(uintptr_t)(v);	\
	tpl[nt].ulValueLen = (l); nt++;					\
} while (0)

int
hp11_keygen(struct hp11 *h, int keytype, unsigned bits, unsigned curve,
    const char *label, unsigned usage, struct hp11_keyrec *out, err_t *err)
{
	static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static const unsigned char e65537[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_ATTRIBUTE tpl[32], *pubt, *privt;
	CK_ULONG nt = 0, npub, n;
	CK_OBJECT_HANDLE pub, priv, any[1];
	CK_ULONG mbits = bits;
	unsigned char id[P11_ID_LEN], oid[32];
	size_t oidlen = 0;
	const CK_BBOOL *sign = (usage & HSM_USAGE_SIGN) ? &yes : &no;
	const CK_BBOOL *dec = (usage & HSM_USAGE_DECRYPT) ? &yes : &no;
	const CK_BBOOL *der = (usage & HSM_USAGE_DERIVE) ? &yes : &no;
	CK_RV rv;
	int r;

	memset(out, 0, sizeof(*out));
	if (!h->logged_in)
		return err_set(err, ERR_AUTH, "generating a key on token '%s' "
		    "needs a login; give the user PIN", h->tok.label);
	if (label == NULL || label[0] == '\0' ||
	    strlen(label) > HSM_PROTO_LABEL_MAX)
		return err_set(err, ERR_INVALID, "a key label of 1..%u bytes is "
		    "required", HSM_PROTO_LABEL_MAX);
	/* Refuse any object with that label, not only keys: labels name. */
	if ((r = p11_find_objects(h, 0, label, NULL, 0, any, 1, &n, err)) != 0)
		return r;
	if (n > 0)
		return err_set(err, ERR_EXISTS, "an object labelled '%s' already "
		    "exists on token '%s'; choose another label", label,
		    h->tok.label);
	if ((r = hp11_random(h, id, sizeof(id), err)) != 0)
		return r;
	if (keytype == HSM_KEY_RSA) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
	} else if (keytype == HSM_KEY_EC) {
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		if ((r = p11_curve_oid(curve, oid, sizeof(oid), &oidlen,
		    err)) != 0)
			return r;
	} else {
		return err_set(err, ERR_INVALID, "unknown key type %d",
		    keytype);
	}
	pubt = tpl;
	P11_ATTR(CKA_TOKEN, &yes, sizeof(yes));
	P11_ATTR(CKA_PRIVATE, &no, sizeof(no));
	P11_ATTR(CKA_LABEL, label, strlen(label));
	P11_ATTR(CKA_ID, id, sizeof(id));
	P11_ATTR(CKA_VERIFY, sign, sizeof(*sign));
	P11_ATTR(CKA_WRAP, &no, sizeof(no));
	if (keytype == HSM_KEY_RSA) {
		P11_ATTR(CKA_MODULUS_BITS, &mbits, sizeof(mbits));
		P11_ATTR(CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
		P11_ATTR(CKA_ENCRYPT, dec, sizeof(*dec));
	} else {
		P11_ATTR(CKA_EC_PARAMS, oid, oidlen);
	}
	npub = nt;
	privt = tpl + nt;
	P11_ATTR(CKA_TOKEN, &yes, sizeof(yes));
	P11_ATTR(CKA_PRIVATE, &yes, sizeof(yes));
	P11_ATTR(CKA_SENSITIVE, &yes, sizeof(yes));
	P11_ATTR(CKA_EXTRACTABLE, &no, sizeof(no));
	P11_ATTR(CKA_LABEL, label, strlen(label));
	P11_ATTR(CKA_ID, id, sizeof(id));
	P11_ATTR(CKA_SIGN, sign, sizeof(*sign));
	/*
	 * Every usage is stated, never left to the module's defaults: SoftHSM
	 * would otherwise let a signing key decrypt and unwrap as well.
	 */
	P11_ATTR(CKA_UNWRAP, &no, sizeof(no));
	P11_ATTR(CKA_SIGN_RECOVER, &no, sizeof(no));
	if (keytype == HSM_KEY_RSA) {
		P11_ATTR(CKA_DECRYPT, dec, sizeof(*dec));
		P11_ATTR(CKA_DERIVE, &no, sizeof(no));
	} else {
		P11_ATTR(CKA_DECRYPT, &no, sizeof(no));
		P11_ATTR(CKA_DERIVE, der, sizeof(*der));
	}
	rv = h->f->C_GenerateKeyPair(h->s, &mech, pubt, npub, privt, nt - npub,
	    &pub, &priv);
	if (rv != CKR_OK)
		return p11_fail(err, h, "C_GenerateKeyPair", rv);
	return p11_keyrec(h, priv, CKO_PRIVATE_KEY, out, err);
}

/* Finds the private key by label/id, using the one-entry cache. */
static int
p11_private(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, CK_OBJECT_HANDLE *o, CK_KEY_TYPE *kt, err_t *err)
{
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n;
	int r;

	if (label == NULL)
		label = "";
	if (h->cache_valid && strcmp(h->cache_label, label) == 0 &&
	    h->cache_id_len == id_len &&
	    memcmp(h->cache_id, id, id_len) == 0) {
		*o = h->cache_h;
		*kt = h->cache_type;
		return 0;
	}
	if (label[0] == '\0' && id_len == 0)
		return err_set(err, ERR_INVALID, "a key must be named by label "
		    "or id");
	if (strlen(label) >= sizeof(h->cache_label) ||
	    id_len > sizeof(h->cache_id))
		return err_set(err, ERR_LIMIT, "key label or id too long");
	if ((r = p11_find_objects(h, CKO_PRIVATE_KEY, label, id, id_len, objs,
	    2, &n, err)) != 0)
		return r;
	if (n != 1)
		return err_set(err, n ? ERR_INVALID : ERR_NOTFOUND, "%s private "
		    "key '%s' on token '%s'", n ? "more than one" : "no",
		    label, h->tok.label);
	if ((r = p11_key_type(h, objs[0], kt, err)) != 0)
		return r;
	h->cache_valid = 1;
	memcpy(h->cache_label, label, strlen(label) + 1);
	if (id_len > 0)
		memcpy(h->cache_id, id, id_len);
	h->cache_id_len = id_len;
	h->cache_h = objs[0];
	h->cache_type = *kt;
	*o = objs[0];
	return 0;
}

int
hp11_sign(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int op, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen, size_t sigmax, err_t *err)
{
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_OBJECT_HANDLE o;
	CK_KEY_TYPE kt;
	CK_ULONG sl = sigmax;
	CK_RV rv;
	int r;

	if ((r = p11_private(h, label, id, id_len, &o, &kt, err)) != 0)
		return r;
	if (op == EXTKEY_RSA_PKCS1 && kt == CKK_RSA) {
		mech.mechanism = CKM_RSA_PKCS;
	} else if (op == EXTKEY_ECDSA && kt == CKK_EC) {
		mech.mechanism = CKM_ECDSA;
	} else {
		return err_set(err, ERR_INVALID, "signing operation %d does not "
		    "fit the type of key '%s'", op, label);
	}
	if (inlen == 0 || inlen > HSM_PROTO_SIGIN_MAX)
		return err_set(err, ERR_INVALID, "bad input length %zu to sign",
		    inlen);
	if ((rv = h->f->C_SignInit(h->s, &mech, o)) != CKR_OK) {
		/* A stale handle (key deleted and recreated) must not stick. */
		h->cache_valid = 0;
		return p11_fail(err, h, "C_SignInit", rv);
	}
	rv = h->f->C_Sign(h->s, (CK_BYTE *)(uintptr_t)in, inlen, sig, &sl);
	if (rv != CKR_OK)
		return p11_fail(err, h, "C_Sign", rv);
	if (sl > sigmax)
		return err_set(err, ERR_HSM, "token '%s' returned an over-long "
		    "signature", h->tok.label);
	*siglen = sl;
	return 0;
}

/* Reads a CK_BBOOL attribute of object o as 0 or 1. */
static int
p11_get_bool(struct hp11 *h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    int *v, const char *what, err_t *err)
{
	CK_BBOOL b = CK_FALSE;
	size_t len;
	int r;

	if ((r = p11_get_attr(h, o, type, &b, sizeof(b), &len, what,
	    err)) != 0)
		return r;
	if (len != sizeof(b))
		return err_set(err, ERR_HSM, "token '%s' returned a malformed "
		    "%s", h->tok.label, what);
	*v = b ? 1 : 0;
	return 0;
}

int
hp11_decrypt(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, int mech, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen, size_t outmax, err_t *err)
{
	CK_MECHANISM m = { 0, NULL, 0 };
	unsigned char mod[P11_ATTR_MAX];
	CK_BYTE plain[HSM_PROTO_PLAIN_MAX];
	CK_ULONG pl = sizeof(plain);
	CK_OBJECT_HANDLE o;
	CK_KEY_TYPE kt;
	size_t modlen;
	int r, can_decrypt, can_sign;
	CK_RV rv;

	*outlen = 0;
	if (mech == HSM_PROTO_DECRYPT_PKCS1)
		m.mechanism = CKM_RSA_PKCS;
	else if (mech == HSM_PROTO_DECRYPT_RAW)
		m.mechanism = CKM_RSA_X_509;
	else
		return err_set(err, ERR_INVALID, "decryption mechanism %d is "
		    "not CKM_RSA_PKCS or CKM_RSA_X_509", mech);
	if (inlen == 0 || inlen > HSM_PROTO_CIPHER_MAX)
		return err_set(err, ERR_INVALID, "ciphertext of %zu bytes is "
		    "outside 1..%u", inlen, HSM_PROTO_CIPHER_MAX);
	if ((r = p11_private(h, label, id, id_len, &o, &kt, err)) != 0)
		return r;
	if (kt != CKK_RSA)
		return err_set(err, ERR_INVALID, "key '%s' on token '%s' is not "
		    "an RSA key and cannot decrypt", label, h->tok.label);
	/*
	 * The token would refuse too, but we do not rely on a module's
	 * defaults: the key must say CKA_DECRYPT itself. A failed read may
	 * mean a stale handle, which must not stick in the cache.
	 */
	if ((r = p11_get_bool(h, o, CKA_DECRYPT, &can_decrypt, "CKA_DECRYPT",
	    err)) != 0 || (r = p11_get_bool(h, o, CKA_SIGN, &can_sign,
	    "CKA_SIGN", err)) != 0 || (r = p11_get_attr(h, o, CKA_MODULUS,
	    mod, sizeof(mod), &modlen, "CKA_MODULUS", err)) != 0) {
		h->cache_valid = 0;
		return r;
	}
	if (!can_decrypt)
		return err_set(err, ERR_POLICY, "key '%s' on token '%s' may not "
		    "decrypt (its CKA_DECRYPT is false)", label, h->tok.label);
	/*
	 * Raw decryption computes c^d mod n for any c, which is a signature
	 * on chosen bytes: never offer it for a key that is trusted to sign.
	 */
	if (mech == HSM_PROTO_DECRYPT_RAW && can_sign)
		return err_set(err, ERR_POLICY, "key '%s' on token '%s' may "
		    "sign, so it may not decrypt without padding "
		    "(CKM_RSA_X_509)", label, h->tok.label);
	/*
	 * A ciphertext is exactly modulus-sized; the modulus also bounds the
	 * plaintext, and it fits `plain`, so C_Decrypt never answers
	 * CKR_BUFFER_TOO_SMALL, which would leave the operation active.
	 */
	if (modlen == 0 || modlen > sizeof(plain))
		return err_set(err, ERR_LIMIT, "key '%s' on token '%s' has a "
		    "modulus of %zu bytes, outside 1..%zu", label,
		    h->tok.label, modlen, sizeof(plain));
	if (inlen != modlen)
		return err_set(err, ERR_INVALID, "ciphertext of %zu bytes does "
		    "not fit the %zu-byte modulus of key '%s'", inlen, modlen,
		    label);
	if ((rv = h->f->C_DecryptInit(h->s, &m, o)) != CKR_OK) {
		h->cache_valid = 0;
		return p11_fail(err, h, "C_DecryptInit", rv);
	}
	rv = h->f->C_Decrypt(h->s, (CK_BYTE *)(uintptr_t)in, inlen, plain,
	    &pl);
	if (rv != CKR_OK) {
		explicit_bzero(plain, sizeof(plain));
		return p11_fail(err, h, "C_Decrypt", rv);
	}
	if (pl > modlen || pl > outmax) {
		explicit_bzero(plain, sizeof(plain));
		return err_set(err, ERR_HSM, "token '%s' returned %lu bytes of "
		    "plaintext, more than the %zu allowed", h->tok.label,
		    (unsigned long)pl, outmax < modlen ? outmax : modlen);
	}
	memcpy(out, plain, pl);
	explicit_bzero(plain, sizeof(plain));
	*outlen = pl;
	return 0;
}

int
hp11_attrs(struct hp11 *h, const char *label, const unsigned char *id,
    size_t id_len, unsigned char out[HSM_PROTO_NATTRS], err_t *err)
{
	static const CK_ATTRIBUTE_TYPE types[HSM_PROTO_NATTRS] = {
		CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE,
		CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_SIGN, CKA_DECRYPT,
		CKA_DERIVE, CKA_UNWRAP
	};
	CK_BBOOL v[HSM_PROTO_NATTRS] = { 0 };
	CK_ATTRIBUTE a[HSM_PROTO_NATTRS];
	CK_OBJECT_HANDLE o;
	CK_KEY_TYPE kt;
	CK_RV rv;
	size_t i;
	int r;

	if ((r = p11_private(h, label, id, id_len, &o, &kt, err)) != 0)
		return r;
	for (i = 0; i < HSM_PROTO_NATTRS; i++) {
		a[i].type = types[i];
		a[i].pValue = &v[i];
		a[i].ulValueLen = sizeof(v[i]);
	}
	if ((rv = h->f->C_GetAttributeValue(h->s, o, a,
	    HSM_PROTO_NATTRS)) != CKR_OK) {
		h->cache_valid = 0;
		return p11_fail(err, h, "C_GetAttributeValue", rv);
	}
	for (i = 0; i < HSM_PROTO_NATTRS; i++) {
		if (a[i].ulValueLen != sizeof(CK_BBOOL))
			return err_set(err, ERR_HSM, "token '%s' returned a "
			    "malformed boolean attribute", h->tok.label);
		out[i] = v[i] ? 1 : 0;
	}
	return 0;
}

int
hp11_data_put(struct hp11 *h, const char *label, const unsigned char *value,
    size_t len, err_t *err)
{
	static const char app[] = "airlock";
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE o, found[1];
	CK_ULONG n = 0;
	CK_ATTRIBUTE t[7];
	CK_RV rv;
	int r;

	if (!h->logged_in)
		return err_set(err, ERR_AUTH, "storing a private object on "
		    "token '%s' needs a login", h->tok.label);
	if ((r = p11_find_objects(h, CKO_DATA, label, NULL, 0, found, 1, &n,
	    err)) != 0)
		return r;
	if (n > 0)
		return err_set(err, ERR_EXISTS, "token '%s' already holds a "
		    "data object labelled '%s'", h->tok.label, label);
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	t[2] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	t[3] = (CK_ATTRIBUTE){ CKA_MODIFIABLE, &no, sizeof(no) };
	t[4] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)(uintptr_t)label,
	    strlen(label) };
	t[5] = (CK_ATTRIBUTE){ CKA_APPLICATION, (void *)(uintptr_t)app,
	    strlen(app) };
	t[6] = (CK_ATTRIBUTE){ CKA_VALUE, (void *)(uintptr_t)value, len };
	if ((rv = h->f->C_CreateObject(h->s, t, 7, &o)) != CKR_OK)
		return p11_fail(err, h, "C_CreateObject", rv);
	return 0;
}

int
hp11_data_get(struct hp11 *h, const char *label, unsigned char *out,
    size_t max, size_t *len, err_t *err)
{
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	int r;

	if ((r = p11_find_objects(h, CKO_DATA, label, NULL, 0, found, 2, &n,
	    err)) != 0)
		return r;
	if (n == 0)
		return err_set(err, ERR_NOTFOUND, "token '%s' holds no data "
		    "object labelled '%s'%s", h->tok.label, label,
		    h->logged_in ? "" : " (not logged in)");
	if (n > 1)
		return err_set(err, ERR_INVALID, "token '%s' holds more than "
		    "one data object labelled '%s'", h->tok.label, label);
	return p11_get_attr(h, found[0], CKA_VALUE, out, max, len, "CKA_VALUE",
	    err);
}
