/* zipout.c: see zipout.h. */
#include <sys/stat.h>
#include <zip.h>

#include "util/zipout.h"

int
zipout_pack(const struct zipout_entry *e, size_t n, time_t mtime,
    size_t max, buf_t *out, err_t *err)
{
	zip_error_t ze;
	zip_source_t *src, *s;
	zip_t *za;
	zip_stat_t st;
	zip_int64_t idx, got;
	unsigned char *dst;
	size_t i;
	int rc = 0;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		zip_error_fini(&ze);
		return err_set(err, ERR_NOMEM, "cannot make a ZIP buffer");
	}
	/* Kept past zip_close so that the finished archive can be read. */
	zip_source_keep(src);
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL) {
		rc = err_set(err, ERR_INTERNAL, "cannot start a ZIP: %s",
		    zip_error_strerror(&ze));
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if ((s = zip_source_buffer(za, e[i].data, e[i].len, 0)) ==
		    NULL) {
			rc = err_set(err, ERR_NOMEM, "ZIP entry %s: %s",
			    e[i].name, zip_strerror(za));
			break;
		}
		if ((idx = zip_file_add(za, e[i].name, s,
		    ZIP_FL_ENC_UTF_8)) < 0) {
			zip_source_free(s);
			rc = err_set(err, ERR_INTERNAL, "ZIP entry %s: %s",
			    e[i].name, zip_strerror(za));
			break;
		}
		if (zip_set_file_compression(za, (zip_uint64_t)idx,
		    e[i].store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) != 0 ||
		    zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0 ||
		    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0,
		    ZIP_OPSYS_UNIX, (zip_uint32_t)(S_IFREG | 0644) << 16) != 0)
			rc = err_set(err, ERR_INTERNAL, "ZIP entry %s: %s",
			    e[i].name, zip_strerror(za));
	}
	if (rc != 0) {
		zip_discard(za);
		goto out;
	}
	if (zip_close(za) != 0) {
		rc = err_set(err, ERR_INTERNAL, "cannot finish a ZIP: %s",
		    zip_strerror(za));
		zip_discard(za);
		goto out;
	}
	zip_stat_init(&st);
	if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
	    zip_source_open(src) != 0) {
		rc = err_set(err, ERR_INTERNAL, "cannot read back a ZIP");
		goto out;
	}
	if (st.size > max || buf_reserve(out, (size_t)st.size, &dst) != 0)
		rc = err_set(err, ERR_LIMIT, "a ZIP of %llu bytes does not fit "
		    "(at most %zu)", (unsigned long long)st.size, max);
	else if ((got = zip_source_read(src, dst, st.size)) < 0 ||
	    (zip_uint64_t)got != st.size)
		rc = err_set(err, ERR_INTERNAL, "cannot read back a ZIP");
	zip_source_close(src);
out:
	zip_source_free(src);
	zip_error_fini(&ze);
	return rc;
}
