/* airgap.c: see airgap.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/airgap.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/text.h"

/* <linux/if.h> and <linux/route.h> values, fixed by the kernel ABI. */
#define AIRGAP_IFF_UP		0x1ul
#define AIRGAP_IFF_LOOPBACK	0x8ul
#define AIRGAP_RTF_UP		0x0001ul
#define AIRGAP_RTF_REJECT	0x0200ul

/* Fields of a line, split on blanks, pointing into a copy of it
 * (proc/self/net/dev has 17, the route files 10 and 11). */
#define AIRGAP_FIELDS 24

struct airgap_lines {
	const char *path;		/* for messages */
	const unsigned char *p;
	size_t len, off;
	unsigned long lineno;
	char line[AIRGAP_LINE_MAX + 1];
	char *field[AIRGAP_FIELDS];
	size_t n;
};

/* Shows an interface name (untrusted bytes) for a message. */
static const char *
airgap_show(const char *name, char *out, size_t outsz)
{
	return text_show(name, strlen(name), AIRGAP_NAME_MAX, out, outsz);
}

static int
airgap_read(const char *root, const char *rel, size_t max, buf_t *out,
    char *path, size_t pathsz, err_t *err)
{
	int r;

	if ((r = fileio_join(path, pathsz, root, rel, err)) != 0)
		return r;
	/* fileio's messages name the path already. */
	if ((r = fileio_read(path, max, out, err)) != 0)
		return r;
	if (out->len > 0 && memchr(out->data, '\0', out->len) != NULL) {
		buf_free(out);
		return err_set(err, ERR_INVALID, "%s holds a NUL byte", path);
	}
	return 0;
}

/*
 * The next line of l split into fields: 1, 0 at the end, or ERR_LIMIT
 * (too long, too many fields) with err set.
 */
static int
airgap_next_line(struct airgap_lines *l, err_t *err)
{
	const unsigned char *nl;
	size_t n;
	char *s, *save = NULL;

	if (l->off >= l->len)
		return 0;
	nl = memchr(l->p + l->off, '\n', l->len - l->off);
	n = nl != NULL ? (size_t)(nl - (l->p + l->off)) : l->len - l->off;
	l->lineno++;
	if (n > AIRGAP_LINE_MAX)
		return err_set(err, ERR_LIMIT, "%s line %lu: longer than %d "
		    "bytes", l->path, l->lineno, AIRGAP_LINE_MAX);
	memcpy(l->line, l->p + l->off, n);
	l->line[n] = '\0';
	l->off += n + (nl != NULL ? 1 : 0);
	l->n = 0;
	for (s = strtok_r(l->line, " \t", &save); s != NULL;
	    s = strtok_r(NULL, " \t", &save)) {
		if (l->n == AIRGAP_FIELDS)
			return err_set(err, ERR_LIMIT, "%s line %lu: more "
			    "than %d fields", l->path, l->lineno,
			    AIRGAP_FIELDS);
		l->field[l->n++] = s;
	}
	return 1;
}

/* Exactly digits hex digits (or up to digits with any, when 0). */
static int
airgap_hex(const char *s, size_t digits, unsigned long *out)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 8 || (digits != 0 && n != digits))
		return -1;
	*out = 0;
	for (i = 0; i < n; i++) {
		int v = buf_hexval((unsigned char)s[i]);

		if (v < 0)
			return -1;
		*out = *out << 4 | (unsigned long)v;
	}
	return 0;
}

static int
airgap_bad_field(const struct airgap_lines *l, const char *what,
    const char *v, err_t *err)
{
	char shown[64];

	return err_set(err, ERR_INVALID, "%s line %lu: %s '%s' is not what "
	    "the kernel writes there", l->path, l->lineno, what,
	    text_show(v, strlen(v), 40, shown, sizeof(shown)));
}

