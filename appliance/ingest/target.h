/*
 * target.h: the targets of a revocation request, strictly parsed from
 * untrusted text (docs/formats/bundle.md, section 6.3).
 *
 * A target is one line of text naming certificates:
 *
 *   serial HEX [ca NAME]   one certificate; HEX in either case, colons
 *                          between octets allowed (0A:1B:2C), leading
 *                          zeros dropped; NAME the issuing CA when
 *                          several could hold the serial
 *   batch ID               every certificate of batch ID
 *   mac MAC                every certificate whose line has the MAC, in
 *                          any form ingest/mac.h reads
 *   subject TEXT           every device certificate whose subject the
 *                          certificate table stores as TEXT (RFC 2253, as
 *                          `airlock cert show` prints it)
 *
 * The keyword is lower case and separated from its value by spaces or
 * tabs; white space around the line is ignored. The same syntax serves
 * the manifest's inline `targets` list and the archive's targets file
 * (one per line, blank lines and lines starting with '#' ignored, CRLF
 * accepted). Whether a target names any certificate is decided against
 * the store (queue/revocation.h); this module only reads the text.
 */
#ifndef AIRLOCK_INGEST_TARGET_H
#define AIRLOCK_INGEST_TARGET_H

#include <stddef.h>

#include "queue/revocation.h"
#include "util/err.h"

/* Largest targets file read from an archive. */
#define TARGET_FILE_MAX (16u * 1024 * 1024)
/* Longest target line: a subject of the largest size, and its keyword. */
#define TARGET_LINE_MAX (QUEUE_REVOCATION_SUBJECT_MAX + 16)

/* Parsed targets, owning their text. */
struct target_list {
	struct queue_revocation_target *v;
	char **mem;		/* the text behind v[i] */
	size_t n, cap;
};

void target_list_init(struct target_list *l);
void target_list_free(struct target_list *l);

/*
 * Parses one target from len bytes of text (no newline) written at
 * file:line and appends it to l. Returns 0; ERR_INVALID with why in err
 * (without the location, which the caller adds); ERR_LIMIT when l already
 * holds QUEUE_REVOCATION_MAX_TARGETS; ERR_NOMEM.
 */
int target_parse(const char *text, size_t len, const char *file,
    unsigned long line, struct target_list *l, err_t *err);

/*
 * Parses a targets file of len bytes labelled `label`, appending every
 * target to l. Every problem goes to diag as "LABEL:N: Line N - why", all
 * at once. Returns 0, ERR_INVALID (problems in diag), ERR_LIMIT (too
 * many targets or a file over TARGET_FILE_MAX) or ERR_NOMEM.
 */
int target_parse_file(const char *label, const void *data, size_t len,
    struct target_list *l, diag_t *diag);

#endif
