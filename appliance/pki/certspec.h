/*
 * certspec.h: the content of a certificate as a ceremony script or a batch
 * profile describes it, apart from keys, serial number and issuer.
 *
 * A certspec is parsed strictly from YAML and holds plain C data; certbuild
 * turns it into an X509. The extension part (struct certspec_ext) parses
 * on its own so batch profiles can share it while supplying subjects and
 * validity per device.
 *
 * YAML keys read by certspec_parse:
 *   subject:                  sequence of single-key maps, in RDN order
 *                             (- C: US / - O: Example / - CN: Example CA)
 *   validity: {not_before: T, not_after: T}   (T = YYYY-MM-DDTHH:MM:SSZ)
 *   signature_digest:         sha256 | sha384 | sha512 (default from key)
 * and by certspec_parse_ext:
 *   key_usage:                [digitalSignature, keyCertSign, ...]
 *   extended_key_usage:       [serverAuth, airlock-officer, 1.2.3.4, ...]
 *   basic_constraints:        {ca: bool, path_len: int, critical: bool}
 *   subject_key_identifier:   bool (default true)
 *   authority_key_identifier: bool (default true)
 *   crl_distribution_points:  [URI, ...]
 *   authority_info_access:    {ca_issuers: [URI], ocsp: [URI]}
 *   certificate_policies:     [{oid: 1.2.3, cps: URI}, ...]
 *   name_constraints:         {critical: bool, permitted: [GN], excluded: [GN]}
 *   subject_alt_names:        [GN, ...]
 * where GN is one of {dns: ..}, {email: ..}, {uri: ..}, {ip: ..} and, in
 * name constraints only, {dirname: <subject-like sequence>}; ip is an
 * address in subject_alt_names and a CIDR block with no host bits set in
 * name_constraints, where uri is a host or ".domain" (RFC 5280 4.2.1.10)
 * and dns/email may start with "." for subdomains only.
 */
#ifndef AIRLOCK_PKI_CERTSPEC_H
#define AIRLOCK_PKI_CERTSPEC_H

#include <stddef.h>
#include <time.h>

#include "util/yamldoc.h"

/* Key usage bits, numbered as in RFC 5280's KeyUsage BIT STRING. */
enum {
	CERTSPEC_KU_DIGITAL_SIGNATURE = 1u << 0,
	CERTSPEC_KU_NON_REPUDIATION = 1u << 1,	/* contentCommitment */
	CERTSPEC_KU_KEY_ENCIPHERMENT = 1u << 2,
	CERTSPEC_KU_DATA_ENCIPHERMENT = 1u << 3,
	CERTSPEC_KU_KEY_AGREEMENT = 1u << 4,
	CERTSPEC_KU_KEY_CERT_SIGN = 1u << 5,
	CERTSPEC_KU_CRL_SIGN = 1u << 6
};

enum certspec_md {
	CERTSPEC_MD_AUTO = 0,	/* P-384 keys: SHA-384; others: SHA-256 */
	CERTSPEC_MD_SHA256,
	CERTSPEC_MD_SHA384,
	CERTSPEC_MD_SHA512
};

/* One attribute in its own RDN; nid is an OpenSSL NID (NID_commonName). */
struct certspec_attr {
	int nid;
	char *value;	/* UTF-8, validated for the attribute's string type */
};

struct certspec_name {
	struct certspec_attr *attrs;
	size_t n;
};

enum certspec_gn_type {
	CERTSPEC_GN_DNS,
	CERTSPEC_GN_EMAIL,
	CERTSPEC_GN_URI,
	CERTSPEC_GN_IP,
	CERTSPEC_GN_DIRNAME
};

struct certspec_gn {
	enum certspec_gn_type type;
	char *value;		/* DNS, email, URI: ASCII text */
	unsigned char ip[32];	/* address, then mask when a CIDR block */
	size_t ip_len;		/* 4 or 16; 8 or 32 with a mask */
	struct certspec_name dirname;
};

struct certspec_gnlist {
	struct certspec_gn *v;
	size_t n;
};

struct certspec_strlist {
	char **v;
	size_t n;
};

struct certspec_policy {
	char *oid;	/* dotted */
	char *cps;	/* URI or NULL */
};

struct certspec_ext {
	int has_key_usage;
	unsigned key_usage;		/* CERTSPEC_KU_* bits */
	struct certspec_strlist eku;	/* dotted OIDs, in YAML order */
	int has_basic_constraints;
	int bc_ca;
	long bc_path_len;		/* -1 when absent */
	int bc_critical;
	int ski;			/* emit subjectKeyIdentifier */
	int aki;			/* emit authorityKeyIdentifier */
	struct certspec_strlist crl_dp;
	struct certspec_strlist aia_ca_issuers;
	struct certspec_strlist aia_ocsp;
	struct certspec_policy *policies;
	size_t n_policies;
	int has_name_constraints;
	int nc_critical;
	struct certspec_gnlist nc_permitted;
	struct certspec_gnlist nc_excluded;
	struct certspec_gnlist san;
};

struct certspec {
	struct certspec_name subject;
	time_t not_before;
	time_t not_after;
	enum certspec_md digest;
	struct certspec_ext ext;
};

/* Sets the defaults (SKI and AKI on, no other extension) in an empty ext. */
void certspec_ext_init(struct certspec_ext *ext);

/*
 * Reads the extension keys listed above from map into out (initialised
 * here), marking them used. Every problem is added to doc->diag with file,
 * line and key. Returns 0, or ERR_INVALID when anything was wrong (out is
 * then freed), or ERR_NOMEM.
 */
int certspec_parse_ext(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec_ext *out);

/*
 * Reads subject, validity, signature_digest and the extension keys from
 * map into out, marking them used; the caller checks for unknown keys.
 * Returns 0, or ERR_INVALID after reporting every problem to doc->diag
 * (out is then freed), or ERR_NOMEM.
 */
int certspec_parse(struct yamldoc *doc, const struct yamldoc_node *map,
    struct certspec *out);

/*
 * Parses a subject-like sequence of single-key maps (node must be a
 * sequence). Returns 0 or ERR_INVALID after reporting to doc->diag.
 */
int certspec_parse_name(struct yamldoc *doc, const struct yamldoc_node *seq,
    struct certspec_name *out);

void certspec_name_free(struct certspec_name *name);
/* Frees every name of l and empties it; NULL is accepted. */
void certspec_gnlist_free(struct certspec_gnlist *l);
void certspec_ext_free(struct certspec_ext *ext);

/*
 * ASN.1 string type (V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING or
 * V_ASN1_UTF8STRING) certificates use for attribute nid; -1 for an
 * attribute certspec does not accept.
 */
int certspec_attr_string_type(int nid);

/* "sha256", "sha384", "sha512", or NULL for CERTSPEC_MD_AUTO. */
const char *certspec_md_name(enum certspec_md md);

/* Frees everything certspec_parse allocated; safe on a zeroed struct. */
void certspec_free(struct certspec *spec);

/*
 * 1 when s holds only PrintableString characters (RFC 5280: A-Z a-z 0-9
 * space ' ( ) + , - . / : = ?), the alphabet of C and serialNumber.
 */
int certspec_is_printable(const char *s);

/* 1 when s is printable ASCII (0x20-0x7e): IA5 text such as URIs and DNS. */
int certspec_is_ascii_text(const char *s);

#endif
