/*
 * secret.h: fixed-size holders for PINs, passphrases and key shares.
 *
 * A secret lives in its own page-aligned allocation that is mlock()ed (so it
 * is never swapped) and marked MADV_DONTDUMP (so it never lands in a core
 * file), and is wiped with explicit_bzero before it is freed. Secrets are
 * never copied into ordinary heap buffers, configuration or logs.
 */
#ifndef AIRLOCK_UTIL_SECRET_H
#define AIRLOCK_UTIL_SECRET_H

#include <stddef.h>

/* Largest secret we hold: PKCS#11 PINs and passphrases are far shorter. */
#define SECRET_MAX 1024

typedef struct secret {
	unsigned char *data;	/* NUL-terminated for text secrets */
	size_t len;
	size_t cap;		/* bytes usable, excluding the terminator */
	int locked;		/* mlock succeeded */
} secret_t;

/*
 * Allocates a locked, zeroed secret holder of SECRET_MAX bytes. Returns 0,
 * or ERR_NOMEM. When mlock is refused (RLIMIT_MEMLOCK) the secret is still
 * usable; secret_is_locked() tells, so a role can refuse to run.
 */
int secret_new(secret_t **out);

/* Copies len bytes in (wiping what was there); ERR_LIMIT when too long. */
int secret_set(secret_t *s, const void *p, size_t len);

/* 1 when the memory is locked. */
int secret_is_locked(const secret_t *s);

/* Wipes the contents, keeping the holder. */
void secret_wipe(secret_t *s);

/* Wipes and frees; NULL is accepted. */
void secret_free(secret_t *s);

#endif
