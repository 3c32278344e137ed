/* oids.c: Airlock's private OIDs (see oids.h). */
#include "pki/oids.h"

#include <openssl/objects.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

struct oids_def {
	const char *dotted;
	const char *sn;
	const char *ln;
	const char *yaml;
};

static const struct oids_def oids_defs[OIDS_COUNT] = {
	{ OIDS_ARC ".1.1", "airlockOfficer", "Airlock key ceremony officer",
	    "airlock-officer" },
	{ OIDS_ARC ".1.2", "airlockOperator", "Airlock operator",
	    "airlock-operator" },
	{ OIDS_ARC ".1.3", "airlockAuditor", "Airlock auditor",
	    "airlock-auditor" },
	{ OIDS_ARC ".2.1", "airlockExport", "Airlock export manifest signing",
	    "airlock-export" },
	{ OIDS_ARC ".2.2", "airlockAudit", "Airlock audit checkpoint signing",
	    "airlock-audit" },
	{ OIDS_ARC ".2.3", "airlockTransport",
	    "Airlock transport bundle decryption", "airlock-transport" },
};

/* Standard EKUs a ceremony or profile may name; anything else is dotted. */
static const struct {
	const char *name;
	int nid;
} oids_std_eku[] = {
	{ "serverAuth", NID_server_auth },
	{ "clientAuth", NID_client_auth },
	{ "codeSigning", NID_code_sign },
	{ "emailProtection", NID_email_protect },
	{ "timeStamping", NID_time_stamp },
	{ "OCSPSigning", NID_OCSP_sign },
};

static pthread_once_t oids_once = PTHREAD_ONCE_INIT;
static int oids_nids[OIDS_COUNT];
static int oids_status = ERR_CRYPTO;

static void
oids_register(void)
{
	size_t i;

	for (i = 0; i < OIDS_COUNT; i++) {
		/*
		 * Another component (or an OpenSSL config file) may have
		 * created the object already; reuse it instead of creating
		 * a second NID for the same OID.
		 */
		int nid = OBJ_txt2nid(oids_defs[i].dotted);

		if (nid == NID_undef)
			nid = OBJ_create(oids_defs[i].dotted, oids_defs[i].sn,
			    oids_defs[i].ln);
		if (nid == NID_undef)
			return;
		oids_nids[i] = nid;
	}
	oids_status = 0;
}

int
oids_init(void)
{
	if (pthread_once(&oids_once, oids_register) != 0)
		return ERR_INTERNAL;
	return oids_status;
}

int
oids_nid(enum oids_id id)
{
	if ((unsigned)id >= OIDS_COUNT || oids_init() != 0)
		return NID_undef;
	return oids_nids[id];
}

const char *
oids_dotted(enum oids_id id)
{
	return (unsigned)id < OIDS_COUNT ? oids_defs[id].dotted : NULL;
}

const char *
oids_yaml_name(enum oids_id id)
{
	return (unsigned)id < OIDS_COUNT ? oids_defs[id].yaml : NULL;
}

/* 1 when s looks like a dotted OID: digits and single dots, no sign. */
static int
oids_is_dotted(const char *s)
{
	int prev_dot = 1, dots = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
			dots++;
		} else if (*s >= '0' && *s <= '9') {
			prev_dot = 0;
		} else {
			return 0;
		}
	}
	return !prev_dot && dots >= 1;
}

static int
oids_copy(const char *s, char *out, size_t outsz)
{
	size_t n = strlen(s);

	if (n >= outsz)
		return ERR_LIMIT;
	memcpy(out, s, n + 1);
	return 0;
}

int
oids_eku_resolve(const char *name, char *out, size_t outsz)
{
	ASN1_OBJECT *obj;
	char canon[256];
	size_t i;
	int n;

	if (name == NULL || out == NULL || outsz == 0)
		return ERR_INVALID;
	for (i = 0; i < OIDS_COUNT; i++)
		if (strcmp(name, oids_defs[i].yaml) == 0)
			return oids_copy(oids_defs[i].dotted, out, outsz);
	for (i = 0; i < sizeof(oids_std_eku) / sizeof(oids_std_eku[0]); i++) {
		if (strcmp(name, oids_std_eku[i].name) != 0)
			continue;
		n = OBJ_obj2txt(canon, sizeof(canon),
		    OBJ_nid2obj(oids_std_eku[i].nid), 1);
		if (n <= 0 || (size_t)n >= sizeof(canon))
			return ERR_INTERNAL;
		return oids_copy(canon, out, outsz);
	}
	if (!oids_is_dotted(name) || strlen(name) >= sizeof(canon))
		return ERR_INVALID;
	/*
	 * Only numeric parsing (no_name = 1), and the re-encoded text must
	 * equal the input, which refuses leading zeros and invalid first arcs.
	 */
	obj = OBJ_txt2obj(name, 1);
	if (obj == NULL)
		return ERR_INVALID;
	n = OBJ_obj2txt(canon, sizeof(canon), obj, 1);
	ASN1_OBJECT_free(obj);
	if (n <= 0 || (size_t)n >= sizeof(canon) || strcmp(canon, name) != 0)
		return ERR_INVALID;
	return oids_copy(canon, out, outsz);
}
