/* test_archive.c: the bundle's ZIP archive against hostile inputs. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <cmocka.h>

#include "ingest/archive.h"
#include "testutil.h"

#define assert_contains(hay, needle) do { \
	if (strstr((hay), (needle)) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

/* One entry for make_zip. */
struct spec {
	const char *name;
	const void *data;	/* NULL: a directory */
	size_t len;
	int store;		/* 1: no compression */
	uint32_t mode;		/* nonzero: Unix mode for external attributes */
	int encrypt;
};

/* A whole ZIP built in memory with libzip. */
struct blob {
	unsigned char *p;
	size_t len;
};

static struct blob
make_zip(const struct spec *s, size_t n)
{
	struct blob b = { NULL, 0 };
	zip_source_t *src;
	zip_stat_t st;
	zip_t *z;
	size_t i;

	src = zip_source_buffer_create(NULL, 0, 0, NULL);
	assert_non_null(src);
	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
	assert_non_null(z);
	for (i = 0; i < n; i++) {
		zip_int64_t idx;

		if (s[i].data == NULL) {
			idx = zip_dir_add(z, s[i].name, ZIP_FL_ENC_RAW);
		} else {
			zip_source_t *fs = zip_source_buffer(z, s[i].data,
			    s[i].len, 0);

			assert_non_null(fs);
			idx = zip_file_add(z, s[i].name, fs, ZIP_FL_ENC_RAW);
			if (idx < 0)
				zip_source_free(fs);
		}
		if (idx < 0)
			fail_msg("cannot add %s: %s", s[i].name, zip_strerror(z));
		if (s[i].store)
			assert_int_equal(zip_set_file_compression(z,
			    (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
		if (s[i].mode != 0)
			assert_int_equal(zip_file_set_external_attributes(z,
			    (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
			    s[i].mode << 16), 0);
		if (s[i].encrypt)
			assert_int_equal(zip_file_set_encryption(z,
			    (zip_uint64_t)idx, ZIP_EM_AES_256, "secret-pw"), 0);
	}
	assert_int_equal(zip_close(z), 0);
	assert_int_equal(zip_source_stat(src, &st), 0);
	assert_int_equal(zip_source_open(src), 0);
	b.len = (size_t)st.size;
	b.p = malloc(b.len + 64);
	assert_non_null(b.p);
	assert_int_equal(zip_source_read(src, b.p, st.size), (zip_int64_t)b.len);
	zip_source_close(src);
	zip_source_free(src);
	return b;
}

/* Replaces every occurrence of from with to (same length) in b. */
static void
patch_all(struct blob *b, const char *from, const char *to, size_t len)
{
	size_t i, hits = 0;

	for (i = 0; i + len <= b->len; i++)
		if (memcmp(b->p + i, from, len) == 0) {
			memcpy(b->p + i, to, len);
			hits++;
		}
	assert_true(hits >= 2);	/* local and central header */
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Offset of the first central directory header. */
static size_t
central(const struct blob *b)
{
	size_t i;

	for (i = 0; i + 4 <= b->len; i++)
		if (memcmp(b->p + i, "PK\1\2", 4) == 0)
			return i;
	fail_msg("no central directory");
	return 0;
}

/* Opens b expecting code; every diag message is searched for want. */
static void
open_fail(const struct blob *b, const struct archive_limits *lim, int code,
    const char *want)
{
	struct archive *a = (struct archive *)1;
	char all[8192] = "", m[1024];
	diag_t d;
	size_t i;
	int r;

	diag_init(&d);
	r = archive_open("t.zip", b->p, b->len, lim, &a, &d);
	for (i = 0; i < d.n; i++) {
		diag_format(&d, i, m, sizeof(m));
		strncat(all, m, sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	if (r != code)
		fail_msg("expected %s, got %s: %s", err_code_name(code),
		    err_code_name(r), all);
	assert_null(a);
	assert_contains(all, "t.zip: ");
	assert_contains(all, want);
	diag_free(&d);
}

static struct archive *
open_ok(const struct blob *b, const struct archive_limits *lim)
{
	struct archive *a = NULL;
	diag_t d;

	diag_init(&d);
	if (archive_open("t.zip", b->p, b->len, lim, &a, &d) != 0) {
		char m[1024];

		diag_format(&d, 0, m, sizeof(m));
		fail_msg("open failed: %s", m);
	}
	diag_free(&d);
	return a;
}

static const char manifest_text[] = "airlock_bundle: 1\n";

static void
test_good(void **state)
{
	static const char pem[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
	const struct spec s[] = {
		{ "manifest.yaml", manifest_text, sizeof(manifest_text) - 1, 0,
		  S_IFREG | 0644, 0 },
		{ "csr/", NULL, 0, 0, 0, 0 },
		{ "csr/a.pem", pem, sizeof(pem) - 1, 1, 0, 0 },
	};
	struct blob b = make_zip(s, 3);
	struct archive *a = open_ok(&b, NULL);
	buf_t out;
	err_t e;
	long k;

	(void)state;
	assert_int_equal(archive_count(a), 3);
	k = archive_find(a, "csr/");
	assert_true(k >= 0);
	assert_true(archive_is_dir(a, (size_t)k));
	assert_int_equal(archive_find(a, "CSR/"), -1);
	assert_string_equal(archive_name(a, (size_t)archive_find(a,
	    "csr/a.pem")), "csr/a.pem");
	assert_null(archive_name(a, 3));
	assert_int_equal(archive_read(a, "manifest.yaml", 4096, &out, &e), 0);
	assert_int_equal(out.len, sizeof(manifest_text) - 1);
	assert_memory_equal(out.data, manifest_text, out.len);
	buf_free(&out);
	assert_int_equal(archive_read(a, "csr/a.pem", 4096, &out, &e), 0);
	assert_memory_equal(out.data, pem, out.len);
	buf_free(&out);
	/* Negative reads: a directory, a missing entry, a small cap. */
	assert_int_equal(archive_read(a, "csr/", 4096, &out, &e), ERR_INVALID);
	assert_contains(e.msg, "is a directory");
	assert_int_equal(archive_read(a, "nope", 4096, &out, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "t.zip: no entry 'nope'");
	assert_int_equal(archive_read(a, "manifest.yaml", 4, &out, &e),
	    ERR_LIMIT);
	assert_contains(e.msg, "at most 4 may be read");
	archive_close(a);
	free(b.p);
}

static void
test_names(void **state)
{
	static const struct { const char *name; size_t len; int code;
	    const char *want; } cases[] = {
		{ "ok/name.pem", 11, 0, NULL },
		{ "dir/", 4, 0, NULL },
		{ "caf\xc3\xa9.pem", 9, 0, NULL },
		{ "", 0, ERR_INVALID, "empty name" },
		{ "../x", 4, ERR_INVALID, "'..' component" },
		{ "a/../b", 6, ERR_INVALID, "'..' component" },
		{ "a/..", 4, ERR_INVALID, "'..' component" },
		{ "./a", 3, ERR_INVALID, "'.' component" },
		{ "/abs", 4, ERR_INVALID, "absolute path" },
		{ "C:x", 3, ERR_INVALID, "drive letter" },
		{ "a\\b", 3, ERR_INVALID, "backslash" },
		{ "a//b", 4, ERR_INVALID, "empty component" },
		{ "a\0b", 3, ERR_INVALID, "NUL byte" },
		{ "a\x01" "b", 3, ERR_INVALID, "control character" },
		{ "a\x7f", 2, ERR_INVALID, "control character" },
		{ "a\xc2\x85", 3, ERR_INVALID, "control character" },
		{ "a\xff", 2, ERR_INVALID, "not valid UTF-8" },
		{ "a\xc0\xaf", 3, ERR_INVALID, "not valid UTF-8" },
		{ "a\xed\xa0\x80", 4, ERR_INVALID, "not valid UTF-8" },
		{ "a\xe2\x82", 3, ERR_INVALID, "not valid UTF-8" },
		{ "1/2/3/4/5/6/7/8", 15, 0, NULL },
		{ "1/2/3/4/5/6/7/8/", 16, 0, NULL },
		{ "1/2/3/4/5/6/7/8/9", 17, ERR_LIMIT, "deeper than 8" },
	};
	char why[128], longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		why[0] = '\0';
		r = archive_check_name(cases[i].name, cases[i].len, NULL, why,
		    sizeof(why));
		if (r != cases[i].code)
			fail_msg("case %zu: got %d (%s)", i, r, why);
		if (cases[i].want != NULL)
			assert_contains(why, cases[i].want);
	}
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(archive_check_name(longname, 255, NULL, why,
	    sizeof(why)), 0);
	assert_int_equal(archive_check_name(longname, 256, NULL, why,
	    sizeof(why)), ERR_LIMIT);
	assert_contains(why, "longer than 255 bytes");
	archive_show_name("a\x01'b", 4, why, sizeof(why));
	assert_string_equal(why, "a\\x01\\x27b");
}

/* One entry named name, refused with want. */
static void
one_bad_name(const char *name, const char *want)
{
	const struct spec s[] = { { name, "x", 1, 0, 0, 0 } };
	struct blob b = make_zip(s, 1);

	open_fail(&b, NULL, strstr(want, "deeper") || strstr(want, "longer") ?
	    ERR_LIMIT : ERR_INVALID, want);
	free(b.p);
}

static void
test_bad_names_in_zip(void **state)
{
	char deep[] = "a/b/c/d/e/f/g/h/i";
	char longname[257];

	(void)state;
	one_bad_name("../x", "entry '../x': name contains a '..' component");
	one_bad_name("/abs", "entry '/abs': name is an absolute path");
	one_bad_name("a\\b", "entry 'a\\x5cb': name contains a backslash");
	one_bad_name(deep, "name is deeper than 8 components");
	memset(longname, 'n', 256);
	longname[256] = '\0';
	one_bad_name(longname, "name is longer than 255 bytes");
}

/* Builds "aXb.txt" and patches X in both headers to c. */
static void
patched_name(unsigned char c, const char *want)
{
	const struct spec s[] = { { "aXb.txt", "x", 1, 0, 0, 0 } };
	struct blob b = make_zip(s, 1);
	char to[8] = "a?b.txt";

	to[1] = (char)c;
	patch_all(&b, "aXb.txt", to, 7);
	open_fail(&b, NULL, ERR_INVALID, want);
	free(b.p);
}

static void
test_raw_name_bytes(void **state)
{
	(void)state;
	/* libzip would show the NUL as a space; the raw bytes tell. */
	patched_name(0x00, "entry 'a\\x00b.txt': name contains a NUL byte");
	patched_name(0x01, "name contains a control character");
	patched_name(0xff, "entry 'a\\xffb.txt': name is not valid UTF-8");
}

static void
test_duplicates(void **state)
{
	const struct spec s[] = {
		{ "aaaa.txt", "1", 1, 0, 0, 0 },
		{ "bbbb.txt", "2", 1, 0, 0, 0 },
	};
	const struct spec c[] = {
		{ "Readme.txt", "1", 1, 0, 0, 0 },
		{ "README.txt", "2", 1, 0, 0, 0 },
	};
	const struct spec f[] = {
		{ "csr", "1", 1, 0, 0, 0 },
		{ "csr-x", "1", 1, 0, 0, 0 },
		{ "CSR/a.pem", "2", 1, 0, 0, 0 },
	};
	struct blob b = make_zip(s, 2);

	(void)state;
	patch_all(&b, "bbbb.txt", "aaaa.txt", 8);
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'aaaa.txt': the name appears more than once");
	free(b.p);
	b = make_zip(c, 2);
	open_fail(&b, NULL, ERR_INVALID,
	    "entries 'README.txt' and 'Readme.txt': the names differ only in "
	    "case");
	free(b.p);
	b = make_zip(f, 3);
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'csr' is a file, but entry 'CSR/a.pem' uses it as a "
	    "directory");
	free(b.p);
}

static void
test_types(void **state)
{
	const struct spec l[] = {
		{ "link", "/etc/passwd", 11, 1, S_IFLNK | 0777, 0 } };
	const struct spec p[] = { { "fifo", "", 0, 1, S_IFIFO | 0644, 0 } };
	const struct spec d[] = { { "notdir", "x", 1, 0, S_IFDIR | 0755, 0 } };
	const struct spec dd[] = { { "d/", "data", 4, 0, S_IFDIR | 0755, 0 } };
	struct blob b = make_zip(l, 1);

	(void)state;
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'link': the entry is a symbolic link");
	free(b.p);
	b = make_zip(p, 1);
	open_fail(&b, NULL, ERR_INVALID, "entry 'fifo': the entry is a special "
	    "file (Unix type 010000)");
	free(b.p);
	b = make_zip(d, 1);
	open_fail(&b, NULL, ERR_INVALID, "the attributes say directory but the "
	    "name does not end in '/'");
	free(b.p);
	b = make_zip(dd, 1);
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'd/': a directory entry must hold no data");
	free(b.p);
}

static void
test_encrypted(void **state)
{
	const struct spec s[] = { { "secret.txt", "hello", 5, 0, 0, 1 } };
	struct blob b;

	(void)state;
	if (!zip_encryption_method_supported(ZIP_EM_AES_256, 1))
		skip();
	b = make_zip(s, 1);
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'secret.txt': the entry is encrypted");
	free(b.p);
}

static void
test_method(void **state)
{
	const struct spec s[] = { { "a.txt", "hello", 5, 0, 0, 0 } };
	struct blob b = make_zip(s, 1);
	size_t c = central(&b);

	(void)state;
	/* LZMA (14) in both the local and the central header. */
	b.p[8] = 14;
	b.p[9] = 0;
	b.p[c + 10] = 14;
	b.p[c + 11] = 0;
	open_fail(&b, NULL, ERR_INVALID,
	    "entry 'a.txt': compression method 14 is not allowed");
	free(b.p);
}

static void
test_bomb(void **state)
{
	size_t big = 50u * 1024 * 1024;
	unsigned char *zeros = calloc(1, big);
	const struct spec s[] = { { "bomb.bin", zeros, big, 0, 0, 0 } };
	const struct spec r[] = { { "z.bin", zeros, 2u * 1024 * 1024, 0, 0, 0 } };
	struct archive_limits lim = archive_default_limits;
	struct blob b;

	(void)state;
	assert_non_null(zeros);
	b = make_zip(s, 1);
	lim.max_entry_size = 1024 * 1024;
	open_fail(&b, &lim, ERR_LIMIT, "entry 'bomb.bin': uncompressed size "
	    "52428800 exceeds the per-entry limit of 1048576 bytes");
	free(b.p);
	b = make_zip(r, 1);
	open_fail(&b, NULL, ERR_LIMIT, "entry 'z.bin': compression ratio of "
	    "2097152 to");
	free(b.p);
	free(zeros);
}

static void
test_overall_ratio_and_total(void **state)
{
	static unsigned char zeros[60 * 1024];
	static unsigned char noise[40 * 1024];
	struct spec s[10], t[3];
	struct archive_limits lim = archive_default_limits;
	char names[10][8];
	struct blob b;
	uint32_t x = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (unsigned char)(x >> 16);
	}
	/* Each entry is under the ratio floor; together they are a bomb. */
	for (i = 0; i < 10; i++) {
		snprintf(names[i], sizeof(names[i]), "z%zu", i);
		s[i] = (struct spec){ names[i], zeros, sizeof(zeros), 0, 0, 0 };
	}
	b = make_zip(s, 10);
	open_fail(&b, NULL, ERR_LIMIT, "the archive's overall compression ratio");
	free(b.p);
	for (i = 0; i < 3; i++)
		t[i] = (struct spec){ names[i], noise, sizeof(noise), 1, 0, 0 };
	b = make_zip(t, 3);
	lim.max_total_size = 100 * 1024;
	open_fail(&b, &lim, ERR_LIMIT, "the entries' uncompressed sizes add up "
	    "to 122880 bytes, over the limit of 102400");
	free(b.p);
	lim.max_entries = 2;
	b = make_zip(t, 3);
	open_fail(&b, &lim, ERR_LIMIT, "the archive has 3 entries; at most 2 "
	    "are allowed");
	free(b.p);
}

/* The total budget counts what was read, not what the headers said. */
static void
test_total_enforced_on_read(void **state)
{
	static unsigned char text[30 * 1024];
	const struct spec s[] = { { "a.txt", text, sizeof(text), 1, 0, 0 } };
	struct archive_limits lim = archive_default_limits;
	struct blob b = make_zip(s, 1);
	struct archive *a;
	buf_t out;
	err_t e;

	(void)state;
	memset(text, 'q', sizeof(text));
	free(b.p);
	b = make_zip(s, 1);
	lim.max_total_size = 50 * 1024;
	a = open_ok(&b, &lim);
	assert_int_equal(archive_read(a, "a.txt", sizeof(text), &out, &e), 0);
	buf_free(&out);
	assert_int_equal(archive_read(a, "a.txt", sizeof(text), &out, &e),
	    ERR_LIMIT);
	assert_contains(e.msg, "at most 20480 may be read here");
	archive_close(a);
	free(b.p);
}

static void
test_lying_size(void **state)
{
	static unsigned char text[100 * 1024];
	const struct spec s[] = { { "lie.txt", text, sizeof(text), 0, 0, 0 } };
	struct blob b;
	struct archive *a;
	size_t i, c;
	buf_t out;
	err_t e;

	(void)state;
	for (i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)("abcdefghij"[i % 10] + (i / 997) % 7);
	b = make_zip(s, 1);
	c = central(&b);
	/* Uncompressed size: local header +22, central header +24. */
	put32(b.p + 22, 1000);
	put32(b.p + c + 24, 1000);
	a = open_ok(&b, NULL);
	assert_int_equal(archive_read(a, "lie.txt", sizeof(text), &out, &e),
	    ERR_INVALID);
	assert_contains(e.msg, "t.zip: entry 'lie.txt' decompresses to more "
	    "than the 1000 bytes its header declares");
	archive_close(a);
	free(b.p);
}

static void
test_not_zip(void **state)
{
	const struct spec s[] = { { "a.txt", "hello", 5, 0, 0, 0 } };
	struct blob b = { (unsigned char *)"hello, not a zip at all, sorry", 30 };

	(void)state;
	open_fail(&b, NULL, ERR_INVALID, "not a ZIP archive");
	b.len = 0;
	open_fail(&b, NULL, ERR_INVALID, "the archive is empty");
	b = make_zip(s, 1);
	memcpy(b.p + b.len, "GARBAGE!", 8);
	b.len += 8;
	open_fail(&b, NULL, ERR_INVALID, "t.zip: 8 bytes follow the "
	    "end-of-central-directory record (at offset");
	free(b.p);
}

/*
 * An archive libzip refuses as inconsistent says where, from its raw
 * structure (tests/hostile has the same cases as whole bundles).
 */
static void
test_inconsistent_where(void **state)
{
	const struct spec s[] = {
		{ "a.txt", "hello", 5, 0, 0, 0 },
		{ "b.txt", "world", 5, 0, 0, 0 },
	};
	struct blob b;
	size_t eocd, c;

	(void)state;
	/* The end record counts 9 entries; the directory holds 2. */
	b = make_zip(s, 2);
	eocd = b.len - 22;
	b.p[eocd + 8] = 9;
	b.p[eocd + 10] = 9;
	open_fail(&b, NULL, ERR_INVALID, "does not hold the 9 entries the "
	    "end-of-central-directory record counts");
	free(b.p);
	/* The directory's offset points 7 bytes too far. */
	b = make_zip(s, 2);
	eocd = b.len - 22;
	b.p[eocd + 16] = (unsigned char)(b.p[eocd + 16] + 7);
	open_fail(&b, NULL, ERR_INVALID, "places the central directory "
	    "outside the archive");
	free(b.p);
	/* The second entry's local header offset moved by one byte. */
	b = make_zip(s, 2);
	c = central(&b);
	c += 46 + 5;	/* the second central header */
	b.p[c + 42] = (unsigned char)(b.p[c + 42] + 1);
	open_fail(&b, NULL, ERR_INVALID, "entry 'b.txt': no local header at "
	    "the offset the central directory gives");
	free(b.p);
}

/* CRC-32 (IEEE), for the Unicode Path extra field. */
static uint32_t
crc32_of(const char *s, size_t len)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		c ^= (unsigned char)s[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static void
test_unicode_path_field(void **state)
{
	struct blob b;

	(void)state;
	/* Built with an Info-ZIP Unicode Path field naming "evil.txt". */
	{
		zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, NULL);
		unsigned char ef[5 + 9];
		zip_stat_t st;
		zip_t *z;

		zip_source_keep(src);
		z = zip_open_from_source(src, ZIP_TRUNCATE, NULL);
		assert_non_null(z);
		assert_true(zip_file_add(z, "good.txt",
		    zip_source_buffer(z, "x", 1, 0), 0) == 0);
		ef[0] = 1;
		put32(ef + 1, crc32_of("good.txt", 8));
		memcpy(ef + 5, "evil.txt", 8);
		/* libzip will not set 0x7075 itself: set 0x7076, patch below. */
		assert_int_equal(zip_file_extra_field_set(z, 0, 0x7076,
		    ZIP_EXTRA_FIELD_NEW, ef, 13, ZIP_FL_CENTRAL | ZIP_FL_LOCAL),
		    0);
		assert_int_equal(zip_close(z), 0);
		assert_int_equal(zip_source_stat(src, &st), 0);
		assert_int_equal(zip_source_open(src), 0);
		b.len = (size_t)st.size;
		b.p = malloc(b.len);
		assert_non_null(b.p);
		assert_true(zip_source_read(src, b.p, st.size) ==
		    (zip_int64_t)b.len);
		zip_source_close(src);
		zip_source_free(src);
	}
	patch_all(&b, "\x76\x70\x0d\x00", "\x75\x70\x0d\x00", 4);
	open_fail(&b, NULL, ERR_INVALID, "entry 'good.txt': a Unicode Path "
	    "extra field gives the entry another name");
	free(b.p);
}

/* Reads a whole file made by a CLI tool. */
static struct blob
slurp(const char *path)
{
	struct blob b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b.p = malloc((size_t)n);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b.len = (size_t)n;
	return b;
}

static void
test_zip_cli(void **state)
{
	char dir[PATH_MAX], cmd[PATH_MAX * 2], path[PATH_MAX + 32];
	struct archive *a;
	struct blob b;
	buf_t out;
	err_t e;

	(void)state;
	if (system("command -v zip >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "archive"), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir csr && "
	    "printf 'airlock_bundle: 1\\n' > manifest.yaml && "
	    "printf 'req\\n' > csr/a.pem && printf 'req2\\n' > csr/b.pem && "
	    "zip -q -X -r bundle.zip manifest.yaml csr && "
	    "ln -s /etc/passwd link && zip -q -X -y linked.zip manifest.yaml link",
	    dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/bundle.zip", dir);
	b = slurp(path);
	a = open_ok(&b, NULL);
	assert_int_equal(archive_count(a), 4);	/* csr/ is an entry too */
	assert_true(archive_is_dir(a, (size_t)archive_find(a, "csr/")));
	assert_int_equal(archive_read(a, "csr/b.pem", 100, &out, &e), 0);
	assert_memory_equal(out.data, "req2\n", 5);
	buf_free(&out);
	archive_close(a);
	free(b.p);
	snprintf(path, sizeof(path), "%s/linked.zip", dir);
	b = slurp(path);
	open_fail(&b, NULL, ERR_INVALID, "entry 'link': the entry is a symbolic "
	    "link");
	free(b.p);
	assert_int_equal(testutil_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names_in_zip),
		cmocka_unit_test(test_raw_name_bytes),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_overall_ratio_and_total),
		cmocka_unit_test(test_total_enforced_on_read),
		cmocka_unit_test(test_lying_size),
		cmocka_unit_test(test_not_zip),
		cmocka_unit_test(test_inconsistent_where),
		cmocka_unit_test(test_unicode_path_field),
		cmocka_unit_test(test_zip_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
