/*
 * `berth-shim idmap-probe PATH`: can PATH's file system be idmapped (mount_setattr with
 * MOUNT_ATTR_IDMAP)? Exit 0 yes; 1 no, with the kernel's reason on stderr. src/runtime asks
 * before choosing between an idmapped rootfs and the chown-copy fallback; nothing is left
 * mounted (the detached clone goes away with its fd).
 *
 * `berth-shim idmap-mount SRC DST UIDMAP GIDMAP`: attach at DST (in the caller's mount
 * namespace) an idmapped clone of SRC; maps are /proc/PID/uid_map text (lines "c h n"). Used
 * to build an overlay from idmapped layers (overlayfs itself cannot be idmapped).
 *
 * Included from berth-shim.c (uses its syscall numbers and struct berth_mount_attr).
 */

/* A user namespace fd with these maps (a forked holder unshares; we write its maps). */
static int idmap_userns(const char *uidmap, const char *gidmap)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return perror("pipe"), -1;
	pid_t holder = fork();
	if (holder < 0)
		return perror("fork"), -1;
	if (holder == 0) { /* holds a user namespace (its maps written by us) until we are done */
		close(p[1]);
		char c;
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (read(p[0], &c, 1) < 0) { }
		_exit(0);
	}
	close(p[0]);
	char nspath[64], mpath[64], self[64], other[64];
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/user", holder);
	int ok = 0;
	for (int tries = 0; tries < 10000 && !ok; tries++) {
		ssize_t a1 = readlink("/proc/self/ns/user", self, sizeof(self));
		ssize_t a2 = readlink(nspath, other, sizeof(other));
		ok = a1 > 0 && a2 > 0 && (a1 != a2 || memcmp(self, other, a1));
		if (!ok)
			usleep(100);
	}
	for (int i = 0; ok && i < 2; i++) {
		const char *map = i ? gidmap : uidmap;
		snprintf(mpath, sizeof(mpath), "/proc/%d/%s", holder, i ? "gid_map" : "uid_map");
		int fd = open(mpath, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			ok = 0;
		if (fd >= 0)
			close(fd);
	}
	int usernsfd = ok ? open(nspath, O_RDONLY | O_CLOEXEC) : -1;
	close(p[1]);
	waitpid(holder, NULL, 0);
	if (usernsfd < 0)
		fprintf(stderr, "cannot make a user namespace with the mappings\n");
	return usernsfd;
}

static int idmap_probe(const char *path)
{
	int rc = 2, tree = -1;
	int usernsfd = idmap_userns("0 0 1\n", "0 0 1\n");
	if (usernsfd < 0)
		return 2;
	tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (usernsfd < 0 || tree < 0) {
		fprintf(stderr, "open_tree %s: %s\n", path, strerror(errno));
		goto out;
	}
	struct berth_mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)usernsfd};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		fprintf(stderr, "mount_setattr(MOUNT_ATTR_IDMAP) on %s: %s\n", path, strerror(errno));
		rc = 1;
	} else {
		rc = 0;
	}
out:
	if (tree >= 0)
		close(tree);
	close(usernsfd);
	return rc;
}

static int idmap_mount(const char *src, const char *dst, const char *uidmap, const char *gidmap)
{
	int usernsfd = idmap_userns(uidmap, gidmap);
	if (usernsfd < 0)
		return 1;
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return fprintf(stderr, "open_tree %s: %s\n", src, strerror(errno)), 1;
	struct berth_mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)usernsfd};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return fprintf(stderr, "mount_setattr(MOUNT_ATTR_IDMAP) on %s: %s\n", src, strerror(errno)), 1;
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fprintf(stderr, "attach the idmapped %s on %s: %s\n", src, dst, strerror(errno)), 1;
	return 0;
}
