/* shares.c: PIN shares held for a split-pin activation (see shares.h). */
#include "daemon/shares.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"

/* A new session: a fresh object number and nonce. */
static int
shares_session(struct shares *s, err_t *err)
{
	unsigned char r[8];
	uint64_t v = 0;
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1 ||
	    RAND_bytes(s->nonce, sizeof(s->nonce)) != 1)
		return err_set(err, ERR_CRYPTO, "no randomness for the share "
		    "session");
	for (i = 0; i < sizeof(r); i++)
		v = v << 8 | r[i];
	/* 1 .. 2^53: exact in every JSON reader, never 0. */
	s->session = (int64_t)(v & ((UINT64_C(1) << 53) - 1)) + 1;
	return 0;
}

int
shares_init(struct shares *s, unsigned timeout, err_t *err)
{
	memset(s, 0, sizeof(*s));
	s->timeout = timeout;
	return shares_session(s, err);
}

void
shares_clear(struct shares *s)
{
	size_t i;
	err_t ignore;

	for (i = 0; i < s->n; i++) {
		secret_free(s->held[i].share);
		memset(&s->held[i], 0, sizeof(s->held[i]));
	}
	s->n = 0;
	s->first_at = 0;
	/*
	 * Without randomness the old session stays: that only lets a
	 * statement made for it be presented again, which the share rules
	 * still judge.
	 */
	(void)shares_session(s, &ignore);
}

void
shares_free(struct shares *s)
{
	shares_clear(s);
	explicit_bzero(s->nonce, sizeof(s->nonce));
}

size_t
shares_expire(struct shares *s, time_t now)
{
	size_t n = s->n;

	if (n == 0 || now - s->first_at < (time_t)s->timeout)
		return 0;
	shares_clear(s);
	return n;
}

void
shares_nonce_hex(const struct shares *s, char out[65])
{
	buf_hex(s->nonce, sizeof(s->nonce), out, 65);
}

int
shares_digest(const struct shares *s, const void *record, size_t len,
    char out[65], err_t *err)
{
	return pinshare_digest(s->nonce, record, len, out, err);
}

int
shares_add(struct shares *s, const struct pinshare *meta,
    const secret_t *share, const char *officer_sha256, const char *name,
    time_t now, err_t *err)
{
	const struct pinshare *first = s->n > 0 ? &s->held[0].meta : NULL;
	struct shares_held *h;
	size_t i;

	if (strcmp(meta->officer, officer_sha256) != 0)
		return err_set(err, ERR_POLICY, "share %u was made for another "
		    "officer's certificate (SHA-256 %.16s...), not for %s's",
		    meta->index, meta->officer, name);
	if (first != NULL && (strcmp(first->token, meta->token) != 0 ||
	    strcmp(first->serial, meta->serial) != 0))
		return err_set(err, ERR_POLICY, "share %u is for token '%s' "
		    "(serial %s), but the shares held are for '%s' (serial %s)",
		    meta->index, meta->token, meta->serial, first->token,
		    first->serial);
	if (first != NULL && (first->threshold != meta->threshold ||
	    first->shares != meta->shares))
		return err_set(err, ERR_POLICY, "share %u is from a %u-of-%u "
		    "split, but the shares held are %u-of-%u: they come from "
		    "different split-pin ceremonies", meta->index,
		    meta->threshold, meta->shares, first->threshold,
		    first->shares);
	for (i = 0; i < s->n; i++) {
		if (s->held[i].meta.index == meta->index)
			return err_set(err, ERR_EXISTS, "share %u was presented "
			    "already (by %s): each share counts once",
			    meta->index, s->held[i].name);
		if (strcmp(s->held[i].meta.officer, officer_sha256) == 0)
			return err_set(err, ERR_EXISTS, "%s presented a share "
			    "already: each officer counts once", name);
	}
	/* The split's own bound: never more than N, and M ends it anyway. */
	if (s->n >= PINSHARE_MAX_SHARES || s->n >= meta->shares)
		return err_set(err, ERR_LIMIT, "no more shares are taken");
	h = &s->held[s->n];
	memset(h, 0, sizeof(*h));
	if (secret_new(&h->share) != 0 ||
	    secret_set(h->share, share->data, share->len) != 0) {
		secret_free(h->share);
		h->share = NULL;
		return err_set(err, ERR_NOMEM, "cannot hold the share");
	}
	h->meta = *meta;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (s->n == 0)
		s->first_at = now;
	s->n++;
	return 0;
}

unsigned
shares_needed(const struct shares *s)
{
	unsigned m = s->n > 0 ? s->held[0].meta.threshold : 0;

	return m > s->n ? m - (unsigned)s->n : 0;
}

int
shares_combine(const struct shares *s, secret_t *pin, err_t *err)
{
	const secret_t *use[PINSHARE_MAX_SHARES];
	unsigned idx[PINSHARE_MAX_SHARES];
	size_t i;

	if (s->n == 0 || shares_needed(s) > 0)
		return err_set(err, ERR_INVALID, "%u more share%s needed",
		    shares_needed(s), shares_needed(s) == 1 ? " is" : "s are");
	for (i = 0; i < s->n; i++) {
		use[i] = s->held[i].share;
		idx[i] = s->held[i].meta.index;
	}
	return pinshare_combine(idx, use, s->n, pin, err);
}

void
shares_names(const struct shares *s, char *out, size_t outsz)
{
	size_t i, used = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < s->n && used < outsz; i++) {
		int n = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "",
		    s->held[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}