static int
airgap_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= AIRGAP_NAME_MAX && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Adds name to the list unless it is there; ERR_LIMIT past the cap. */
static int
airgap_add(char (*names)[AIRGAP_NAME_MAX + 1], size_t *n, const char *name,
    const char *where, err_t *err)
{
	size_t i;

	if (!airgap_name_ok(name)) {
		char shown[64];

		return err_set(err, ERR_INVALID, "%s: '%s' is not an interface "
		    "name", where, text_show(name, strlen(name), 40, shown,
		    sizeof(shown)));
	}
	for (i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return 0;
	if (*n == AIRGAP_MAX_IFACES)
		return err_set(err, ERR_LIMIT, "%s: more than %d network "
		    "interfaces", where, AIRGAP_MAX_IFACES);
	snprintf(names[(*n)++], AIRGAP_NAME_MAX + 1, "%s", name);
	return 0;
}

/* The interfaces sysfs shows. */
static int
airgap_sysfs_names(const char *root, char (*names)[AIRGAP_NAME_MAX + 1],
    size_t *n, err_t *err)
{
	char dir[4096];
	struct dirent *de;
	DIR *dh;
	int r = 0;

	if ((r = fileio_join(dir, sizeof(dir), root, "sys/class/net",
	    err)) != 0)
		return r;
	if ((dh = opendir(dir)) == NULL)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "%s: cannot list the network interfaces: %s", dir,
		    strerror(errno));
	while (r == 0 && (de = readdir(dh)) != NULL)
		if (de->d_name[0] != '.')
			r = airgap_add(names, n, de->d_name, dir, err);
	closedir(dh);
	return r;
}

/* What a proc/net line handler is given; 0 or an error in err. */
typedef int (*airgap_line_fn)(void *ctx, struct airgap_lines *l,
    err_t *err);

/* Reads root/rel and hands each non-blank line to fn. */
static int
airgap_walk(const char *root, const char *rel, airgap_line_fn fn, void *ctx,
    err_t *err)
{
	struct airgap_lines l;
	char path[4096];
	buf_t b;
	int r;

	if ((r = airgap_read(root, rel, AIRGAP_FILE_MAX, &b, path,
	    sizeof(path), err)) != 0)
		return r;
	memset(&l, 0, sizeof(l));
	l.path = path;
	l.p = b.data;
	l.len = b.len;
	while ((r = airgap_next_line(&l, err)) == 1)
		if (l.n > 0 && (r = fn(ctx, &l, err)) != 0)
			break;
	buf_free(&b);
	return r < 0 ? r : 0;
}

struct airgap_names {
	char (*v)[AIRGAP_NAME_MAX + 1];
	size_t *n;
};

/* proc/self/net/dev: two header lines, then "  NAME: counters...". */
static int
airgap_dev_line(void *ctx, struct airgap_lines *l, err_t *err)
{
	struct airgap_names *nm = ctx;
	char *colon;

	if (l->lineno <= 2)
		return 0;
	if ((colon = strchr(l->field[0], ':')) == NULL)
		return airgap_bad_field(l, "interface", l->field[0], err);
	*colon = '\0';
	return airgap_add(nm->v, nm->n, l->field[0], l->path, err);
}

/* One line of a small sysfs file, without its newline. */
static int
airgap_sysfs_value(const char *root, const char *name, const char *attr,
    char *out, size_t outsz, char *path, size_t pathsz, err_t *err)
{
	char rel[128];
	buf_t b;
	size_t n;
	int r;

	snprintf(rel, sizeof(rel), "sys/class/net/%s/%s", name, attr);
	/* sysfs reports every attribute as one page long. */
	if ((r = airgap_read(root, rel, 4096, &b, path, pathsz, err)) != 0)
		return r;
	n = b.len;
	if (n > 0 && b.data[n - 1] == '\n')
		n--;
	if (n == 0 || n >= outsz || memchr(b.data, '\n', n) != NULL) {
		buf_free(&b);
		return err_set(err, ERR_INVALID, "%s: not one short line",
		    path);
	}
	memcpy(out, b.data, n);
	out[n] = '\0';
	buf_free(&b);
	return 0;
}

