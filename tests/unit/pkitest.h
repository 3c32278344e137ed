/*
 * pkitest.h: helpers shared by the pki unit tests: software keys, simple
 * certspecs and a three-level chain. Test-only; never linked into Airlock.
 */
#ifndef AIRLOCK_TESTS_PKITEST_H
#define AIRLOCK_TESTS_PKITEST_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/certbuild.h"
#include "pki/certspec.h"
#include "pki/pkisign.h"
#include "testutil.h"
#include "util/err.h"

/* 2026-01-01T00:00:00Z and friends. */
#define T2026 ((time_t)1767225600)
#define T2030 ((time_t)1893456000)
#define T2040 ((time_t)2208988800)
#define T2050 ((time_t)2524608000)
#define T2060 ((time_t)2840140800)

static inline EVP_PKEY *
pkitest_rsa(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static inline EVP_PKEY *
pkitest_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* A spec with subject CN=cn, the given validity, CA or end-entity. */
static inline void
pkitest_spec(struct certspec *s, const char *cn, time_t nb, time_t na,
    int ca, long path_len)
{
	memset(s, 0, sizeof(*s));
	certspec_ext_init(&s->ext);
	s->subject.attrs = calloc(2, sizeof(*s->subject.attrs));
	s->subject.attrs[0].nid = NID_organizationName;
	s->subject.attrs[0].value = strdup("Airlock Test");
	s->subject.attrs[1].nid = NID_commonName;
	s->subject.attrs[1].value = strdup(cn);
	s->subject.n = 2;
	s->not_before = nb;
	s->not_after = na;
	s->ext.has_basic_constraints = 1;
	s->ext.bc_ca = ca;
	s->ext.bc_path_len = ca ? path_len : -1;
	s->ext.bc_critical = 1;
	s->ext.has_key_usage = 1;
	s->ext.key_usage = ca ? (CERTSPEC_KU_KEY_CERT_SIGN |
	    CERTSPEC_KU_CRL_SIGN | CERTSPEC_KU_DIGITAL_SIGNATURE) :
	    CERTSPEC_KU_DIGITAL_SIGNATURE;
}

/* A fixed 16-octet serial that differs per `tag`. */
static inline void
pkitest_serial(unsigned char out[16], unsigned char tag)
{
	unsigned char rnd[16];
	size_t len;
	int i;

	for (i = 0; i < 16; i++)
		rnd[i] = (unsigned char)(0xa5 ^ (i * 31) ^ tag);
	certbuild_serial(rnd, sizeof(rnd), out, &len);
}

/* Builds and signs (lint included); returns NULL and prints on failure. */
static inline X509 *
pkitest_issue(const struct certspec *spec, EVP_PKEY *subject_key,
    X509 *issuer, EVP_PKEY *issuer_key, unsigned char tag)
{
	unsigned char serial[16];
	diag_t d;
	err_t e;
	X509 *x = NULL;

	pkitest_serial(serial, tag);
	err_clear(&e);
	diag_init(&d);
	if (certbuild_new(spec, subject_key, issuer, serial, sizeof(serial),
	    &x, &e) != 0 ||
	    pkisign_cert(x, issuer_key, pkisign_md_for_key(issuer_key, NULL),
	    issuer, NULL, &d, &e) != 0) {
		fprintf(stderr, "pkitest_issue: %s\n", e.msg);
		X509_free(x);
		x = NULL;
	}
	diag_free(&d);
	return x;
}

#endif
