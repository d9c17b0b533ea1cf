/*
 * berth-shim: executes a launch plan compiled by berth's TypeScript runtime.
 *
 * The shim decides nothing. It reads a flat plan (see src/runtime/plan.ts for the format and
 * the meaning of every op) from the sync socket given as argv[1], then runs it in three
 * processes:
 *
 *   parent  - connects sockets, prepares idmapped mount trees, writes cgroup.procs and the
 *             uid/gid maps of child1, reports the init pid to berth; in "wait" mode it then
 *             stays as a subreaper, forwards signals, proxies a console and exits with the
 *             container's status.
 *   child1  - joins (setns) and creates (unshare) namespaces, writes time offsets, forks init.
 *   init    - every other op, in plan order: mounts, pivot_root, devices, hooks, identity,
 *             capabilities, seccomp, waiting for `start`, exec.
 *
 * Messages to berth on the sync socket are lines: "PID n", "HOOKS", "READY", "ERR text".
 * berth answers "HOOKS" with one line "GO <state-json>".
 *
 * It is berth's only program: the other mechanisms are sub-commands, one file each, included
 * below -- `storage` (berth-storage.c), `devices-bpf` (berth-devices.c), `monitor` and `init`
 * (berth-monitor.c), `netlink` (berth-netlink.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <sys/personality.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
/* musl's headers lack the new mount API's constants (glibc's sys/mount.h has them) */
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif

struct berth_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* ---------------------------------------------------------------- plan */

struct op {
	const char *name;
	int argc;
	char **argv;
	struct sock_filter *prog; /* SECCOMP: the program, read by the parent before any fork */
	size_t proglen;
};

static struct op *ops;
static int nops;

static int syncfd = -1;       /* socket to berth */
static int ipc[2] = {-1, -1}; /* parent <-> child1/init */
static int rootfd = -1;       /* O_PATH fd of the rootfs, before pivot */
static char *rootfs;
static int procfd = -1;       /* host /proc, kept to reach /proc/self/fd after pivot */
static int fifofd = -1;
static int consolefd = -1;    /* console socket (connected or socketpair end) */
static int listenerfd = -1;   /* seccomp agent socket, connected by the parent (a host path) */
static int32_t hostpid;       /* the init's pid in the host pid namespace, from the parent */
static int proxyfd = -1;      /* parent's end of the console proxy socketpair */
static int sizefd = -1;       /* CONSOLE_SIZE_FD: "rows cols" lines setting the proxied pty's size */
static int readynetfd = -1;   /* a fresh netns a standby monitor made ahead (berth-monitor.c: prepare_netns) */
static int preserve_fds;
static char *state_json;      /* received with GO, fed to hooks */
static char *exec_path;
static char *envp[4096];
static int nenv;
static int treefds[256];
static int ntreefds;

/* The init starts its setup at once, before the parent has told berth its pid; it waits for
 * that report (the byte 'P' and its host pid) only before it says anything to berth, so that
 * berth hears "PID" first, and before it execs or exits. Two process wake-ups fewer on the
 * critical path of every start. */
static int pid_pending;

static void await_reported(void);

static void sendline(const char *fmt, ...)
{
	char buf[8192];
	await_reported();
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	if (syncfd >= 0) {
		if (write(syncfd, buf, n) < 0) { /* berth went away: nothing to tell */ }
	} else {
		if (write(2, buf, n) < 0) { }
	}
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	char msg[4096];
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e)
		sendline("ERR %s: %s", msg, strerror(e));
	else
		sendline("ERR %s", msg);
	_exit(1);
}

static long num(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || *end)
		die("plan: bad number \"%s\"", s);
	return (long)v;
}

static unsigned long long unum(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		die("plan: bad number \"%s\"", s);
	return v;
}

static void read_full(int fd, void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("reading plan");
		off += n;
	}
}

static void read_plan(void)
{
	char hdr[32];
	size_t i = 0;
	while (i < sizeof(hdr) - 1) {
		read_full(syncfd, &hdr[i], 1);
		if (hdr[i] == '\n')
			break;
		i++;
	}
	hdr[i] = 0;
	size_t len = unum(hdr);
	if (len > (64u << 20))
		die("plan too large");
	char *buf = malloc(len + 1);
	if (!buf)
		die("out of memory");
	read_full(syncfd, buf, len);
	buf[len] = 0;

	/* count tokens */
	size_t ntok = 0;
	for (size_t j = 0; j < len; j++)
		if (buf[j] == 0)
			ntok++;
	char **tok = calloc(ntok + 1, sizeof(char *));
	ops = calloc(ntok + 1, sizeof(struct op));
	if (!tok || !ops)
		die("out of memory");
	size_t t = 0, start = 0;
	for (size_t j = 0; j < len; j++)
		if (buf[j] == 0) {
			tok[t++] = buf + start;
			start = j + 1;
		}
	for (size_t k = 0; k < t;) {
		if (k + 1 >= t)
			die("plan: truncated op %s", tok[k]);
		struct op *o = &ops[nops++];
		o->name = tok[k];
		o->argc = (int)num(tok[k + 1]);
		if (o->argc < 0 || k + 2 + (size_t)o->argc > t)
			die("plan: op %s has bad argc", o->name);
		o->argv = &tok[k + 2];
		k += 2 + o->argc;
	}
}

static int is(const struct op *o, const char *name, int argc)
{
	if (strcmp(o->name, name))
		return 0;
	if (argc >= 0 && o->argc != argc)
		die("plan: op %s wants %d args, has %d", name, argc, o->argc);
	if (argc < 0 && o->argc < -argc)
		die("plan: op %s wants at least %d args", name, -argc);
	return 1;
}

static const struct op *find(const char *name)
{
	for (int i = 0; i < nops; i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

/* ---------------------------------------------------------------- helpers */

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s", path);
	if (write(fd, data, len) != (ssize_t)len)
		die("write %s", path);
	close(fd);
}

static void send_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0)
		if (errno != EINTR)
			die("ipc write");
}

static char recv_byte(int fd)
{
	char c;
	for (;;) {
		ssize_t n = read(fd, &c, 1);
		if (n == 1)
			return c;
		if (n < 0 && errno == EINTR)
			continue;
		_exit(1); /* the other side died and has already reported */
	}
}

static void await_reported(void)
{
	if (!pid_pending)
		return;
	pid_pending = 0;
	if (recv_byte(ipc[1]) != 'P')
		_exit(1);
	read_full(ipc[1], &hostpid, sizeof(hostpid));
	close(ipc[1]);
	ipc[1] = -1;
}

