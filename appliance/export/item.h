/*
 * item.h: one line of an issued batch as the export sees it, and the
 * rules that turn its name into a file name.
 *
 * Items come from the signer and the batch records; the names in them
 * (a MAC address as the profile formats it, or a common name) were
 * written by an operator, so they are untrusted text until
 * export_item_filename has accepted them.
 */
#ifndef AIRLOCK_EXPORT_ITEM_H
#define AIRLOCK_EXPORT_ITEM_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

struct export_item {
	unsigned long line;	/* request line in the bundle, 1-based */
	const char *name;	/* MAC as formatted, or CN: names the files */
	X509 *cert;		/* the issued certificate; NULL if not issued */
	EVP_PKEY *key;		/* NULL unless the appliance generated it */
	int issued;		/* 1 when cert was issued, 0 when the line failed */
	const char *message;	/* error text when not issued; may be NULL */
};

/* Longest file-name stem we derive from an item name, in bytes. */
#define EXPORT_NAME_MAX 128

/*
 * Turns an item name into a file-name stem: ':' becomes '-' (so a MAC
 * such as 00:11:22:33:44:55 gives 00-11-22-33-44-55), everything else is
 * kept as it is or refused. Refused: empty, longer than EXPORT_NAME_MAX,
 * invalid UTF-8, control, bidi or zero-width characters, '/', '\\', the
 * characters FAT and Windows refuse (<>"|?*), a leading '.' or space, a
 * trailing '.' or space, and "..". 0, or ERR_INVALID (ERR_LIMIT when too
 * long) with err naming the item.
 */
int export_item_filename(const char *name, char *out, size_t outsz,
    err_t *err);

/*
 * The certificate's serial number as lower-case hex, two digits per
 * octet, into out (at least 2*20+1 bytes for a compliant serial). 0, or
 * ERR_LIMIT when it does not fit, ERR_CRYPTO.
 */
int export_serial_hex(const X509 *cert, char *out, size_t outsz);

#endif