static int
airgap_iface(const char *root, const char *name, struct airgap_finding *f,
    err_t *err)
{
	char path[4096], v[32], shown[64];
	unsigned long flags;
	struct airgap_iface *i;
	err_t ignored;
	int r;

	r = airgap_sysfs_value(root, name, "flags", v, sizeof(v), path,
	    sizeof(path), err);
	if (r == ERR_NOTFOUND)
		return err_set(err, ERR_NOTFOUND, "%s: interface %s is in "
		    "proc/self/net/dev but not in sysfs, so whether it is up "
		    "cannot be told (sys was mounted in another network "
		    "namespace)",
		    path, airgap_show(name, shown, sizeof(shown)));
	if (r != 0)
		return r;
	if (strncmp(v, "0x", 2) != 0 || airgap_hex(v + 2, 0, &flags) != 0)
		return err_set(err, ERR_INVALID, "%s: '%s' is not hex "
		    "interface flags (0x...)", path, text_show(v, strlen(v), 20,
		    shown, sizeof(shown)));
	f->n_ifaces++;
	if ((flags & AIRGAP_IFF_LOOPBACK) != 0 || (flags & AIRGAP_IFF_UP) == 0)
		return 0;
	i = &f->up[f->n_up++];
	snprintf(i->name, sizeof(i->name), "%s", name);
	i->flags = flags;
	/* The operational state only explains; a host without it is up. */
	if (airgap_sysfs_value(root, name, "operstate", i->operstate,
	    sizeof(i->operstate), path, sizeof(path), &ignored) != 0 ||
	    !text_clean(i->operstate))
		snprintf(i->operstate, sizeof(i->operstate), "?");
	return 0;
}

static void
airgap_route_add(struct airgap_finding *f, int ipv6, const char *dev,
    const char *via)
{
	if (f->n_routes < AIRGAP_MAX_ROUTES) {
		struct airgap_route *rt = &f->routes[f->n_routes];

		rt->ipv6 = ipv6;
		snprintf(rt->dev, sizeof(rt->dev), "%s", dev);
		snprintf(rt->via, sizeof(rt->via), "%s", via);
	}
	f->n_routes++;
}

/*
 * proc/self/net/route: "Iface Destination Gateway Flags RefCnt Use
 * Metric Mask MTU Window IRTT", addresses as the hex of the network-order word
 * read in host order.
 */
static int
airgap_route4_line(void *ctx, struct airgap_lines *l, err_t *err)
{
	struct airgap_finding *f = ctx;
	char via[INET_ADDRSTRLEN] = "";
	unsigned long dst, gw, flags, mask;
	uint32_t word;

	if (l->lineno == 1)
		return strcmp(l->field[0], "Iface") == 0 ? 0 :
		    airgap_bad_field(l, "header", l->field[0], err);
	if (l->n != 11)
		return err_set(err, ERR_INVALID, "%s line %lu: %zu fields, not "
		    "11", l->path, l->lineno, l->n);
	if (!airgap_name_ok(l->field[0]))
		return airgap_bad_field(l, "Iface", l->field[0], err);
	if (airgap_hex(l->field[1], 8, &dst) != 0 ||
	    airgap_hex(l->field[2], 8, &gw) != 0 ||
	    airgap_hex(l->field[3], 4, &flags) != 0 ||
	    airgap_hex(l->field[7], 8, &mask) != 0)
		return airgap_bad_field(l, "route", l->field[1], err);
	if (dst != 0 || mask != 0 || (flags & AIRGAP_RTF_UP) == 0)
		return 0;
	word = (uint32_t)gw;
	if (gw != 0 && inet_ntop(AF_INET, &word, via, sizeof(via)) == NULL)
		via[0] = '\0';
	airgap_route_add(f, 0, l->field[0], via);
	return 0;
}

/* 32 hex digits into 16 bytes. */
static int
airgap_in6(const char *s, unsigned char out[16])
{
	size_t len;

	return strlen(s) == 32 && buf_unhex(s, out, 16, &len) == 0 &&
	    len == 16 ? 0 : -1;
}

/*
 * proc/self/net/ipv6_route: "dst dst_len src src_len next_hop metric
 * refcnt use flags device", addresses as 32 hex digits in network order.
 */
