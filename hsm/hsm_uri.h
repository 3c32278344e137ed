/*
 * hsm_uri.h: strict, bounded PKCS#11 URIs (RFC 7512) naming tokens and keys.
 *
 * Only the attributes Airlock needs are accepted: path attributes token,
 * serial, manufacturer, model, object, id and type, and the query attribute
 * module-path. PINs never travel in URIs, so pin-value and pin-source are
 * refused with a message saying where PINs come from instead. Unknown or
 * duplicate attributes, bad percent-encoding, empty values and values longer
 * than the PKCS#11 fields they name are refused too.
 */
#ifndef AIRLOCK_HSM_HSM_URI_H
#define AIRLOCK_HSM_HSM_URI_H

#include <stddef.h>

#include "util/err.h"

/* Values of struct hsm_uri.type. */
#define HSM_URI_TYPE_NONE	0
#define HSM_URI_TYPE_PRIVATE	1
#define HSM_URI_TYPE_PUBLIC	2
#define HSM_URI_TYPE_CERT	3
#define HSM_URI_TYPE_SECRET_KEY	4
#define HSM_URI_TYPE_DATA	5

/* Longest URI text we parse or produce. */
#define HSM_URI_MAX 8192

/* A parsed URI; empty strings and id_len 0 mean "attribute absent". */
struct hsm_uri {
	char token[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
	char object[129];
	unsigned char id[64];
	size_t id_len;
	int type;
	char module_path[4096];
};

/* Zeroes u so that every attribute is absent. */
void hsm_uri_init(struct hsm_uri *u);

/* Parses s into out; 0, or ERR_INVALID / ERR_LIMIT with the reason in err. */
int hsm_uri_parse(const char *s, struct hsm_uri *out, err_t *err);

/* Formats u canonically into out; 0, or ERR_LIMIT when out is too small. */
int hsm_uri_format(const struct hsm_uri *u, char *out, size_t outsz);

/* "private", "public", ... for a HSM_URI_TYPE_*; NULL for NONE or unknown. */
const char *hsm_uri_type_name(int type);

#endif
