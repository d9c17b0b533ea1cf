/* `berth-shim netns add PATH [netlink]` / `berth-shim netns del PATH`: persistent network
 * namespaces for the engine (src/engine/netns.ts). add: a new netns bind-mounted on PATH (created
 * here, must not exist), so it outlives its processes and a restarted container rejoins it by
 * path; with `netlink`, the same process then runs a network plan (berth-netlink.c) from the host
 * netns with the new namespace as fd 3 -- the container's links in one process, not two. del:
 * detach that mount and remove PATH (a missing mount or file is fine); the kernel frees the
 * namespace, and the veth pairs in it, once nothing uses it. Errors: one line on stderr, exit 1.
 * Included by berth-shim.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int netns_fail(const char *what, const char *path)
{
	fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int netns_main(int argc, char **argv)
{
	int then_netlink = argc == 4 && !strcmp(argv[1], "add") && !strcmp(argv[3], "netlink");
	if ((argc != 3 && !then_netlink) || (strcmp(argv[1], "add") && strcmp(argv[1], "del"))) {
		fprintf(stderr, "usage: berth-shim netns add PATH [netlink] | netns del PATH\n");
		return 2;
	}
	const char *path = argv[2];
	if (!strcmp(argv[1], "del")) {
		if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			return netns_fail("unmount", path);
		if (unlink(path) < 0 && errno != ENOENT)
			return netns_fail("remove", path);
		return 0;
	}
	die_with_parent(); /* berth-netlink.c: nothing is made for a sender that is gone */
	/* the host's netns, to come back to (kept above fd 3, which the plan uses) */
	int hostfd = -1;
	if (then_netlink) {
		int h = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		hostfd = h < 0 ? -1 : fcntl(h, F_DUPFD_CLOEXEC, 10);
		if (h >= 0)
			close(h);
		if (hostfd < 0)
			return netns_fail("open the host network namespace for", path);
	}
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return netns_fail("create", path);
	close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;
		unlink(path);
		errno = e;
		return netns_fail("unshare the network namespace for", path);
	}
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0) {
		int e = errno;
		unlink(path);
		errno = e;
		return netns_fail("bind-mount the network namespace on", path);
	}
	if (!then_netlink)
		return 0;
	int nsfd = open(path, O_RDONLY);
	if (nsfd < 0 || (nsfd != 3 && (dup2(nsfd, 3) < 0 || close(nsfd) < 0)) || setns(hostfd, CLONE_NEWNET) < 0) {
		int e = errno;
		umount2(path, MNT_DETACH);
		unlink(path);
		errno = e;
		return netns_fail("hand over the network namespace", path);
	}
	close(hostfd);
	fflush(stdout);
	exit(netlink_main());
}
