/*
 * test_airgap.c: the air-gap guard's reading of the host, on fixture
 * trees that stand in for /sys and /proc (sys/class/net/IF/flags,
 * proc/self/net/dev, route and ipv6_route), written as the kernel
 * writes them.
 */
#include "testutil.h"
#include "util/airgap.h"

#define ROUTE_HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\t" \
    "Metric\tMask\t\tMTU\tWindow\tIRTT\n"
/* As the kernel writes it: 17 fields on every line past the first. */
#define DEV_HEADER "Inter-|   Receive                                      " \
    "          |  Transmit\n face |bytes    packets errs drop fifo frame " \
    "compressed multicast|bytes    packets errs drop fifo colls carrier " \
    "compressed\n"
#define DEV_LO "    lo:       0       0    0    0    0     0          0  " \
    "       0        0       0    0    0    0     0       0          0\n"
/* What every namespace's ipv6_route holds: unreachable ::/0 on lo. */
#define V6_UNREACHABLE "00000000000000000000000000000000 00 " \
    "00000000000000000000000000000000 00 " \
    "00000000000000000000000000000000 ffffffff 00000001 00000000 " \
    "00200200       lo\n"
#define V6_DEFAULT "00000000000000000000000000000000 00 " \
    "00000000000000000000000000000000 00 " \
    "fd000000000000000000000000000001 00000400 00000003 00000000 " \
    "00000003     eth0\n"
#define V4_DEFAULT "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t" \
    "0\t0\t0\n"
#define V4_LINK "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t" \
    "0\n"

struct fx {
	char root[256];
};

static void
put(struct fx *f, const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + strlen(f->root) + 1; (slash = strchr(slash,
	    '/')) != NULL; slash++) {
		*slash = '\0';
		(void)mkdir(dir, 0700);
		*slash = '/';
	}
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* An interface in sysfs (proc/self/net/dev holds the namespace's list). */
static void
iface(struct fx *f, const char *name, const char *flags, const char *oper)
{
	char rel[128], v[32];

	snprintf(rel, sizeof(rel), "sys/class/net/%s/flags", name);
	snprintf(v, sizeof(v), "%s\n", flags);
	put(f, rel, v);
	snprintf(rel, sizeof(rel), "sys/class/net/%s/operstate", name);
	snprintf(v, sizeof(v), "%s\n", oper);
	put(f, rel, v);
}

/* A host with only lo, up, and no route: the clear case. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || testutil_tmpdir(f->root, sizeof(f->root),
	    "airgap") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	iface(f, "lo", "0x9", "unknown");
	put(f, "proc/self/net/dev", DEV_HEADER DEV_LO);
	put(f, "proc/self/net/route", ROUTE_HEADER);
	put(f, "proc/self/net/ipv6_route", V6_UNREACHABLE);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void)testutil_rmtree(f->root);
	free(f);
	return 0;
}

static void
inspect_ok(struct fx *f, struct airgap_finding *g)
{
	err_t e;

	err_clear(&e);
	if (airgap_inspect(f->root, g, &e) != 0)
		fail_msg("airgap_inspect: %s", e.msg);
}

static int
inspect_err(struct fx *f, err_t *e)
{
	struct airgap_finding g;
	int r;

	err_clear(e);
	r = airgap_inspect(f->root, &g, e);
	assert_int_not_equal(r, 0);
	/* The error is the finding: a caller that logs it says why. */
	assert_contains(g.reason, "cannot tell");
	assert_int_equal(airgap_clear(&g), 1);
	return r;
}

static void
t_loopback_only_passes(void **state)
{
	struct airgap_finding g;

	inspect_ok(*state, &g);
	assert_int_equal(airgap_clear(&g), 1);
	assert_int_equal(g.n_ifaces, 1);
	assert_contains(g.reason, "no interface but loopback is up");
}

static void
t_eth0_up_refused(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	iface(f, "eth0", "0x1003", "up");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 0);
	assert_int_equal(g.n_up, 1);
	assert_string_equal(g.up[0].name, "eth0");
	assert_string_equal(g.reason, "eth0 is up (operstate up)");
}

static void
t_present_but_down_passes(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	iface(f, "eth0", "0x1002", "down");
	iface(f, "ifb0", "0x82", "down");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 1);
	assert_int_equal(g.n_ifaces, 3);
}

/* Up without a carrier is still up: a cable plugged in later works. */
static void
t_up_without_carrier_refused(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	iface(f, "v0", "0x1003", "lowerlayerdown");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 0);
	assert_string_equal(g.reason, "v0 is up (operstate lowerlayerdown)");
}

static void
t_ipv4_default_refused(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	put(f, "proc/self/net/route", ROUTE_HEADER V4_LINK V4_DEFAULT);
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 0);
	assert_int_equal(g.n_routes, 1);
	assert_string_equal(g.reason, "default route via 192.0.2.1 on eth0");
}

/* A down default route (no RTF_UP) and a non-default route do not count. */
static void
t_ipv4_other_routes_pass(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	put(f, "proc/self/net/route", ROUTE_HEADER V4_LINK
	    "eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 1);
}

static void
t_ipv6_default_refused(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	put(f, "proc/self/net/ipv6_route", V6_DEFAULT V6_UNREACHABLE);
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 0);
	assert_int_equal(g.n_routes, 1);
	assert_int_equal(g.routes[0].ipv6, 1);
	assert_string_equal(g.reason, "IPv6 default route via fd00::1 on eth0");
}

