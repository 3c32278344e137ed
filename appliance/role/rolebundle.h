/*
 * rolebundle.h: a judged bundle, as the ingest role sends it to the
 * store role (airlockd.8, ROLES).
 *
 * The ingest role runs bundle_open; the store role records the result.
 * What crosses is what the intake uses of struct bundle, nothing more:
 *
 *  REFUSED   u32 code (negated ERR_*), u8 stage, signer SHA-256 ("" until
 *            the signature verified), bundle id ("" until the manifest was
 *            read), u32 dropped, u32 n, n x problem (u8 has_file, file,
 *            u32 line, u8 has_field, field, message)
 *  ACCEPTED  the envelope's digests and flags, the manifest (a request's
 *            settings and its MAC range, or a revocation's reason and
 *            message), the profile's name, the line count, whether keys
 *            are generated, the key types, the recipient certificate, and
 *            n_items: the lines (csr and csv) or revocation targets that
 *            follow in ITEMS messages. A mac-range batch sends none: the
 *            store computes its lines from the range, as bundle_line_get
 *            does.
 *  ITEMS     u32 k, k lines (name, u8 has_mac, mac, request DER, fields,
 *            u32 source line) or targets (canonical text, file, u32 line)
 *
 * Every length and count is bounded when encoding and again when
 * decoding. The decoder rebuilds a struct bundle that bundle_free frees:
 * the profile is the store's own (found by name), revocation targets are
 * parsed again from their canonical text, and the checks the store
 * relies on are made again by its caller (rolelink.c).
 */
#ifndef AIRLOCK_ROLE_ROLEBUNDLE_H
#define AIRLOCK_ROLE_ROLEBUNDLE_H

#include <stddef.h>

#include "ingest/bundle.h"
#include "ingest/csr.h"
#include "ingest/csv.h"
#include "policy/profile.h"
#include "util/buf.h"
#include "util/err.h"

/* Lines or targets in one ITEMS message, at most. */
#define ROLEBUNDLE_ITEMS_MAX 4096u
/* Largest encoded line or target. */
#define ROLEBUNDLE_ITEM_MAX \
	(BUNDLE_NAME_MAX + CSR_DER_MAX + CSV_LINE_MAX + 64u)

/* Encodes a refusal (code: bundle_open's result). 0 or ERR_LIMIT. */
int rolebundle_put_refusal(buf_t *out, int code, enum bundle_stage stage,
    const struct bundle *b, const diag_t *diag);

/*
 * Decodes a refusal into *code, *stage, diag, and into b the signer's
 * SHA-256 and the bundle id (b zeroed first). 0 or ERR_PROTO.
 */
int rolebundle_get_refusal(buf_t *in, int *code, enum bundle_stage *stage,
    struct bundle *b, diag_t *diag, err_t *err);

/* Encodes an accepted bundle's head; *n_items gets the items to send. */
int rolebundle_put_head(buf_t *out, const struct bundle *b, size_t *n_items);

/*
 * Decodes a head into b (zeroed first; bundle_free it in any case), its
 * profile looked up in profiles; *n_items gets the items that follow.
 * 0, or ERR_PROTO naming the field.
 */
int rolebundle_get_head(buf_t *in, const struct profile_set *profiles,
    struct bundle *b, size_t *n_items, err_t *err);

/*
 * Encodes items from *next on (lines or targets as b holds) until
 * ROLEBUNDLE_ITEMS_MAX or the message is full; *next moves on. 0 or
 * ERR_LIMIT.
 */
int rolebundle_put_items(buf_t *out, const struct bundle *b, size_t *next);

/*
 * Decodes one ITEMS message into b, after the *have items it holds of
 * n_items; *have moves on. 0, or ERR_PROTO.
 */
int rolebundle_get_items(buf_t *in, struct bundle *b, size_t n_items,
    size_t *have, err_t *err);

#endif
