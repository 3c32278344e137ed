/* hsm_uri.c: strict PKCS#11 URI parser and formatter (see hsm_uri.h). */
#include "hsm/hsm_uri.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

#define URI_SCHEME "pkcs11:"

static const char *const uri_type_names[] = {
	NULL, "private", "public", "cert", "secret-key", "data"
};

void
hsm_uri_init(struct hsm_uri *u)
{
	memset(u, 0, sizeof(*u));
}

const char *
hsm_uri_type_name(int type)
{
	if (type <= HSM_URI_TYPE_NONE || type > HSM_URI_TYPE_DATA)
		return NULL;
	return uri_type_names[type];
}

/*
 * Characters RFC 7512 allows unencoded in a value: unreserved characters,
 * some sub-delims, ':' '@' '/' (query only for '/' and '?'), and '|'. The
 * separators ';', '&', '?' and '=' must always be encoded in values.
 */
static int
uri_plain_char(char c, int query)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	if (c != '\0' && strchr("-._~!$'()*+,:@|", c) != NULL)
		return 1;
	if (query && (c == '/' || c == '?'))
		return 1;
	return 0;
}

/*
 * Decodes value v (length n) into out (at most max bytes). Text values may
 * not contain control characters, and never a NUL byte, because PKCS#11
 * labels are compared as text.
 */