static void
t_everything_named(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	iface(f, "eth0", "0x1003", "up");
	put(f, "proc/self/net/route", ROUTE_HEADER V4_DEFAULT);
	put(f, "proc/self/net/ipv6_route", V6_DEFAULT);
	inspect_ok(f, &g);
	assert_string_equal(g.reason, "eth0 is up (operstate up); default "
	    "route via 192.0.2.1 on eth0; IPv6 default route via fd00::1 on "
	    "eth0");
}

/* A namespace whose lo is down prints an empty route file, not even
 * the header. */
static void
t_empty_route_file_passes(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	put(f, "proc/self/net/route", "");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 1);
}

/* A kernel without IPv6 has no ipv6_route: nothing to refuse there. */
static void
t_no_ipv6_file_passes(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;
	char path[512];

	snprintf(path, sizeof(path), "%s/proc/self/net/ipv6_route", f->root);
	assert_int_equal(unlink(path), 0);
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 1);
}

/* Every Linux host has proc/self/net/route: its absence is an error. */
static void
t_no_ipv4_file_error(void **state)
{
	struct fx *f = *state;
	char path[512];
	err_t e;

	snprintf(path, sizeof(path), "%s/proc/self/net/route", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(inspect_err(f, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "proc/self/net/route");
}

static void
t_no_sysfs_error(void **state)
{
	struct fx *f = *state;
	char path[512];
	err_t e;

	snprintf(path, sizeof(path), "%s/sys/class/net/lo/flags", f->root);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/sys/class/net/lo/operstate", f->root);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/sys/class/net/lo", f->root);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/sys/class/net", f->root);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(inspect_err(f, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "sys/class/net");
}

/*
 * An interface of our namespace (proc/self/net/dev) that sysfs does not show:
 * sys belongs to another namespace and cannot say whether it is up.
 */
static void
t_namespace_mismatch_error(void **state)
{
	struct fx *f = *state;
	err_t e;

	put(f, "proc/self/net/dev", DEV_HEADER DEV_LO "    v1:0 0 0 0\n");
	assert_int_equal(inspect_err(f, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "interface v1 is in proc/self/net/dev but "
	    "not in sysfs");
}

static void
t_malformed_flags_error(void **state)
{
	struct fx *f = *state;
	err_t e;

	iface(f, "eth0", "up", "up");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "eth0/flags: 'up' is not hex interface flags");
	iface(f, "eth0", "0x1003\n0x1", "up");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "not one short line");
	iface(f, "eth0", "0x123456789", "up");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
}

static void
t_malformed_route_error(void **state)
{
	struct fx *f = *state;
	err_t e;

	put(f, "proc/self/net/route", ROUTE_HEADER
	    "eth0\t0000000G\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "route line 2: route '0000000G'");
	put(f, "proc/self/net/route", ROUTE_HEADER "eth0\t00000000\t010200C0\n");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "line 2: 3 fields, not 11");
	put(f, "proc/self/net/route", "Destination\n");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "line 1: header");
	put(f, "proc/self/net/route", ROUTE_HEADER);
	put(f, "proc/self/net/ipv6_route", V6_UNREACHABLE "zz 00\n");
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "ipv6_route line 2: 2 fields, not 10");
}

static void
t_nul_byte_error(void **state)
{
	struct fx *f = *state;
	char path[512];
	FILE *fp;
	err_t e;

	snprintf(path, sizeof(path), "%s/proc/self/net/route", f->root);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite("Iface\0x\n", 1, 8, fp), 8);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(inspect_err(f, &e), ERR_INVALID);
	assert_contains(e.msg, "NUL byte");
}

static void
t_overlong_line_error(void **state)
{
	struct fx *f = *state;
	char line[AIRGAP_LINE_MAX + 64];
	err_t e;

	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	put(f, "proc/self/net/ipv6_route", line);
	assert_int_equal(inspect_err(f, &e), ERR_LIMIT);
	assert_contains(e.msg, "line 1: longer than 512 bytes");
}

static void
t_too_many_interfaces_error(void **state)
{
	struct fx *f = *state;
	char name[16];
	int i;
	err_t e;

	for (i = 0; i < AIRGAP_MAX_IFACES; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		iface(f, name, "0x1002", "down");
	}
	assert_int_equal(inspect_err(f, &e), ERR_LIMIT);
	assert_contains(e.msg, "more than 256 network interfaces");
}

/* Names come from the kernel, but are shown escaped all the same. */
static void
t_odd_name_escaped(void **state)
{
	struct fx *f = *state;
	struct airgap_finding g;

	iface(f, "e\x1b[1m", "0x1003", "up");
	inspect_ok(f, &g);
	assert_int_equal(airgap_clear(&g), 0);
	assert_string_equal(g.reason, "e\\x1b[1m is up (operstate up)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_loopback_only_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_eth0_up_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_present_but_down_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_up_without_carrier_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_ipv4_default_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_ipv4_other_routes_pass,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_ipv6_default_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_everything_named, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_empty_route_file_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_no_ipv6_file_passes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_no_ipv4_file_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_no_sysfs_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_namespace_mismatch_error,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_malformed_flags_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_malformed_route_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_nul_byte_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_overlong_line_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_too_many_interfaces_error,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_odd_name_escaped, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
