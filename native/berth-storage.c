/*
 * berth storage helper: the few file-system syscalls the storage code (src/storage) needs and
 * Node cannot make: mknod (overlay whiteouts, device nodes, fifos), extended attributes
 * (lsetxattr/llistxattr/lgetxattr), and overlay mounts through the new mount API
 * (fsopen/fsconfig with "lowerdir+", for images of more than ~100 layers).
 *
 * Compiled into berth-shim (included from berth-shim.c, run as `berth-shim storage ...`), or on
 * its own with -DBERTH_STORAGE_STANDALONE. Like the shim it decides nothing: TypeScript checks
 * every path (no symlinked components, inside the layer) before asking.
 *
 *   storage serve
 *       Requests on stdin, one per line, fields separated by one space, every field but the
 *       op and numbers hex-encoded (paths and xattr values may hold any byte):
 *         mknod PATH MODE MAJOR MINOR      mode includes the file type bits (S_IFCHR, S_IFIFO..)
 *         setx PATH NAME VALUE             lsetxattr
 *         getx PATH                        every xattr: answer "OK NAME VALUE NAME VALUE ..."
 *         mount DIR TARGET OPTIONS LOWER... as mount-overlay below (then back to cwd "/")
 *         umount TARGET FLAGS              umount2 (FLAGS decimal: 2 = MNT_DETACH)
 *       Answers on stdout, one line per request: "OK ..." or "ERR <errno> [MESSAGE]".
 *   storage mount-overlay DIR TARGET OPTIONS LOWER...
 *       chdir(DIR) (so relative paths stay short), then mount an overlay on TARGET with every
 *       LOWER (top first) as a "lowerdir+" and OPTIONS (comma-separated key=value or flag) through
 *       fsopen/fsconfig/fsmount/move_mount. Kernels without the new API or "lowerdir+" (< 6.8)
 *       get one mount(2) with a "lowerdir=a:b:..." string, which must fit in a page.
 *   storage umount TARGET [detach]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#define ST_FSCONFIG_SET_FLAG 0
#define ST_FSCONFIG_SET_STRING 1
#define ST_FSCONFIG_CMD_CREATE 6

static int st_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex in place; returns the byte length, -1 when malformed. Adds a NUL after it. */
static long st_unhex(char *s)
{
	size_t n = strlen(s);
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = st_hexval((unsigned char)s[2 * i]), lo = st_hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		s[i] = (char)(hi << 4 | lo);
	}
	s[n / 2] = 0;
	return (long)(n / 2);
}

static void st_puthex(const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		putchar(digits[(unsigned char)p[i] >> 4]);
		putchar(digits[(unsigned char)p[i] & 15]);
	}
}

static void st_getx(const char *path)
{
	char *names = NULL;
	ssize_t n;
	for (;;) {
		n = llistxattr(path, NULL, 0);
		if (n < 0)
			goto fail;
		free(names);
		names = malloc(n + 1);
		if (!names) {
			errno = ENOMEM;
			goto fail;
		}
		if (n == 0)
			break;
		ssize_t m = llistxattr(path, names, n);
		if (m >= 0) {
			n = m;
			break;
		}
		if (errno != ERANGE)
			goto fail;
	}
	fputs("OK", stdout);
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		const char *name = names + off;
		char *val = NULL;
		ssize_t vn = lgetxattr(path, name, NULL, 0);
		if (vn >= 0 && (val = malloc(vn + 1)) != NULL)
			vn = lgetxattr(path, name, val, vn);
		if (vn < 0 || !val) {
			free(val);
			continue; /* removed meanwhile, or unreadable: skip it */
		}
		putchar(' ');
		st_puthex(name, strlen(name));
		putchar(' ');
		st_puthex(val, (size_t)vn);
		free(val);
	}
	putchar('\n');
	free(names);
	return;
fail:
	free(names);
	printf("ERR %d\n", errno);
}

/* The reason for the last failure (the kernel's fs context log, or what failed). */
static char st_err[512];

