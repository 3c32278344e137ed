/* item.c: file names and serials of export items (see item.h). */
#include "export/item.h"

#include <stdint.h>
#include <string.h>
#include <openssl/bn.h>

#include "util/buf.h"
#include "util/text.h"

/* Characters a FAT medium or a Windows importer refuses in a name. */
#define FAT_BAD "<>\"|?*\\/"

int
export_item_filename(const char *name, char *out, size_t outsz, err_t *err)
{
	char shown[160];
	size_t len, i, n;
	uint32_t cp;

	if (outsz > 0)
		out[0] = '\0';
	if (name == NULL || name[0] == '\0')
		return err_set(err, ERR_INVALID, "an item has an empty name");
	len = strlen(name);
	text_show(name, len, 64, shown, sizeof(shown));
	if (len > EXPORT_NAME_MAX)
		return err_set(err, ERR_LIMIT, "name '%s' is longer than %d "
		    "bytes", shown, EXPORT_NAME_MAX);
	if (len >= outsz)
		return err_set(err, ERR_LIMIT, "name '%s' does not fit", shown);
	for (i = 0; i < len; i += n) {
		n = text_utf8_next((const unsigned char *)name + i, len - i,
		    &cp);
		if (n == 0)
			return err_set(err, ERR_INVALID, "name '%s' is not "
			    "valid UTF-8", shown);
		/* Hidden or reordering characters would disguise a name. */
		if (text_forbidden(cp))
			return err_set(err, ERR_INVALID, "name '%s' contains "
			    "a control or invisible character", shown);
		if (cp < 0x80 && strchr(FAT_BAD, (int)cp) != NULL)
			return err_set(err, ERR_INVALID, "name '%s' contains "
			    "'%c', which cannot be part of a file name", shown,
			    (int)cp);
	}
	if (name[0] == '.' || name[0] == ' ')
		return err_set(err, ERR_INVALID, "name '%s' starts with '%c'",
		    shown, name[0]);
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return err_set(err, ERR_INVALID, "name '%s' ends with '%c', "
		    "which Windows drops", shown, name[len - 1]);
	if (strstr(name, "..") != NULL)
		return err_set(err, ERR_INVALID, "name '%s' contains '..'",
		    shown);
	for (i = 0; i < len; i++)
		out[i] = name[i] == ':' ? '-' : name[i];
	out[len] = '\0';
	return 0;
}

int
export_serial_hex(const X509 *cert, char *out, size_t outsz)
{
	const ASN1_INTEGER *ai;
	unsigned char bytes[64];
	BIGNUM *bn;
	int len;

	if (outsz > 0)
		out[0] = '\0';
	if (cert == NULL || (ai = X509_get0_serialNumber(cert)) == NULL ||
	    (bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		return ERR_CRYPTO;
	len = BN_num_bytes(bn);
	if (len <= 0 || (size_t)len > sizeof(bytes) ||
	    outsz < 2 * (size_t)len + 1) {
		BN_free(bn);
		return ERR_LIMIT;
	}
	BN_bn2bin(bn, bytes);
	BN_free(bn);
	buf_hex(bytes, (size_t)len, out, outsz);
	return 0;
}