static int nsflag(const char *type)
{
	static const struct { const char *n; int f; } t[] = {
		{"user", CLONE_NEWUSER}, {"mount", CLONE_NEWNS}, {"pid", CLONE_NEWPID},
		{"network", CLONE_NEWNET}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
		{"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].n, type))
			return t[i].f;
	die("plan: unknown namespace %s", type);
}

/* Open a path inside the rootfs without letting symlinks or ".." leave it. */
static int open_in_root(const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static void mkpath_missing(const char *path, char last);

/* An O_PATH fd of `path` in the rootfs, creating it (and its parents) when missing: `last` says
 * what the final component must be then: 'd' directory, 'f' empty file, '-' nothing. Opens the
 * path once when it exists (the common case: /proc, /dev, /sys of an image). */
static int open_making(const char *path, char last, int flags)
{
	int fd = open_in_root(path, O_PATH | flags);
	if (fd < 0 && errno == ENOENT) {
		mkpath_missing(path, last);
		fd = open_in_root(path, O_PATH | flags);
	}
	return fd;
}

/* Create every missing directory of `path` inside the rootfs (see open_making for `last`). */
static void mkpath_in_root(const char *path, char last)
{
	int fd = open_making(path, last, 0);
	if (fd < 0)
		die("resolve %s in rootfs", path);
	close(fd);
}

/* mkpath_in_root for a path known to be missing */
static void mkpath_missing(const char *path, char last)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	char *slash = strrchr(buf, '/');
	char *name = buf;
	if (slash) {
		*slash = 0;
		name = slash + 1;
	}
	const char *parent = slash && buf[0] ? buf : "/";
	int dfd = open_making(parent, 'd', O_DIRECTORY);
	if (dfd < 0)
		die("resolve %s in rootfs", parent);
	/* a dangling symlink: create its target, resolved inside the rootfs */
	char link[PATH_MAX];
	ssize_t ln = readlinkat(dfd, name, link, sizeof(link) - 1);
	if (ln > 0) {
		static int depth;
		if (++depth > 40)
			die("too many levels of symbolic links at %s", path);
		link[ln] = 0;
		char target[2 * PATH_MAX + 2];
		if (link[0] == '/')
			snprintf(target, sizeof(target), "%s", link);
		else
			snprintf(target, sizeof(target), "%s/%s", slash ? buf : "", link);
		close(dfd);
		mkpath_in_root(target, last);
		depth--;
		return;
	}
	if (last == 'd') {
		if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
			die("mkdir %s in rootfs", path);
	} else if (last == 'f') {
		int f = openat(dfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST)
			die("create %s in rootfs", path);
		if (f >= 0)
			close(f);
	}
	close(dfd);
}

static void fdpath(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Remount a bind mount with flags, keeping flags the kernel locked (user namespaces). */
static void remount_bind(const char *path, unsigned long flags, const char *what)
{
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
		return;
	if (errno != EPERM)
		die("remount %s", what);
	unsigned long keep = locked_flags(path) & ~MS_RDONLY;
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags | keep, NULL) < 0)
		die("remount %s", what);
}

/* ---------------------------------------------------------------- init ops */

/* MOUNT src dst fstype flags data create remount propagation attr_set attr_clr fallback */
static void op_mount(char **a)
{
	const char *src = a[0], *dst = a[1], *fstype = a[2], *data = a[4];
	unsigned long flags = unum(a[3]);
	char create = a[5][0];
	unsigned long remount = unum(a[6]), prop = unum(a[7]);
	uint64_t aset = unum(a[8]), aclr = unum(a[9]);
	const char *fallback = a[10];
	char p[64];

	int fd = open_making(dst, create, 0);
	if (fd < 0)
		die("resolve mount destination %s in rootfs", dst);
	fdpath(p, sizeof(p), fd);
	if (mount(*src ? src : NULL, p, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0) {
		if (!(*fallback && (errno == EPERM || errno == EBUSY)))
			die("mount %s on %s (type %s)", src, dst, fstype);
		/* e.g. sysfs cannot be mounted in a user namespace without its own netns */
		if (mount(fallback, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			die("bind %s on %s", fallback, dst);
		remount = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		/* the host's submounts (/sys/fs/cgroup/...) come along: restrict them all alike */
		aset |= (flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0) | (flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
			(flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
	}
	close(fd);
	if (!remount && !prop && !aset && !aclr)
		return;
	/* reopen: the old fd points under the new mount, not at it */
	fd = open_in_root(dst, O_PATH);
	if (fd < 0)
		die("reopen %s", dst);
	fdpath(p, sizeof(p), fd);
	if (remount)
		remount_bind(p, remount, dst);
	if (prop && mount(NULL, p, NULL, prop, NULL) < 0)
		die("set propagation of %s", dst);
	if (aset || aclr) {
		struct berth_mount_attr attr = {.attr_set = aset, .attr_clr = aclr};
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			die("mount_setattr %s", dst);
	}
	close(fd);
}

/* MOUNT_FD index dst create: attach a tree the parent prepared (idmapped mounts). */
static void op_mount_fd(char **a)
{
	long idx = num(a[0]);
	if (idx < 0 || idx >= ntreefds)
		die("plan: bad mount tree index %ld", idx);
	int fd = open_making(a[1], a[2][0], 0);
	if (fd < 0)
		die("resolve %s in rootfs", a[1]);
	if (syscall(SYS_move_mount, treefds[idx], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("attach idmapped mount on %s", a[1]);
	close(fd);
	close(treefds[idx]);
	treefds[idx] = -1;
}

/* MKNOD path type major minor mode uid gid */
static void op_mknod(char **a)
{
	mode_t type = a[1][0] == 'b' ? S_IFBLK : a[1][0] == 'p' ? S_IFIFO : S_IFCHR;
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", a[0]);
	char *slash = strrchr(buf, '/');
	if (!slash)
		die("plan: device path %s", a[0]);
	*slash = 0;
	int dfd = open_making(buf[0] ? buf : "/", 'd', O_DIRECTORY);
	if (dfd < 0)
		die("resolve %s in rootfs", buf);
	mode_t mode = (mode_t)num(a[4]) & 07777;
	dev_t dev = makedev(num(a[2]), num(a[3]));
	/* the exact mode the spec asked for: no umask (and no chmod after) */
	mode_t old = umask(0);
	int r = mknodat(dfd, slash + 1, type | mode, dev);
	if (r < 0 && errno == EEXIST && unlinkat(dfd, slash + 1, 0) == 0)
		r = mknodat(dfd, slash + 1, type | mode, dev);
	umask(old);
	if (r < 0)
		die("mknod %s", a[0]);
	if (fchownat(dfd, slash + 1, (uid_t)num(a[5]), (gid_t)num(a[6]), AT_SYMLINK_NOFOLLOW) < 0)
		die("chown %s", a[0]);
	/* chown may have cleared set-id bits: put them back */
	if (mode & (S_ISUID | S_ISGID)) {
		int f = openat(dfd, slash + 1, O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (f >= 0) {
			char p[64];
			fdpath(p, sizeof(p), f);
			chmod(p, mode);
			close(f);
		}
	}
	close(dfd);
}

/* SYMLINK target linkpath */
static void op_symlink(char **a)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", a[1]);
	char *slash = strrchr(buf, '/');
	if (!slash)
		die("plan: symlink path %s", a[1]);
	*slash = 0;
	int dfd = open_making(buf[0] ? buf : "/", 'd', O_DIRECTORY);
	if (dfd < 0)
		die("resolve %s in rootfs", buf);
	if (symlinkat(a[0], dfd, slash + 1) < 0 && errno != EEXIST)
		die("symlink %s", a[1]);
	close(dfd);
}

static void op_pivot(void)
{
	if (fchdir(rootfd) < 0)
		die("chdir to rootfs");
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		die("open old root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (fchdir(oldroot) < 0)
		die("chdir to old root");
	/* never let the unmount propagate to the host */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		die("make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		die("unmount old root");
	if (chdir("/") < 0)
		die("chdir /");
	close(oldroot);
	close(rootfd);
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void op_move_root(void)
{
	if (fchdir(rootfd) < 0)
		die("chdir to rootfs");
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		die("move rootfs to /");
	if (chroot(".") < 0)
		die("chroot");
	if (chdir("/") < 0)
		die("chdir /");
	close(rootfd);
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void op_mask(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		die("stat masked path %s", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
			die("mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		die("mask %s", path);
	}
}

static void op_readonly(const char *path)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return;
		die("bind readonly path %s", path);
	}
	remount_bind(path, MS_RDONLY | MS_REC, path);
}

static void send_fd(int sock, int fd, const char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		die("send %s fd", name[0] == '{' ? "seccomp notify" : "console");
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], data[256];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* CONSOLE rows cols uid gid bindconsole: make a pty in the container, send the master, use the slave. */
static void op_console(char **a)
{
	if (consolefd < 0)
		die("plan: CONSOLE without a console socket");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die("open /dev/ptmx");
	int unlock = 0, n;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		die("unlock pty");
	char slave[64];
	snprintf(slave, sizeof(slave), "/dev/pts/%d", n);
	int s = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		die("open %s", slave);
	struct winsize ws = {.ws_row = (unsigned short)num(a[0]), .ws_col = (unsigned short)num(a[1])};
	if (ws.ws_row && ws.ws_col && ioctl(master, TIOCSWINSZ, &ws) < 0)
		die("set console size");
	if (fchown(s, (uid_t)num(a[2]), (gid_t)num(a[3])) < 0 && errno != EINVAL)
		die("chown console");
	/* /dev/console is the pty, as in runc */
	struct stat st;
	if (a[4][0] == '1') {
		if (stat("/dev/console", &st) < 0) {
			int f = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
			if (f >= 0)
				close(f);
		}
		if (mount(slave, "/dev/console", NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
			die("bind console");
	}
	send_fd(consolefd, master, "/dev/ptmx");
	close(master);
	close(consolefd);
	consolefd = -1;
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		die("set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0)
			die("dup console");
	if (s > 2)
		close(s);
}

static void op_rlimit(char **a)
{
	struct rlimit rl;
	rl.rlim_cur = !strcmp(a[1], "-1") ? RLIM_INFINITY : (rlim_t)unum(a[1]);
	rl.rlim_max = !strcmp(a[2], "-1") ? RLIM_INFINITY : (rlim_t)unum(a[2]);
	if (setrlimit((int)num(a[0]), &rl) < 0)
		die("setrlimit %s (soft %s, hard %s)", a[0], a[1], a[2]);
}

/* SCHED policy nice priority flags runtime deadline period (sched_setattr) */
static void op_sched(char **a)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} attr = {
		.size = 48, .policy = (uint32_t)num(a[0]), .flags = unum(a[3]), .nice = (int32_t)num(a[1]),
		.priority = (uint32_t)num(a[2]), .runtime = unum(a[4]), .deadline = unum(a[5]), .period = unum(a[6]),
	};
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		die("set scheduler (policy %s)", a[0]);
}

/* CPU_AFFINITY cpu...: the CPUs the process may run on */
static void op_affinity(struct op *o)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < o->argc; i++) {
		long c = num(o->argv[i]);
		if (c < 0 || c >= CPU_SETSIZE)
			die("cpu %ld out of range", c);
		CPU_SET(c, &set);
	}
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("set CPU affinity");
}

static void op_user(struct op *o)
{
	/* USER uid gid [group...] */
	uid_t uid = (uid_t)num(o->argv[0]);
	gid_t gid = (gid_t)num(o->argv[1]);
	int ng = o->argc - 2;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die("keep capabilities");
	if (ng >= 0) {
		gid_t gs[1024];
		if (ng > 1024)
			die("too many additional groups");
		for (int i = 0; i < ng; i++)
			gs[i] = (gid_t)num(o->argv[2 + i]);
		if (setgroups(ng, gs) < 0 && !(errno == EPERM && ng == 0))
			die("setgroups");
	}
	if (setresgid(gid, gid, gid) < 0)
		die("setgid %u", gid);
	if (setresuid(uid, uid, uid) < 0)
		die("setuid %u", uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		die("clear keep capabilities");
}

static int last_cap(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char buf[16] = {0};
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			last = atoi(buf);
		close(fd);
	} else if (procfd >= 0) {
		fd = openat(procfd, "sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
			last = atoi(buf);
		if (fd >= 0)
			close(fd);
	}
	if (last <= 0)
		last = CAP_LAST_CAP;
	return last;
}

/* The kernel refuses (EINVAL) the first capability past its last: no need to read
 * /proc/sys/kernel/cap_last_cap (three syscalls and a path walk per start) to know where to stop. */
static void op_capbset(const char *mask)
{
	uint64_t m = unum(mask);
	for (int c = 0; c < 64; c++) {
		if (m & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
			break; /* past the last capability */
		die("drop capability %d from the bounding set", c);
	}
}

static void op_capset(char **a)
{
	uint64_t eff = unum(a[0]), perm = unum(a[1]), inh = unum(a[2]);
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {
		{.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
		{.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
	};
	if (syscall(SYS_capset, &h, d) < 0)
		die("capset");
}

static void op_ambient(const char *mask)
{
	uint64_t m = unum(mask);
	for (int c = 0; c <= last_cap(); c++)
		if ((m & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			die("raise ambient capability %d", c);
}

/* Read a seccomp program file into memory (the parent does this before any fork, so that no
 * process inside the container holds an fd of the host's program cache). */
static struct sock_filter *load_seccomp_program(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open seccomp program %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % 8 || st.st_size > 8 * 65536)
		die("bad seccomp program %s", path);
	struct sock_filter *f = malloc(st.st_size);
	if (!f)
		die("out of memory");
	read_full(fd, f, st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return f;
}

static void op_seccomp(char **a, struct sock_filter *pre, size_t prelen)
{
	size_t len = prelen;
	struct sock_filter *f = pre ? pre : load_seccomp_program(a[0], &len);
	struct sock_fprog prog = {.len = (unsigned short)(len / 8), .filter = f};
	unsigned long flags = unum(a[1]);
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		die("load seccomp filter");
	if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		/* a[3]: the container process state JSON written by berth, with a \x01 byte where the
		 * host pid goes (JSON text never holds a raw control byte). The socket was connected by
		 * the parent: a[2] is a host path, unreachable after pivot_root. */
		if (listenerfd < 0) {
			errno = 0;
			die("plan: SECCOMP with a listener but no LISTENER socket");
		}
		await_reported(); /* hostpid */
		size_t n = 0, cap = 1;
		for (const char *c = a[3]; *c; c++)
			cap += *c == 1 ? 12 : 1; /* an int32 takes at most 11 characters */
		char *msg = malloc(cap);
		if (!msg)
			die("out of memory");
		for (const char *c = a[3]; *c; c++) {
			if (*c == 1)
				n += snprintf(msg + n, cap - n, "%d", hostpid);
			else
				msg[n++] = *c;
		}
		msg[n] = 0;
		send_fd(listenerfd, (int)r, msg);
		free(msg);
		close(listenerfd);
		listenerfd = -1;
		close((int)r);
	}
	free(f);
}

/* Resolve argv[0] through PATH from the container's environment, as execvp would. */
static void op_lookup(const char *arg0)
{
	struct stat st;
	if (strchr(arg0, '/')) {
		if (stat(arg0, &st) < 0)
			die("exec: \"%s\": stat", arg0);
		if (S_ISDIR(st.st_mode) || access(arg0, X_OK) < 0) {
			errno = EACCES;
			die("exec: \"%s\": permission denied", arg0);
		}
		exec_path = strdup(arg0);
		return;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (int i = 0; i < nenv; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	char *p = strdup(path), *save = NULL;
	for (char *dir = strtok_r(p, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/%s", *dir ? dir : ".", arg0);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			exec_path = strdup(cand);
			free(p);
			return;
		}
	}
	free(p);
	errno = 0;
	die("exec: \"%s\": executable file not found in $PATH", arg0);
}

static void op_wait_start(void)
{
	char p[64];
	await_reported();
	snprintf(p, sizeof(p), "self/fd/%d", fifofd);
	int fd = openat(procfd, p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open exec fifo");
	if (write(fd, "0", 1) != 1)
		die("write exec fifo");
	close(fd);
	close(fifofd);
	fifofd = -1;
}

/* HOOK path timeout argc args... envc env...: run with the state on stdin (createContainer,
 * startContainer: they run from inside the container's namespaces). */
static void op_hook(struct op *o)
{
	const char *path = o->argv[0];
	long timeout = num(o->argv[1]);
	int ac = (int)num(o->argv[2]);
	if (3 + ac + 1 > o->argc)
		die("plan: HOOK args");
	int ec = (int)num(o->argv[3 + ac]);
	if (4 + ac + ec != o->argc)
		die("plan: HOOK env");
	char **args = calloc(ac + 2, sizeof(char *));
	char **env = calloc(ec + 1, sizeof(char *));
	for (int i = 0; i < ac; i++)
		args[i] = o->argv[3 + i];
	if (ac == 0)
		args[0] = (char *)path;
	for (int i = 0; i < ec; i++)
		env[i] = o->argv[4 + ac + i];
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork hook");
	if (pid == 0) {
		dup2(pfd[0], 0);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(path, args, env);
		_exit(127);
	}
	close(pfd[0]);
	const char *st = state_json ? state_json : "{}";
	signal(SIGPIPE, SIG_IGN);
	if (write(pfd[1], st, strlen(st)) < 0) { /* the hook need not read its stdin */ }
	close(pfd[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (timeout > 0 && pidfd >= 0) {
		struct pollfd pf = {.fd = pidfd, .events = POLLIN};
		int r;
		do
			r = poll(&pf, 1, (int)(timeout * 1000));
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			errno = 0;
			die("hook %s timed out after %ld s", path, timeout);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("wait hook");
	errno = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		die("hook %s: could not execute", path);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("hook %s failed with status %d", path, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	free(args);
	free(env);
}

static void sync_hooks(void)
{
	sendline("HOOKS");
	/* read one line: "GO <state>" */
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > (16u << 20))
				die("sync message too long");
			buf = realloc(buf, cap *= 2);
		}
		ssize_t n = read(syncfd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1); /* berth went away */
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = 0;
	if (strncmp(buf, "GO", 2))
		_exit(1); /* berth said stop (it reports the reason) */
	state_json = buf[2] == ' ' ? buf + 3 : "{}";
}

static void do_exec(struct op *o)
{
	char **argv = calloc(o->argc + 1, sizeof(char *));
	for (int i = 0; i < o->argc; i++)
		argv[i] = o->argv[i];
	envp[nenv] = NULL;
	if (!exec_path)
		op_lookup(argv[0]);
	await_reported();
	if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, 0) < 0) {
		for (int fd = 3 + preserve_fds; fd < 1024; fd++)
			close(fd);
	}
	execve(exec_path, argv, envp);
	int e = errno;
	dprintf(2, "berth: exec %s: %s\n", exec_path, strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* CHDIR path: never through a /proc magic link (CVE-2024-21626: /proc/self/fd/N of an fd the
 * shim still holds would be a directory of the host), and the result must be under our root. */
static void op_chdir(const char *path)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && errno == ELOOP)
		die("chdir to cwd (\"%s\"): refused: it goes through a /proc magic link or too many symlinks", path);
	if (fd < 0 || fchdir(fd) < 0)
		die("chdir to cwd (\"%s\")", path);
	close(fd);
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/') {
		errno = 0;
		die("chdir to cwd (\"%s\"): refused: it is outside the container's root", path);
	}
}

static void run_init(void)
{
	pid_pending = 1; /* see await_reported */
	for (int i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		char **a = o->argv;
		if (is(o, "MODE", 1) || is(o, "CONSOLE_SOCKET", 1) || is(o, "CONSOLE_PROXY", 0) || is(o, "CONSOLE_SIZE_FD", 1) ||
		    is(o, "UIDMAP", 1) || is(o, "GIDMAP", 1) || is(o, "SETGROUPS_DENY", 0) ||
		    is(o, "CGROUP_PROCS", 1) || is(o, "CGROUP_JOIN", 1) || is(o, "IDMAP_TREE", 4) || is(o, "BIND_TREE", 2) || is(o, "SETNS", 2) ||
		    is(o, "UNSHARE", -1) || is(o, "TIMENS_OFFSET", 3) || is(o, "NEWIDMAP", 2) ||
		    is(o, "OOM_SCORE_ADJ", 1) || is(o, "LOOPBACK_UP", 0))
			continue; /* done by the parent or child1 */
		else if (is(o, "ROOTFS", 1)) {
			rootfs = a[0];
			rootfd = open(a[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				die("open rootfs %s", a[0]);
		} else if (is(o, "PROPAGATE", 2)) {
			if (mount(NULL, a[0], NULL, unum(a[1]), NULL) < 0)
				die("set propagation of %s", a[0]);
		} else if (is(o, "BIND_ROOTFS", 0)) {
			if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
				die("bind rootfs %s", rootfs);
			close(rootfd);
			rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				die("open rootfs");
		} else if (is(o, "ROOTFS_TREE", 1)) {
			/* the rootfs as an idmapped mount the parent prepared (instead of BIND_ROOTFS) */
			long idx = num(a[0]);
			if (idx < 0 || idx >= ntreefds)
				die("plan: bad mount tree index %ld", idx);
			if (syscall(SYS_move_mount, treefds[idx], "", rootfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				die("attach the idmapped rootfs on %s", rootfs);
			close(treefds[idx]);
			treefds[idx] = -1;
			close(rootfd);
			rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				die("open rootfs");
		} else if (is(o, "MOUNT", 11)) op_mount(a);
		else if (is(o, "MOUNT_FD", 3)) op_mount_fd(a);
		else if (is(o, "MKNOD", 7)) op_mknod(a);
		else if (is(o, "SYMLINK", 2)) op_symlink(a);
		else if (is(o, "MKDIR", 1)) mkpath_in_root(a[0], 'd');
		else if (is(o, "EXEC_FIFO", 1)) {
			fifofd = open(a[0], O_PATH | O_CLOEXEC);
			if (fifofd < 0)
				die("open exec fifo %s", a[0]);
		} else if (is(o, "SYNC_HOOKS", 0)) sync_hooks();
		else if (is(o, "HOOK", -4)) op_hook(o);
		else if (is(o, "PIVOT", 0)) op_pivot();
		else if (is(o, "MOVE_ROOT", 0)) op_move_root();
		else if (is(o, "CHROOT", 0)) {
			if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
				die("chroot to %s", rootfs);
		} else if (is(o, "EXIT", 1)) {
			await_reported();
			_exit((int)num(a[0]));
		}
		else if (is(o, "MASK", 1)) op_mask(a[0]);
		else if (is(o, "READONLY", 1)) op_readonly(a[0]);
		else if (is(o, "REMOUNT_ROOT", 1)) remount_bind("/", unum(a[0]), "/");
		else if (is(o, "SETHOSTNAME", 1)) {
			if (sethostname(a[0], strlen(a[0])) < 0)
				die("sethostname");
		} else if (is(o, "SETDOMAINNAME", 1)) {
			if (setdomainname(a[0], strlen(a[0])) < 0)
				die("setdomainname");
		} else if (is(o, "WRITE_FILE", 2)) write_file(a[0], a[1], strlen(a[1]));
		else if (is(o, "SETSID", 0)) {
			if (setsid() < 0 && errno != EPERM)
				die("setsid");
		} else if (is(o, "CONSOLE", 5)) op_console(a);
		else if (is(o, "RLIMIT", 3)) op_rlimit(a);
		else if (is(o, "PERSONALITY", 1)) {
			if (personality((unsigned long)unum(a[0])) < 0)
				die("set personality %s", a[0]);
		} else if (is(o, "IOPRIO", 1)) {
			if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)num(a[0])) < 0)
				die("set I/O priority");
		} else if (is(o, "SCHED", 7)) op_sched(a);
		else if (is(o, "CPU_AFFINITY", -1)) op_affinity(o);
		else if (is(o, "CHDIR", 1)) op_chdir(a[0]);
		else if (is(o, "UMASK", 1)) umask((mode_t)num(a[0]));
		else if (is(o, "CAPBSET", 1)) op_capbset(a[0]);
		else if (is(o, "USER", -2)) op_user(o);
		else if (is(o, "CAPSET", 3)) op_capset(a);
		else if (is(o, "AMBIENT", 1)) op_ambient(a[0]);
		else if (is(o, "NO_NEW_PRIVS", 0)) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				die("set no_new_privs");
		} else if (is(o, "SECCOMP", 4)) op_seccomp(a, o->prog, o->proglen);
		else if (is(o, "ENV", 1)) {
			if (nenv >= 4095)
				die("too many environment variables");
			envp[nenv++] = a[0];
		} else if (is(o, "LOOKUP", 1)) op_lookup(a[0]);
		else if (is(o, "PRESERVE_FDS", 1)) preserve_fds = (int)num(a[0]);
		else if (is(o, "KEYRING", 1)) {
			/* a fresh session keyring, so the container cannot see the host's keys; a kernel
			 * without keys (ENOSYS) or a seccomp filter refusing it (EPERM) is not fatal */
			if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, a[0]) < 0 && errno != ENOSYS && errno != EPERM)
				die("join session keyring");
		} else if (is(o, "READY", 0)) {
			sendline("READY");
			close(syncfd);
			syncfd = -1;
		} else if (is(o, "WAIT_START", 0)) op_wait_start();
		else if (is(o, "EXEC", -1)) do_exec(o);
		else {
			errno = 0;
			die("plan: unknown op %s", o->name);
		}
	}
	errno = 0;
	die("plan: no EXEC op");
}

/* CGROUP_JOIN: how child1 enters the cgroups (see berth-cgroup-join.c). */
#include "berth-cgroup-join.c"
/* LOOPBACK_UP: lo up in the container's new netns (see berth-loopback.c). */
#include "berth-loopback.c"

/* ---------------------------------------------------------------- child1 */

static void run_child1(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close(ipc[0]);
	if (proxyfd >= 0)
		close(proxyfd);
	if (sizefd >= 0)
		close(sizefd);
	if (find("CGROUP_PROCS"))
		recv_byte(ipc[1]); /* the parent has put us in our cgroups */
	cgjoin_self(); /* or we do it (CGROUP_JOIN) */
	/* child1 never enters the container's pid namespace, so it may be dumpable: the parent (or
	 * an unprivileged caller's newuidmap) must reach its /proc files, and it writes its own
	 * oom_score_adj and timens_offsets. The init it forks is not dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		die("set dumpable");
	const struct op *oom = find("OOM_SCORE_ADJ");
	if (oom) /* before any user namespace: lowering it needs CAP_SYS_RESOURCE of the host */
		write_file("/proc/self/oom_score_adj", oom->argv[0], strlen(oom->argv[0]));

	/* open every namespace first: paths may change once we join a mount namespace */
	int nsfds[16], nstypes[16], nns = 0, userns = 0, unshare_flags = 0;
	for (int i = 0; i < nops; i++) {
		if (is(&ops[i], "SETNS", 2)) {
			if (nns >= 16)
				die("plan: too many namespaces");
			nstypes[nns] = nsflag(ops[i].argv[0]);
			nsfds[nns] = open(ops[i].argv[1], O_RDONLY | O_CLOEXEC);
			if (nsfds[nns] < 0)
				die("open namespace %s", ops[i].argv[1]);
			if (nstypes[nns] == CLONE_NEWUSER)
				userns = 1;
			nns++;
		} else if (is(&ops[i], "UNSHARE", -1)) {
			for (int j = 0; j < ops[i].argc; j++)
				unshare_flags |= nsflag(ops[i].argv[j]);
		}
	}
	/* Namespaces owned by another user namespace than the one we join (e.g. a network
	 * namespace the engine made as host root) are joined first, while we still hold the host's
	 * rights over them; then the user namespace, which grants the rights to join the rest. */
	int userfd = -1;
	for (int i = 0; i < nns; i++)
		if (nstypes[i] == CLONE_NEWUSER)
			userfd = nsfds[i];
	struct stat ust;
	if (userfd >= 0 && fstat(userfd, &ust) < 0)
		die("stat user namespace");
	for (int i = 0; userfd >= 0 && i < nns; i++) {
		if (nstypes[i] == CLONE_NEWUSER)
			continue;
		int owner = ioctl(nsfds[i], _IO(0xb7, 0x1) /* NS_GET_USERNS */);
		struct stat ost;
		int foreign = owner >= 0 && fstat(owner, &ost) == 0 && (ost.st_ino != ust.st_ino || ost.st_dev != ust.st_dev);
		if (owner >= 0)
			close(owner);
		if (!foreign)
			continue;
		if (setns(nsfds[i], nstypes[i]) < 0)
			die("join namespace (clone flag 0x%x)", nstypes[i]);
		close(nsfds[i]);
		nsfds[i] = -1;
	}
	if (userfd >= 0 && setns(userfd, CLONE_NEWUSER) < 0)
		die("join user namespace");
	for (int i = 0; i < nns; i++) {
		if (nsfds[i] < 0)
			continue;
		if (nstypes[i] != CLONE_NEWUSER && setns(nsfds[i], nstypes[i]) < 0)
			die("join namespace (clone flag 0x%x)", nstypes[i]);
		close(nsfds[i]);
	}
	if (unshare_flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			die("create user namespace");
		send_byte(ipc[1], 'U');
		if (recv_byte(ipc[1]) != 'M')
			_exit(1);
		userns = 1;
	}
	if (userns) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			die("become root in the user namespace (is container uid/gid 0 mapped?)");
	}
	/* A new network namespace as host root: join the pristine one the monitor made ahead instead
	 * of making it here (the same kind: owned by the host's user namespace, loopback down, never
	 * used by another container). With a user namespace the netns must belong to it: unshare. */
	if (readynetfd >= 0 && (unshare_flags & CLONE_NEWNET) && !userns && setns(readynetfd, CLONE_NEWNET) == 0)
		unshare_flags &= ~CLONE_NEWNET;
	if (readynetfd >= 0)
		close(readynetfd); /* not into the init */
	readynetfd = -1;
	if (unshare_flags & ~CLONE_NEWUSER) {
		if (unshare(unshare_flags & ~CLONE_NEWUSER) < 0)
			die("create namespaces");
	}
	if (find("LOOPBACK_UP")) /* in the netns just made or joined, before the init forks */
		loopback_up();
	for (int i = 0; i < nops; i++)
		if (is(&ops[i], "TIMENS_OFFSET", 3)) {
			char line[128];
			int n = snprintf(line, sizeof(line), "%s %s %s", ops[i].argv[0], ops[i].argv[1], ops[i].argv[2]);
			write_file("/proc/self/timens_offsets", line, n);
		}
	/* the init's /proc/<pid> (exe, fd/, cwd...) must be out of reach of container processes */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die("set non-dumpable");
	pid_t pid = fork();
	if (pid < 0)
		die("fork init");
	if (pid == 0)
		run_init();
	int32_t p = pid;
	if (write(ipc[1], &p, sizeof(p)) != sizeof(p))
		die("report init pid");
	_exit(0);
}

/* ---------------------------------------------------------------- parent */

static void write_idmap(pid_t pid, const char *which, const char *map)
{
	const struct op *tool = NULL;
	for (int i = 0; i < nops; i++)
		if (is(&ops[i], "NEWIDMAP", 2) && !strcmp(ops[i].argv[0], which))
			tool = &ops[i];
	if (!tool) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, which);
		write_file(path, map, strlen(map));
		return;
	}
	/* rootless: newuidmap/newgidmap PID id hostid size ... */
	char *argv[256];
	int n = 0;
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	argv[n++] = tool->argv[1];
	argv[n++] = pidbuf;
	char *m = strdup(map), *save = NULL;
	for (char *t = strtok_r(m, " \n", &save); t && n < 254; t = strtok_r(NULL, " \n", &save))
		argv[n++] = t;
	argv[n] = NULL;
	pid_t c = fork();
	if (c == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		errno = 0;
		die("%s failed (status %d)", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	free(m);
}

/* IDMAP_TREE source uidmap gidmap flags: a detached, idmapped copy of source. flags: 1 = copy
 * the submounts too (rbind), 2 = idmap the submounts too (ridmap). */
static void prepare_idmap_tree(char **a)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	pid_t holder = fork();
	if (holder == 0) {
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) < 0) { }
		_exit(0);
	}
	close(p[0]);
	char path[64];
	/* the holder must have unshared before we write its maps */
	for (int tries = 0; tries < 1000; tries++) {
		char self[64], other[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", holder);
		ssize_t a1 = readlink("/proc/self/ns/user", self, sizeof(self));
		ssize_t a2 = readlink(path, other, sizeof(other));
		if (a1 > 0 && a2 > 0 && (a1 != a2 || memcmp(self, other, a1)))
			break;
		usleep(100);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", holder);
	write_file(path, a[1], strlen(a[1]));
	snprintf(path, sizeof(path), "/proc/%d/gid_map", holder);
	write_file(path, a[2], strlen(a[2]));
	snprintf(path, sizeof(path), "/proc/%d/ns/user", holder);
	int usernsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (usernsfd < 0)
		die("open idmap user namespace");
	close(p[1]);
	waitpid(holder, NULL, 0);
	unsigned long long fl = unum(a[3]);
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, a[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((fl & 1) ? AT_RECURSIVE : 0));
	if (tree < 0)
		die("open_tree %s", a[0]);
	struct berth_mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)usernsfd};
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | ((fl & 2) ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		die("idmap mount of %s", a[0]);
	close(usernsfd);
	if (ntreefds >= 256)
		die("too many idmapped mounts");
	treefds[ntreefds++] = tree;
}

/* BIND_TREE source recursive: a detached copy of a bind source, made by host root before any
 * user namespace exists, so the container's root (an unmapped host id) needs no search right
 * on the source's host directories. */
static void prepare_bind_tree(char **a)
{
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, a[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (num(a[1]) ? AT_RECURSIVE : 0));
	if (tree < 0)
		die("bind mount source %s", a[0]);
	if (ntreefds >= 256)
		die("too many bind mounts");
	treefds[ntreefds++] = tree;
}

static struct termios saved_tio;
static int restored_tio = 1;

static void restore_tty(void)
{
	if (!restored_tio)
		tcsetattr(0, TCSANOW, &saved_tio);
	restored_tio = 1;
}

static int copy_fd(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* stdout's reader left (a detached `berth exec -it`): the process keeps its pty,
			 * its output goes to /dev/null from now on (closing the master would hang it up) */
			if (errno == EPIPE && to == 1) {
				int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
				if (null >= 0 && dup2(null, 1) == 1) {
					close(null);
					return 0;
				}
				if (null >= 0)
					close(null);
			}
			return -1;
		}
		off += w;
	}
	return 0;
}

/* CONSOLE_SIZE_FD: reads what is there of "rows cols\n" lines and sets each size on the pty
 * master (the container gets SIGWINCH); at its end (berth hung up) the fd is closed. */
static void read_sizes(int *fd, int master, char *buf, size_t *len)
{
	ssize_t n = read(*fd, buf + *len, 63 - *len);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		close(*fd);
		*fd = -1;
		return;
	}
	*len += (size_t)n;
	buf[*len] = 0;
	char *line = buf, *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = 0;
		unsigned rows = 0, cols = 0;
		if (sscanf(line, "%u %u", &rows, &cols) == 2 && rows && cols && rows <= 65535 && cols <= 65535) {
			struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
			ioctl(master, TIOCSWINSZ, &ws);
		}
		line = nl + 1;
	}
	*len = strlen(line);
	memmove(buf, line, *len);
	if (*len >= 63) /* not a size: dropped */
		*len = 0;
}

/* Wait mode: forward signals, proxy the console, exit with the init's status. */
static void supervise(pid_t init, const sigset_t *mask)
{
	int sfd = signalfd(-1, mask, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");
	int master = -1;
	if (proxyfd >= 0) {
		master = recv_fd(proxyfd);
		close(proxyfd);
		proxyfd = -1;
		if (master >= 0 && isatty(0) && tcgetattr(0, &saved_tio) == 0) {
			struct termios raw = saved_tio;
			cfmakeraw(&raw);
			tcsetattr(0, TCSANOW, &raw);
			restored_tio = 0;
			struct winsize ws;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
	}
	if (master >= 0) {
		/* a write to stdout's reader that left (a detached `berth exec -it`) raises SIGPIPE,
		 * which would be forwarded to the process: ignored, the write fails with EPIPE (copy_fd) */
		sigset_t pipe_only;
		sigemptyset(&pipe_only);
		sigaddset(&pipe_only, SIGPIPE);
		signal(SIGPIPE, SIG_IGN);
		sigprocmask(SIG_UNBLOCK, &pipe_only, NULL);
	}
	int in_open = master >= 0;
	char sizebuf[64];
	size_t sizelen = 0;
	for (;;) {
		struct pollfd pf[4] = {{.fd = sfd, .events = POLLIN}, {.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN},
				       {.fd = master >= 0 ? sizefd : -1, .events = POLLIN}};
		int r = poll(pf, 4, -1);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int st;
					pid_t p;
					while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
						if (p == init) {
							if (master >= 0) /* drain what the container printed last */
								while (poll(&(struct pollfd){.fd = master, .events = POLLIN}, 1, 0) > 0 && copy_fd(master, 1) == 0) { }
							restore_tty();
							_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
						}
					}
				} else if (si.ssi_signo == SIGWINCH && master >= 0) {
					struct winsize ws;
					if (ioctl(0, TIOCGWINSZ, &ws) == 0)
						ioctl(master, TIOCSWINSZ, &ws);
				} else {
					kill(init, (int)si.ssi_signo);
				}
			}
		}
		if (master >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			if (copy_fd(master, 1) < 0) {
				close(master);
				master = -1;
			}
		}
		/* a size berth sent before some input is set before that input is passed on */
		if (master >= 0 && sizefd >= 0 && (pf[3].revents & (POLLIN | POLLHUP | POLLERR)))
			read_sizes(&sizefd, master, sizebuf, &sizelen);
		if (in_open && (pf[2].revents & (POLLIN | POLLHUP))) {
			if (copy_fd(0, master) < 0)
				in_open = 0;
		}
	}
}

/* CVE-2019-5736: the processes that enter a container never run the host's binary file. The
 * shim re-executes itself from a sealed memfd copy, so /proc/<pid>/exe of a shim, or a
 * "#!/proc/self/exe" script exec'd through one, leads to a read-only copy, not dist/berth-shim. */
#define SHIM_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A sealed memfd copy of the program open at `self`, or -1 with what failed in *what. */
static int sealed_copy(int self, const char **what)
{
	struct stat st;
	*what = "stat the shim";
	if (fstat(self, &st) < 0)
		return -1;
	*what = "memfd_create";
	int mfd = memfd_create("berth-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -1;
	*what = "copy the shim into a memfd";
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(mfd, self, NULL, st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			close(mfd);
			return -1;
		}
		off += n;
	}
	*what = "seal the shim's memfd";
	if (fcntl(mfd, F_ADD_SEALS, SHIM_SEALS) < 0) {
		close(mfd);
		return -1;
	}
	return mfd;
}

/* Executes a sealed memfd copy of the program open at `self`; returns only on failure, with
 * what failed in *what (errno set). */
static void exec_sealed_copy(int self, char **argv, const char **what)
{
	int mfd = sealed_copy(self, what);
	if (mfd < 0)
		return;
	*what = "re-execute the shim from its sealed copy";
	fexecve(mfd, argv, environ);
	int e = errno;
	close(mfd);
	errno = e;
}

static void run_from_sealed_copy(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die("open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SHIM_SEALS) == SHIM_SEALS) {
		close(self);
		return;
	}
	const char *what;
	exec_sealed_copy(self, argv, &what);
	die("%s", what);
}

/* `berth-shim storage ...`: file-system helpers for src/storage (see berth-storage.c). */
#include "berth-storage.c"
/* `berth-shim devices-bpf ...`: cgroup v2 device programs for src/cgroups (see berth-devices.c). */
#include "berth-devices.c"
/* `berth-shim idmap-probe PATH`: whether a file system can be idmapped (see berth-idmap.c). */
#include "berth-idmap.c"
/* `berth-shim monitor ...`: a container's supervisor, and `berth-shim init ...`, the tiny init of
 * --init (see berth-monitor.c). */
#include "berth-monitor.c"
/* `berth-shim netlink`: executes a network plan from src/network (see berth-netlink.c). */
#include "berth-netlink.c"
/* `berth-shim netns add|del PATH`: persistent network namespaces for the engine (see berth-netns.c). */
#include "berth-netns.c"
/* `berth ...` (bin/berth, a link to this program) and `berth-shim prestart ...`: the CLI's front,
 * which hands a command to a node process started ahead (see berth-prestart.c). */
#include "berth-prestart.c"

int main(int argc, char **argv)
{
	const char *base = argc ? strrchr(argv[0], '/') : 0;
	if (argc && !strcmp(base ? base + 1 : argv[0], "berth"))
		return berth_client_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "prestart"))
		return prestart_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "storage"))
		return storage_main(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "devices-bpf"))
		return devices_main(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "idmap-probe"))
		return idmap_probe(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "idmap-mount"))
		return idmap_mount(argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 2 && !strcmp(argv[1], "monitor"))
		return monitor_main(argc - 1, argv + 1);
	if (argc >= 3 && !strcmp(argv[1], "init"))
		return tiny_init(argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "netns"))
		return netns_main(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "netlink"))
		return netlink_main();
	/* `berth-shim SYNCFD [NETNSFD]`: the second only from a standby monitor (prepare_netns) */
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "berth-shim: internal helper of berth; not meant to be run by hand\n");
		return 2;
	}
	syncfd = atoi(argv[1]);
	run_from_sealed_copy(argv);
	if (argc == 3) { /* after that exec, which keeps it; no later exec may */
		readynetfd = atoi(argv[2]);
		if (readynetfd < 3 || fcntl(readynetfd, F_SETFD, FD_CLOEXEC) < 0)
			readynetfd = -1;
	}
	/* Not dumpable: while a shim process is inside a container (exec joining it, the init before
	 * start), container processes cannot open its /proc/<pid>/exe, fd/ or cwd. execve of the
	 * container's program makes it dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die("set non-dumpable");
	read_plan();

	const struct op *mode = find("MODE");
	int wait_mode = mode && !strcmp(mode->argv[0], "wait");
	int want_userns = 0;
	for (int i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		if (is(o, "UNSHARE", -1))
			for (int j = 0; j < o->argc; j++)
				if (!strcmp(o->argv[j], "user"))
					want_userns = 1;
		if (is(o, "CONSOLE_SOCKET", 1)) {
			consolefd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			if (strlen(o->argv[0]) >= sizeof(sa.sun_path))
				die("console socket path too long");
			strcpy(sa.sun_path, o->argv[0]);
			if (consolefd < 0 || connect(consolefd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				die("connect console socket %s", o->argv[0]);
		} else if (is(o, "CONSOLE_PROXY", 0)) {
			int sp[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
				die("socketpair");
			proxyfd = sp[0];
			consolefd = sp[1];
		} else if (is(o, "CONSOLE_SIZE_FD", 1)) {
			/* inherited from berth (not a terminal to read the size from): no container gets it */
			sizefd = (int)num(o->argv[0]);
			if (sizefd < 3 || fcntl(sizefd, F_SETFD, FD_CLOEXEC) < 0)
				die("console size fd %d", sizefd);
		} else if (is(o, "IDMAP_TREE", 4)) {
			prepare_idmap_tree(o->argv);
		} else if (is(o, "BIND_TREE", 2)) {
			prepare_bind_tree(o->argv);
		} else if (is(o, "SECCOMP", 4)) {
			/* a host path: read it now, the init loads it after pivot_root */
			o->prog = load_seccomp_program(o->argv[0], &o->proglen);
			if (o->argv[2][0]) { /* the seccomp agent's socket, also a host path */
				listenerfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
				struct sockaddr_un sa = {.sun_family = AF_UNIX};
				if (strlen(o->argv[2]) >= sizeof(sa.sun_path))
					die("seccomp listener path too long: %s", o->argv[2]);
				strcpy(sa.sun_path, o->argv[2]);
				if (listenerfd < 0 || connect(listenerfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
					die("connect seccomp listener %s", o->argv[2]);
			}
		} else if (is(o, "EXEC_FIFO", 1)) {
			/* made here, by host root: the init may already be unprivileged in a user ns */
			mode_t old = umask(0);
			if (mkfifo(o->argv[0], 0622) < 0)
				die("create exec fifo %s", o->argv[0]);
			umask(old);
		}
	}
	/* the host's /proc, only where the init needs it after pivot_root (to reopen the exec fifo):
	 * a process joining a running container holds no directory of the host */
	if (procfd < 0 && find("EXEC_FIFO"))
		procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ipc) < 0)
		die("socketpair");

	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if (wait_mode && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		die("become subreaper");

	pid_t c1 = cgjoin_fork_child1();
	if (c1 < 0)
		die("fork");
	if (c1 == 0)
		run_child1();
	if (readynetfd >= 0) /* child1's now */
		close(readynetfd);
	readynetfd = -1;
	close(ipc[1]);
	if (consolefd >= 0)
		close(consolefd);
	if (listenerfd >= 0)
		close(listenerfd);
	for (int i = 0; i < ntreefds; i++)
		close(treefds[i]);

	for (int i = 0; i < nops; i++)
		if (is(&ops[i], "CGROUP_PROCS", 1)) {
			char buf[16];
			int n = snprintf(buf, sizeof(buf), "%d", c1);
			int fd = open(ops[i].argv[0], O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, buf, n) != n) {
				kill(c1, SIGKILL);
				die("join cgroup %s", ops[i].argv[0]);
			}
			close(fd);
		}
	/* child1 waits only for that (with CGROUP_JOIN alone it goes on at once) */
	if (find("CGROUP_PROCS"))
		send_byte(ipc[0], 'C');
	if (want_userns) {
		if (recv_byte(ipc[0]) != 'U')
			_exit(1);
		if (find("SETGROUPS_DENY")) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/setgroups", c1);
			write_file(path, "deny", 4);
		}
		const struct op *u = find("UIDMAP"), *g = find("GIDMAP");
		if (u)
			write_idmap(c1, "uid_map", u->argv[0]);
		if (g)
			write_idmap(c1, "gid_map", g->argv[0]);
		send_byte(ipc[0], 'M');
	}
	int32_t initpid;
	size_t got = 0;
	while (got < sizeof(initpid)) {
		ssize_t n = read(ipc[0], (char *)&initpid + got, sizeof(initpid) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1); /* child1 died: it reported why */
		got += n;
	}
	/* berth hears the pid before anything the init says (HOOKS, ERR); child1 is reaped after
	 * the init goes on, not before */
	sendline("PID %d", initpid);
	send_byte(ipc[0], 'P');
	if (write(ipc[0], &initpid, sizeof(initpid)) != sizeof(initpid))
		die("tell the init its pid");
	close(ipc[0]);
	waitpid(c1, NULL, 0);
	if (!wait_mode)
		_exit(0);
	close(syncfd);
	syncfd = -1;
	sigset_t fwd;
	sigfillset(&fwd);
	supervise(initpid, &fwd);
	return 0;
}