static int st_setfail(const char *what, const char *arg)
{
	int e = errno;
	if (!st_err[0])
		snprintf(st_err, sizeof(st_err), "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(e));
	errno = e;
	return -1;
}

/* The classic mount(2): one option string, at most a page. */
static int st_mount_classic(const char *target, const char *opts, int nlower, char **lowers)
{
	size_t cap = strlen(opts) + 16;
	for (int i = 0; i < nlower; i++)
		cap += strlen(lowers[i]) + 1;
	long page = sysconf(_SC_PAGESIZE);
	if ((long)cap > page) {
		errno = E2BIG;
		return st_setfail("overlay options exceed one page and this kernel lacks fsconfig \"lowerdir+\"", NULL);
	}
	char *data = malloc(cap);
	if (!data)
		return st_setfail("malloc", NULL);
	strcpy(data, "lowerdir=");
	for (int i = 0; i < nlower; i++) {
		if (i)
			strcat(data, ":");
		strcat(data, lowers[i]);
	}
	if (*opts) {
		strcat(data, ",");
		strcat(data, opts);
	}
	int r = mount("overlay", target, "overlay", 0, data);
	free(data);
	return r < 0 ? st_setfail("mount overlay on", target) : 0;
}

static int st_fsconfig_fail(int fs, const char *what, const char *arg)
{
	int e = errno;
	char msg[400];
	ssize_t n = read(fs, msg, sizeof(msg) - 1); /* the kernel's reason, when it logged one */
	if (n > 0) {
		msg[n] = 0;
		msg[strcspn(msg, "\n")] = 0;
		snprintf(st_err, sizeof(st_err), "%s%s%s: %s (%s)", what, arg ? " " : "", arg ? arg : "", strerror(e), msg);
	}
	close(fs);
	errno = e;
	return st_setfail(what, arg);
}

static int st_mount_overlay_in(const char *target, const char *opts, int nlower, char **lowers)
{
	int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		if (errno == ENOSYS)
			return st_mount_classic(target, opts, nlower, lowers);
		return st_setfail("fsopen overlay", NULL);
	}
	for (int i = 0; i < nlower; i++) {
		if (syscall(SYS_fsconfig, fs, ST_FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0) {
			if (errno == EINVAL && i == 0) { /* no "lowerdir+" before 6.8 */
				close(fs);
				return st_mount_classic(target, opts, nlower, lowers);
			}
			return st_fsconfig_fail(fs, "overlay lowerdir+", lowers[i]);
		}
	}
	char *copy = strdup(opts);
	if (!copy) {
		close(fs);
		return st_setfail("strdup", NULL);
	}
	for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		long r;
		if (eq) {
			*eq = 0;
			r = syscall(SYS_fsconfig, fs, ST_FSCONFIG_SET_STRING, o, eq + 1, 0);
		} else {
			r = syscall(SYS_fsconfig, fs, ST_FSCONFIG_SET_FLAG, o, NULL, 0);
		}
		if (r < 0) {
			int e = errno;
			free(copy);
			errno = e;
			return st_fsconfig_fail(fs, "overlay option", o);
		}
	}
	free(copy);
	if (syscall(SYS_fsconfig, fs, ST_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return st_fsconfig_fail(fs, "create overlay for", target);
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	close(fs);
	if (mnt < 0)
		return st_setfail("fsmount overlay for", target);
	int r = (int)syscall(SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
	int e = errno;
	close(mnt);
	errno = e;
	return r < 0 ? st_setfail("move_mount overlay to", target) : 0;
}

/* chdir(dir) for short relative paths, mount, and back to "/" (a cwd would pin a file system). */
static int st_mount_overlay(const char *dir, const char *target, const char *opts, int nlower, char **lowers)
{
	st_err[0] = 0;
	if (nlower < 1) {
		errno = EINVAL;
		return st_setfail("an overlay needs a lower directory", NULL);
	}
	if (chdir(dir) < 0)
		return st_setfail("chdir", dir);
	int r = st_mount_overlay_in(target, opts, nlower, lowers);
	int e = errno;
	if (chdir("/") < 0) {
		/* cannot happen; keep the mount's result */
	}
	errno = e;
	return r;
}

static void st_answer(int rc)
{
	if (rc == 0) {
		fputs("OK\n", stdout);
		return;
	}
	printf("ERR %d ", errno);
	st_puthex(st_err, strlen(st_err));
	putchar('\n');
}

static int st_serve(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	char **f = NULL;
	long *flen = NULL;
	size_t fcap = 0;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		size_t nf = 0;
		for (char *save = NULL, *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			if (nf == fcap) {
				fcap = fcap ? 2 * fcap : 16;
				f = realloc(f, fcap * sizeof(*f));
				flen = realloc(flen, fcap * sizeof(*flen));
				if (!f || !flen)
					return 1;
			}
			f[nf++] = t;
		}
		int rc = -1, ok = nf > 0;
		for (size_t i = 1; ok && i < nf; i++) {
			/* every field but the op is hex, except the numbers of mknod and umount */
			int numeric = (!strcmp(f[0], "mknod") && i >= 2) || (!strcmp(f[0], "umount") && i == 2);
			if (!numeric && (flen[i] = st_unhex(f[i])) < 0)
				ok = 0;
		}
		st_err[0] = 0;
		errno = EINVAL;
		if (!ok) {
			/* malformed: EINVAL */
		} else if (nf == 5 && !strcmp(f[0], "mknod")) {
			rc = mknod(f[1], (mode_t)strtoul(f[2], NULL, 10), makedev(strtoul(f[3], NULL, 10), strtoul(f[4], NULL, 10)));
		} else if (nf == 4 && !strcmp(f[0], "setx")) {
			rc = lsetxattr(f[1], f[2], f[3], (size_t)flen[3], 0);
		} else if (nf == 2 && !strcmp(f[0], "getx")) {
			st_getx(f[1]);
			fflush(stdout);
			continue;
		} else if (nf >= 5 && !strcmp(f[0], "mount")) {
			rc = st_mount_overlay(f[1], f[2], f[3], (int)nf - 4, f + 4);
		} else if (nf == 3 && !strcmp(f[0], "umount")) {
			rc = umount2(f[1], (int)strtol(f[2], NULL, 10));
		}
		st_answer(rc);
		fflush(stdout);
	}
	free(line);
	free(f);
	free(flen);
	return 0;
}

static int st_cli_fail(void)
{
	fprintf(stderr, "%s\n", st_err[0] ? st_err : strerror(errno));
	return 1;
}

static int storage_main(int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "serve"))
		return st_serve();
	if (argc >= 5 && !strcmp(argv[0], "mount-overlay"))
		return st_mount_overlay(argv[1], argv[2], argv[3], argc - 4, argv + 4) < 0 ? st_cli_fail() : 0;
	if ((argc == 2 || argc == 3) && !strcmp(argv[0], "umount")) {
		st_err[0] = 0;
		if (umount2(argv[1], argc == 3 ? MNT_DETACH : 0) < 0) {
			st_setfail("umount", argv[1]);
			return st_cli_fail();
		}
		return 0;
	}
	fprintf(stderr, "usage: storage serve | mount-overlay DIR TARGET OPTIONS LOWER... | umount TARGET [detach]\n");
	return 2;
}

#ifdef BERTH_STORAGE_STANDALONE
int main(int argc, char **argv)
{
	return storage_main(argc - 1, argv + 1);
}
#endif
