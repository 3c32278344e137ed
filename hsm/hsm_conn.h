/*
 * hsm_conn.h: one airlock-hsm helper process and the channel to it.
 *
 * The helper is started with socketpair + fork + exec, its end of the pair
 * on descriptor 3, stdin on /dev/null, and nothing else inherited. A call
 * sends one request and waits for its reply, checking the reply's id; a
 * connection is used by one thread at a time (hsm_pool hands them out).
 */
#ifndef AIRLOCK_HSM_HSM_CONN_H
#define AIRLOCK_HSM_HSM_CONN_H

#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct hsm_conn;

/* Starts the helper at path; 0, ERR_NOTFOUND (no helper), ERR_IO. */
int hsm_conn_spawn(const char *path, struct hsm_conn **out, err_t *err);

/*
 * Sends request type with payload req and waits for the reply. On OK, 0
 * and *reply is a view of the reply payload, valid until the next call. On
 * an ERR reply, the helper's code and message. When the helper has died or
 * broke the protocol, ERR_HSM, and every later call fails the same way.
 */
int hsm_conn_call(struct hsm_conn *c, uint8_t type, const buf_t *req,
    buf_t *reply, err_t *err);

/* Closes the channel and waits for the helper to exit; NULL is accepted. */
void hsm_conn_close(struct hsm_conn *c);

#endif
