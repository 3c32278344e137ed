#!/bin/sh
# offline.sh CMD [ARG...]: runs CMD (exec, so it keeps this process's id)
# in a network namespace of its own, which holds only lo, down, and with a
# sysfs mounted for that namespace, so that /sys/class/net shows its
# interfaces and not the host's. airlockd's air-gap guard then passes
# honestly on a networked test machine. Unix sockets on file paths still
# connect across network namespaces, so the console keeps working.
#
# As root: unshare --net --mount. Otherwise an unprivileged user namespace
# makes the mount possible, and a second one maps our own uid back, so the
# daemon sees console clients as the user they are. Fails, saying why,
# when neither works.
set -eu
[ $# -gt 0 ] || { echo "usage: offline.sh CMD [ARG...]" >&2; exit 2; }
inner='mount -t sysfs sysfs /sys && exec "$@"'
if [ "$(id -u)" = 0 ]; then
	if unshare --net --mount true 2>/dev/null; then
		exec unshare --net --mount sh -c "$inner" offline "$@"
	fi
elif unshare --user --map-root-user --net --mount true 2>/dev/null; then
	uid=$(id -u); gid=$(id -g)
	exec unshare --user --map-root-user --net --mount sh -c \
	    "mount -t sysfs sysfs /sys && exec unshare --user --map-user=$uid \
	    --map-group=$gid \"\$@\"" offline "$@"
fi
echo "offline.sh: cannot make a network namespace for $1: unshare --net" \
    "needs root or unprivileged user namespaces" \
    "(sysctl kernel.unprivileged_userns_clone=1)" >&2
exit 1