static int
uri_decode(const char *name, const char *v, size_t n, int query, int text,
    unsigned char *out, size_t max, size_t *outlen, err_t *err)
{
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	if (n == 0)
		return err_set(err, ERR_INVALID, "PKCS#11 URI attribute '%s' "
		    "has an empty value", name);
	for (i = 0; i < n; i++) {
		if (v[i] == '%') {
			if (n - i < 3 || (hi = buf_hexval((unsigned char)v[i + 1])) < 0 ||
			    (lo = buf_hexval((unsigned char)v[i + 2])) < 0)
				return err_set(err, ERR_INVALID, "PKCS#11 URI "
				    "attribute '%s' has a bad percent-encoding "
				    "(expected %%XX with two hex digits)",
				    name);
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (uri_plain_char(v[i], query)) {
			c = (unsigned char)v[i];
		} else {
			return err_set(err, ERR_INVALID, "PKCS#11 URI attribute "
			    "'%s' contains '%c', which must be "
			    "percent-encoded", name,
			    (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?');
		}
		if (text && (c < 0x20 || c == 0x7f))
			return err_set(err, ERR_INVALID, "PKCS#11 URI attribute "
			    "'%s' contains a control character", name);
		if (o >= max)
			return err_set(err, ERR_LIMIT, "PKCS#11 URI attribute "
			    "'%s' is longer than %zu bytes", name, max);
		out[o++] = c;
	}
	*outlen = o;
	return 0;
}

/* Decodes a text value into a NUL-terminated field of size fsz. */
static int
uri_text(const char *name, const char *v, size_t n, int query, char *field,
    size_t fsz, err_t *err)
{
	size_t len;
	int r;

	r = uri_decode(name, v, n, query, 1, (unsigned char *)field, fsz - 1,
	    &len, err);
	if (r != 0)
		return r;
	field[len] = '\0';
	return 0;
}

enum uri_attr {
	A_TOKEN, A_SERIAL, A_MANUFACTURER, A_MODEL, A_OBJECT, A_ID, A_TYPE,
	A_MODULE_PATH, A_COUNT
};

static const char *const uri_attr_names[A_COUNT] = {
	"token", "serial", "manufacturer", "model", "object", "id", "type",
	"module-path"
};

static int
uri_attr(const char *name, size_t n, int query, err_t *err)
{
	int i;

	for (i = 0; i < A_COUNT; i++) {
		if (strlen(uri_attr_names[i]) == n &&
		    memcmp(uri_attr_names[i], name, n) == 0 &&
		    (i == A_MODULE_PATH) == (query != 0))
			return i;
	}
	if ((n == 9 && memcmp(name, "pin-value", 9) == 0) ||
	    (n == 10 && memcmp(name, "pin-source", 10) == 0))
		return err_set(err, ERR_INVALID, "PKCS#11 URIs must not carry "
		    "a PIN ('%.*s'); PINs are entered at the prompt or given "
		    "with --pin fd:N or --pin file:PATH", (int)n, name);
	return err_set(err, ERR_INVALID, "unknown PKCS#11 URI %s attribute "
	    "'%.*s' (allowed: %s)", query ? "query" : "path",
	    (int)(n > 64 ? 64 : n), name, query ? "module-path" :
	    "token, serial, manufacturer, model, object, id, type");
}

static int
uri_set(struct hsm_uri *u, int a, const char *name, const char *v, size_t n,
    int query, err_t *err)
{
	char type[16];
	int i;

	switch (a) {
	case A_TOKEN:
		return uri_text(name, v, n, query, u->token,
		    sizeof(u->token), err);
	case A_SERIAL:
		return uri_text(name, v, n, query, u->serial,
		    sizeof(u->serial), err);
	case A_MANUFACTURER:
		return uri_text(name, v, n, query, u->manufacturer,
		    sizeof(u->manufacturer), err);
	case A_MODEL:
		return uri_text(name, v, n, query, u->model,
		    sizeof(u->model), err);
	case A_OBJECT:
		return uri_text(name, v, n, query, u->object,
		    sizeof(u->object), err);
	case A_ID:
		return uri_decode(name, v, n, query, 0, u->id,
		    sizeof(u->id), &u->id_len, err);
	case A_TYPE:
		if (uri_text(name, v, n, query, type, sizeof(type), err) != 0)
			return err_set(err, ERR_INVALID, "PKCS#11 URI type "
			    "must be one of private, public, cert, "
			    "secret-key, data");
		for (i = HSM_URI_TYPE_PRIVATE; i <= HSM_URI_TYPE_DATA; i++)
			if (strcmp(type, uri_type_names[i]) == 0) {
				u->type = i;
				return 0;
			}
		return err_set(err, ERR_INVALID, "PKCS#11 URI type '%s' is not "
		    "one of private, public, cert, secret-key, data", type);
	case A_MODULE_PATH:
		return uri_text(name, v, n, query, u->module_path,
		    sizeof(u->module_path), err);
	default:
		return err_set(err, ERR_INTERNAL, "bad URI attribute index");
	}
}

/* Parses the ';'- or '&'-separated list in s[0..n). */
static int
uri_parse_list(const char *s, size_t n, int query, struct hsm_uri *u,
    int seen[A_COUNT], err_t *err)
{
	const char sep = query ? '&' : ';';
	const char *p = s, *end = s + n;

	while (p < end) {
		const char *e, *eq;
		int a, r;

		e = memchr(p, sep, (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (e == p)
			return err_set(err, ERR_INVALID, "PKCS#11 URI has an "
			    "empty attribute (stray '%c')", sep);
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq == NULL || eq == p)
			return err_set(err, ERR_INVALID, "PKCS#11 URI attribute "
			    "'%.*s' is not of the form name=value",
			    (int)((e - p) > 64 ? 64 : (e - p)), p);
		if ((a = uri_attr(p, (size_t)(eq - p), query, err)) < 0)
			return a;
		if (seen[a])
			return err_set(err, ERR_INVALID, "PKCS#11 URI attribute "
			    "'%s' appears more than once", uri_attr_names[a]);
		seen[a] = 1;
		r = uri_set(u, a, uri_attr_names[a], eq + 1,
		    (size_t)(e - eq - 1), query, err);
		if (r != 0)
			return r;
		p = e + (e < end);
		if (e < end && p == end)
			return err_set(err, ERR_INVALID, "PKCS#11 URI ends with "
			    "a stray '%c'", sep);
	}
	return 0;
}

int
hsm_uri_parse(const char *s, struct hsm_uri *out, err_t *err)
{
	int seen[A_COUNT] = { 0 };
	const char *path, *q;
	size_t len;
	int r;

	hsm_uri_init(out);
	if (s == NULL || *s == '\0')
		return err_set(err, ERR_INVALID, "empty PKCS#11 URI");
	len = strnlen(s, HSM_URI_MAX + 1);
	if (len > HSM_URI_MAX)
		return err_set(err, ERR_LIMIT, "PKCS#11 URI is longer than %d "
		    "characters", HSM_URI_MAX);
	if (len < strlen(URI_SCHEME) ||
	    strncmp(s, URI_SCHEME, strlen(URI_SCHEME)) != 0)
		return err_set(err, ERR_INVALID, "'%.32s%s' is not a PKCS#11 "
		    "URI (it must start with \"pkcs11:\")", s,
		    len > 32 ? "..." : "");
	path = s + strlen(URI_SCHEME);
	q = strchr(path, '?');
	r = uri_parse_list(path, q ? (size_t)(q - path) : strlen(path), 0,
	    out, seen, err);
	if (r == 0 && q != NULL) {
		if (q[1] == '\0')
			r = err_set(err, ERR_INVALID, "PKCS#11 URI has an empty "
			    "query after '?'");
		else
			r = uri_parse_list(q + 1, strlen(q + 1), 1, out, seen,
			    err);
	}
	if (r != 0)
		hsm_uri_init(out);
	return r;
}

/* Appends name=value, percent-encoding bytes that are not plain. */
static int
uri_put(char *out, size_t outsz, size_t *o, const char *sepname,
    const unsigned char *v, size_t n, int query, int encode_all)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, l = strlen(sepname);

	if (l >= outsz - *o)
		return ERR_LIMIT;
	memcpy(out + *o, sepname, l);
	*o += l;
	for (i = 0; i < n; i++) {
		if (!encode_all && uri_plain_char((char)v[i], query)) {
			if (outsz - *o < 2)
				return ERR_LIMIT;
			out[(*o)++] = (char)v[i];
		} else {
			if (outsz - *o < 4)
				return ERR_LIMIT;
			out[(*o)++] = '%';
			out[(*o)++] = hex[v[i] >> 4];
			out[(*o)++] = hex[v[i] & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

int
hsm_uri_format(const struct hsm_uri *u, char *out, size_t outsz)
{
	const struct {
		const char *name;
		const char *v;
	} text[] = {
		{ "token=", u->token }, { "serial=", u->serial },
		{ "manufacturer=", u->manufacturer }, { "model=", u->model },
		{ "object=", u->object },
	};
	char sepname[32];
	const char *tn;
	size_t o, i;
	int first = 1, r;

	if (outsz < sizeof(URI_SCHEME))
		return ERR_LIMIT;
	memcpy(out, URI_SCHEME, sizeof(URI_SCHEME));
	o = strlen(URI_SCHEME);
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		if (text[i].v[0] == '\0')
			continue;
		(void)snprintf(sepname, sizeof(sepname), "%s%s",
		    first ? "" : ";", text[i].name);
		r = uri_put(out, outsz, &o, sepname,
		    (const unsigned char *)text[i].v, strlen(text[i].v), 0, 0);
		if (r != 0)
			return r;
		first = 0;
	}
	if (u->id_len > 0) {
		if (u->id_len > sizeof(u->id))
			return ERR_LIMIT;
		r = uri_put(out, outsz, &o, first ? "id=" : ";id=", u->id,
		    u->id_len, 0, 1);
		if (r != 0)
			return r;
		first = 0;
	}
	if ((tn = hsm_uri_type_name(u->type)) != NULL) {
		r = uri_put(out, outsz, &o, first ? "type=" : ";type=",
		    (const unsigned char *)tn, strlen(tn), 0, 0);
		if (r != 0)
			return r;
	}
	if (u->module_path[0] != '\0') {
		r = uri_put(out, outsz, &o, "?module-path=",
		    (const unsigned char *)u->module_path,
		    strlen(u->module_path), 1, 0);
		if (r != 0)
			return r;
	}
	return 0;
}
