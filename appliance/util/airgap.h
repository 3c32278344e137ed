/*
 * airgap.h: is this host's network switched off? The air-gap guard's
 * reading of the host (docs/man/airlockd.8, "AIR-GAP GUARD").
 *
 * The appliance must sign only on an air-gapped host: no network
 * interface up but loopback, no default route. The state is read from
 * files, never through a socket, because the daemon's sandbox forbids
 * every address family but AF_UNIX:
 *
 *   proc/self/net/dev          the interfaces of the reader's network
 *                              namespace (/proc/net points here; the
 *                              link is hidden by ProcSubset=pid, this
 *                              path is not)
 *   sys/class/net/IF/flags     IFF_* flags in hex (IFF_UP, IFF_LOOPBACK)
 *   sys/class/net/IF/operstate for the message
 *   proc/self/net/route        IPv4 routes: a default one is 0.0.0.0/0, up
 *   proc/self/net/ipv6_route   IPv6 routes: ::/0, up and not a reject
 *                              route (the kernel keeps "unreachable"
 *                              ::/0 entries on lo in every namespace)
 *
 * Every interface named by either list is looked at: sysfs shows the
 * namespace that mounted it, which is not always the reader's, so an
 * interface of ours with no sysfs entry cannot be judged and fails the
 * check. Anything unreadable, malformed or over a limit fails it too:
 * the guard fails closed. A missing ipv6_route means a kernel without
 * IPv6 (ipv6.disable=1) and so no IPv6 route; the IPv4 route file cannot
 * be absent on a Linux host, and its absence is an error.
 *
 * The root directory is a parameter so that tests run the reading on
 * fixture trees; the appliance passes "/".
 */
#ifndef AIRLOCK_UTIL_AIRGAP_H
#define AIRLOCK_UTIL_AIRGAP_H

#include <stddef.h>

#include "util/err.h"

/* Interfaces looked at; a host with more is refused (ERR_LIMIT). */
#define AIRGAP_MAX_IFACES 256
/* Default routes kept for the message (more are counted). */
#define AIRGAP_MAX_ROUTES 16
/* A line of a proc/self/net file. */
#define AIRGAP_LINE_MAX 512
/* A whole proc/net file: 1 MiB is thousands of routes. */
#define AIRGAP_FILE_MAX (1u << 20)
/* Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
#define AIRGAP_NAME_MAX 15
#define AIRGAP_REASON_MAX 512

struct airgap_iface {
	char name[AIRGAP_NAME_MAX + 1];
	char operstate[16];		/* "up", "unknown", ... or "?" */
	unsigned long flags;
};

struct airgap_route {
	int ipv6;
	char dev[AIRGAP_NAME_MAX + 1];
	char via[48];			/* the gateway, "" when on-link */
};

struct airgap_finding {
	size_t n_ifaces;		/* interfaces looked at */
	struct airgap_iface up[AIRGAP_MAX_IFACES];	/* up, not loopback */
	size_t n_up;
	struct airgap_route routes[AIRGAP_MAX_ROUTES];	/* default routes */
	size_t n_routes;		/* all of them, kept or not */
	/* One line for people: "eth0 is up (operstate up); default route
	 * via 192.0.2.1 on eth0", or what a clear host looks like. */
	char reason[AIRGAP_REASON_MAX];
};

/*
 * Reads the network state under root ("/" on the appliance) into f: 0
 * (then airgap_clear says whether the host is air-gapped), or ERR_NOTFOUND,
 * ERR_INVALID, ERR_LIMIT, ERR_IO with the file and line in err, in which
 * case the caller must refuse as if the host were networked.
 */
int airgap_inspect(const char *root, struct airgap_finding *f, err_t *err);

/* 1 when f shows no interface up but loopback and no default route. */
int airgap_clear(const struct airgap_finding *f);

#endif