static int
airgap_route6_line(void *ctx, struct airgap_lines *l, err_t *err)
{
	static const unsigned char zero[16];
	struct airgap_finding *f = ctx;
	char via[INET6_ADDRSTRLEN] = "";
	unsigned char dst[16], src[16], hop[16];
	unsigned long plen, slen, v, flags;

	if (l->n != 10)
		return err_set(err, ERR_INVALID, "%s line %lu: %zu fields, not "
		    "10", l->path, l->lineno, l->n);
	if (airgap_in6(l->field[0], dst) != 0 ||
	    airgap_hex(l->field[1], 2, &plen) != 0 ||
	    airgap_in6(l->field[2], src) != 0 ||
	    airgap_hex(l->field[3], 2, &slen) != 0 ||
	    airgap_in6(l->field[4], hop) != 0 ||
	    airgap_hex(l->field[5], 8, &v) != 0 ||
	    airgap_hex(l->field[6], 8, &v) != 0 ||
	    airgap_hex(l->field[7], 8, &v) != 0 ||
	    airgap_hex(l->field[8], 8, &flags) != 0)
		return airgap_bad_field(l, "route", l->field[0], err);
	if (!airgap_name_ok(l->field[9]))
		return airgap_bad_field(l, "device", l->field[9], err);
	/* Every namespace keeps "unreachable" ::/0 reject routes on lo. */
	if (plen != 0 || memcmp(dst, zero, 16) != 0 ||
	    (flags & AIRGAP_RTF_UP) == 0 || (flags & AIRGAP_RTF_REJECT) != 0)
		return 0;
	if (memcmp(hop, zero, 16) != 0 && inet_ntop(AF_INET6, hop, via,
	    sizeof(via)) == NULL)
		via[0] = '\0';
	airgap_route_add(f, 1, l->field[9], via);
	return 0;
}

/* Appends to the reason, ending it with "..." when it is full. */
static void
airgap_say(struct airgap_finding *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
airgap_say(struct airgap_finding *f, const char *fmt, ...)
{
	size_t used = strlen(f->reason);
	va_list ap;
	int n;

	if (used + 4 >= sizeof(f->reason))
		return;
	if (used > 0) {
		snprintf(f->reason + used, sizeof(f->reason) - used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(f->reason + used, sizeof(f->reason) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(f->reason) - used)
		memcpy(f->reason + sizeof(f->reason) - 4, "...", 4);
}

static void
airgap_reason(struct airgap_finding *f)
{
	char a[64], b[64];
	size_t i;

	f->reason[0] = '\0';
	if (airgap_clear(f)) {
		snprintf(f->reason, sizeof(f->reason), "no interface but "
		    "loopback is up (%zu looked at), no default route",
		    f->n_ifaces);
		return;
	}
	for (i = 0; i < f->n_up; i++)
		airgap_say(f, "%s is up (operstate %s)", airgap_show(
		    f->up[i].name, a, sizeof(a)), f->up[i].operstate);
	for (i = 0; i < f->n_routes && i < AIRGAP_MAX_ROUTES; i++) {
		const struct airgap_route *rt = &f->routes[i];

		airgap_say(f, "%sdefault route%s%s on %s", rt->ipv6 ?
		    "IPv6 " : "", rt->via[0] != '\0' ? " via " : "", rt->via,
		    airgap_show(rt->dev, b, sizeof(b)));
	}
	if (f->n_routes > AIRGAP_MAX_ROUTES)
		airgap_say(f, "%zu more default routes",
		    f->n_routes - AIRGAP_MAX_ROUTES);
}

int
airgap_inspect(const char *root, struct airgap_finding *f, err_t *err)
{
	/* On the heap: the worker's stack need not hold 4 KiB of names. */
	char (*names)[AIRGAP_NAME_MAX + 1];
	struct airgap_names nm;
	size_t i, n = 0;
	int r;

	memset(f, 0, sizeof(*f));
	if ((names = calloc(AIRGAP_MAX_IFACES, sizeof(*names))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	nm.v = names;
	nm.n = &n;
	r = airgap_sysfs_names(root, names, &n, err);
	if (r == 0)
		r = airgap_walk(root, "proc/self/net/dev", airgap_dev_line,
		    &nm, err);
	for (i = 0; r == 0 && i < n; i++)
		r = airgap_iface(root, names[i], f, err);
	free(names);
	if (r == 0)
		r = airgap_walk(root, "proc/self/net/route",
		    airgap_route4_line, f, err);
	/* No ipv6_route: a kernel without IPv6, and so no IPv6 route. */
	if (r == 0 && (r = airgap_walk(root, "proc/self/net/ipv6_route",
	    airgap_route6_line, f, err)) == ERR_NOTFOUND)
		r = 0;
	if (r != 0) {
		/* Nothing half-read is kept: the error is the finding. */
		f->n_up = f->n_routes = 0;
		airgap_say(f, "cannot tell: %s", err->msg);
		return r;
	}
	airgap_reason(f);
	return 0;
}

int
airgap_clear(const struct airgap_finding *f)
{
	return f->n_up == 0 && f->n_routes == 0;
}
