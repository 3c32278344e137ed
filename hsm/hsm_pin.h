/*
 * hsm_pin.h: where HSM PINs come from.
 *
 * A PIN is read from a no-echo prompt on /dev/tty ("prompt"), from an
 * inherited file descriptor ("fd:N"), or from a file only its owner can
 * read ("file:PATH"). Never from configuration, argv or the environment:
 * those end up in logs, process listings and backups.
 */
#ifndef AIRLOCK_HSM_HSM_PIN_H
#define AIRLOCK_HSM_HSM_PIN_H

#include "util/err.h"
#include "util/secret.h"

/* Longest PIN accepted; PKCS#11 tokens allow far less. */
#define HSM_PIN_MAX 256

/*
 * Reads a PIN from source_spec ("prompt", "fd:N", "file:PATH") into out
 * (allocated by the caller with secret_new), stripping one trailing newline;
 * `what` names the PIN in the prompt and in messages. Returns 0, or
 * ERR_INVALID (bad spec, empty PIN, no terminal), ERR_PERM (unsafe file),
 * ERR_LIMIT (too long), ERR_IO; out is wiped on failure.
 */
int hsm_pin_read(const char *source_spec, const char *what, secret_t *out,
    err_t *err);

#endif
