/*
 * hostile: a workload that tries to break out of its container. Built statically at test time
 * (cc -static) and copied into a busybox rootfs by test/integration/oci-hostile.test.ts and
 * oci-escapes.test.ts. It prints one line per attempt, "name RESULT", where RESULT is the errno
 * name (EPERM, EACCES...), OK when the attempt worked, or a word the mode documents.
 *
 *   hostile attacks HOSTPID     every attempt below; HOSTPID is a pid of the host (not visible)
 *   hostile fds                 "fd N TARGET dir|other" for every open fd but the listing's own
 *   hostile exe-watch SECS      for SECS seconds (or until /tmp/stop-watch exists), watch /proc
 *                               for processes whose exe is not a binary of this rootfs; try to
 *                               open their exe and fds and to rewrite the exe (its first byte
 *                               with itself). Prints counters.
 *   hostile touch-as UID GID PATH   create PATH as UID:GID
 *   hostile nested              unshare a user+mount namespace, then try to unmask /proc
 * Nothing here ever truncates or changes a file it reaches: the "write" probes put back the byte
 * they read, so a runtime with a hole is reported, not damaged.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/reboot.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *ename(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ETXTBSY: return "ETXTBSY";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENOSYS: return "ENOSYS";
	case ELOOP: return "ELOOP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENOEXEC: return "ENOEXEC";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	default: {
		static char buf[32];
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
	}
}

/* r < 0: report errno; else OK */
static void report(const char *name, long r)
{
	printf("%s %s\n", name, r < 0 ? ename(errno) : "OK");
	fflush(stdout);
}

/* Namespace-changing attempts run in a child, so one that works cannot change the next ones. */
#define IN_CHILD(name, expr)                                   \
	do {                                                   \
		pid_t c_ = fork();                             \
		if (c_ == 0) {                                 \
			report(name, (expr));                  \
			_exit(0);                              \
		}                                              \
		if (c_ > 0)                                    \
			waitpid(c_, NULL, 0);                  \
	} while (0)

static void try_open_write(const char *name, const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	report(name, fd);
	if (fd >= 0)
		close(fd);
}

/* Open and read: EMPTY when it reads as nothing (masked with /dev/null). */
static void try_read(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		report(name, -1);
		return;
	}
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		report(name, -1);
	else
		printf("%s %s\n", name, n == 0 ? "EMPTY" : "READ");
	fflush(stdout);
}

static void try_list(const char *name, const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		report(name, -1);
		return;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	printf("%s %s\n", name, n ? "LISTED" : "EMPTY");
	fflush(stdout);
}

static void try_setns(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		report(name, -1);
		return;
	}
	IN_CHILD(name, setns(fd, 0));
	close(fd);
}

static void attacks(pid_t hostpid)
{
	char p[512];
	mkdir("/tmp/h", 0755);

	report("mount_tmpfs", mount("tmpfs", "/tmp/h", "tmpfs", 0, ""));
	report("mount_bind_root", mount("/", "/tmp/h", NULL, MS_BIND | MS_REC, NULL));
	report("mount_proc", mount("proc", "/tmp/h", "proc", 0, NULL));
	report("remount_proc_rw", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
	report("umount_kcore", umount2("/proc/kcore", MNT_DETACH));
	report("umount_sys_firmware", umount2("/sys/firmware", MNT_DETACH));
	report("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
	report("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
	report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp/h"));

	try_open_write("sysrq_trigger", "/proc/sysrq-trigger");
	try_open_write("sysctl_hostname", "/proc/sys/kernel/hostname");
	try_open_write("sysctl_core_pattern", "/proc/sys/kernel/core_pattern");
	try_open_write("sysctl_drop_caches", "/proc/sys/vm/drop_caches");
	try_open_write("sys_uevent_helper", "/sys/kernel/uevent_helper");
	try_read("read_kcore", "/proc/kcore");
	try_read("read_keys", "/proc/keys");
	try_list("list_sys_firmware", "/sys/firmware");
	/* CVE-2022-0492: a writable release_agent lets a cgroup run a host program */
	{
		int worst = ENOENT;
		DIR *d = opendir("/sys/fs/cgroup");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/release_agent", e->d_name);
			int fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				worst = 0;
				close(fd);
			} else if (errno != ENOENT && worst == ENOENT) {
				worst = errno;
			}
		}
		if (d)
			closedir(d);
		errno = worst;
		report("cgroup_release_agent", worst ? -1 : 0);
	}

	report("mknod_block", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)));
	report("mknod_mem", mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
	{
		int fd = open("/tmp/mem", O_RDONLY | O_CLOEXEC);
		report("open_mknod_mem", fd);
		if (fd >= 0)
			close(fd);
	}
	{
		int fd = open("/dev/mem", O_RDONLY | O_CLOEXEC);
		report("open_dev_mem", fd);
		if (fd >= 0)
			close(fd);
	}

	try_setns("setns_pid1_mnt", "/proc/1/ns/mnt");
	try_setns("setns_pid1_user", "/proc/1/ns/user");
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", hostpid);
	try_setns("setns_hostpid_mnt", p);
	IN_CHILD("unshare_mnt", unshare(CLONE_NEWNS));
	IN_CHILD("unshare_user", unshare(CLONE_NEWUSER));
	IN_CHILD("unshare_net", unshare(CLONE_NEWNET));
	{
		long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			_exit(0);
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		report("clone_newuser", r);
	}

	report("ptrace_hostpid", ptrace(PTRACE_ATTACH, hostpid, 0, 0));
	report("kill_hostpid", kill(hostpid, 0));
	{
		char buf[8];
		struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
		report("process_vm_readv_hostpid", syscall(SYS_process_vm_readv, hostpid, &l, 1, &r, 1, 0));
	}

	{
		static char img[64];
		report("init_module", syscall(SYS_init_module, img, sizeof(img), ""));
		int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
		report("finit_module", syscall(SYS_finit_module, fd, "", 0));
		if (fd >= 0)
			close(fd);
		report("delete_module", syscall(SYS_delete_module, "ext4", O_NONBLOCK));
	}
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
	report("swapon", swapon("/tmp/swap", 0));
	report("iopl", syscall(SYS_iopl, 3));
	report("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
	report("acct", acct("/tmp/acct"));
	{
		struct timeval tv;
		gettimeofday(&tv, NULL);
		report("settimeofday", settimeofday(&tv, NULL));
	}
	report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
	report("add_key", syscall(SYS_add_key, "user", "x", "y", 1, -3));
	{
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = 4;
		a.max_entries = 1;
		report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)));
	}
	{
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_CPU_CLOCK;
		report("perf_event_open", syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	}
	report("userfaultfd", syscall(SYS_userfaultfd, 0));
	report("io_uring_setup", syscall(SYS_io_uring_setup, 1, calloc(1, 256)));
	{
		struct { unsigned int bytes; int type; unsigned char h[8]; } fh = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
		report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	}
	report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
	report("personality_bsd", syscall(SYS_personality, 0x0006 /* PER_BSD */));
	{
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[0].effective |= 1u << CAP_SYS_ADMIN;
		d[0].permitted |= 1u << CAP_SYS_ADMIN;
		report("capset_sys_admin", syscall(SYS_capset, &h, d));
	}
	{
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max + 1;
		rl.rlim_max = rl.rlim_max + 1;
		report("rlimit_above_hard", setrlimit(RLIMIT_NOFILE, &rl));
	}
	{
		int fd = open("/tmp/owned", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		report("chown_unmapped", chown("/tmp/owned", 100000, 100000));
		report("setuid_unmapped", syscall(SYS_setuid, 100000));
	}
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		report("fds", -1);
		return;
	}
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		char path[64], target[512];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		struct stat st;
		int dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
		printf("fd %d %s %s\n", fd, target, dir ? "dir" : "other");
	}
	closedir(d);
	fflush(stdout);
}

/* Is this link target a binary of our own rootfs (busybox or this helper)? */
static int ours(const char *target)
{
	return !strcmp(target, "/bin/busybox") || !strcmp(target, "/bin/hostile");
}

/* Put back byte 0 of an open file: a write that changes nothing, but shows it was possible. */
static int rewrite_first_byte(int fd)
{
	unsigned char b;
	if (pread(fd, &b, 1, 0) != 1)
		return -1;
	return pwrite(fd, &b, 1, 0) == 1 ? 0 : -1;
}

static struct stat own_bins[2];

/* Is this open file a binary of our own rootfs? (The exe link may change between readlink and
 * open: a joining process exec's busybox.) */
static int ours_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (st.st_dev == own_bins[i].st_dev && st.st_ino == own_bins[i].st_ino)
			return 1;
	return 0;
}

static int ours_n(char *target, ssize_t n)
{
	target[n] = 0;
	return ours(target);
}

#define MAXHELD 256

static void exe_watch(int secs)
{
	pid_t me = getpid();
	int held[MAXHELD], nheld = 0;
	int announced = 0;
	long seen = 0, unreachable = 0, exe_opened = 0, exe_write_ok = 0, fd_opened = 0, fd_outside = 0, write_ok = 0, held_write_ok = 0;
	struct stat root;
	stat("/", &root);
	stat("/bin/busybox", &own_bins[0]);
	stat("/bin/hostile", &own_bins[1]);
	time_t until = time(NULL) + secs;
	printf("watching\n");
	fflush(stdout);
	while (time(NULL) < until && access("/tmp/stop-watch", F_OK) < 0) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			pid_t pid = atoi(e->d_name);
			if (pid <= 0 || pid == me)
				continue;
			char path[128], target[512];
			snprintf(path, sizeof(path), "/proc/%d/exe", pid);
			ssize_t n = readlink(path, target, sizeof(target) - 1);
			if (n < 0 && (errno == EACCES || errno == EPERM))
				unreachable++; /* a process we may not inspect: the runtime joining us */
			if (!announced && (unreachable || (n > 0 && !ours_n(target, n)))) {
				announced = 1;
				printf("saw-joining\n");
				fflush(stdout);
			}
			if (n <= 0)
				continue;
			target[n] = 0;
			if (ours(target))
				continue;
			seen++;
			/* CVE-2019-5736: keep an O_PATH handle on the runtime's binary, write once it is free */
			int fd = open(path, O_PATH | O_CLOEXEC);
			if (fd >= 0 && ours_fd(fd)) {
				close(fd);
				fd = -1;
			}
			if (fd >= 0) {
				exe_opened++;
				if (nheld < MAXHELD)
					held[nheld++] = fd;
				else
					close(fd);
			}
			int w = open(path, O_RDWR | O_CLOEXEC);
			if (w >= 0) {
				if (!ours_fd(w) && rewrite_first_byte(w) == 0)
					exe_write_ok++;
				close(w);
			}
			/* CVE-2024-21626 class: a host fd held by a process joining the container */
			snprintf(path, sizeof(path), "/proc/%d/fd", pid);
			DIR *fdd = opendir(path);
			struct dirent *fe;
			while (fdd && (fe = readdir(fdd))) {
				if (fe->d_name[0] == '.')
					continue;
				char fp[512];
				snprintf(fp, sizeof(fp), "/proc/%d/fd/%s", pid, fe->d_name);
				int f = open(fp, O_PATH | O_CLOEXEC);
				if (f < 0)
					continue;
				fd_opened++;
				struct stat st;
				/* a directory that is not under our root: reach ".." from it */
				if (fstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
					int up = openat(f, "..", O_PATH | O_CLOEXEC);
					struct stat ust;
					if (up >= 0 && fstat(up, &ust) == 0 && (ust.st_dev != root.st_dev || ust.st_ino != root.st_ino))
						fd_outside++;
					if (up >= 0)
						close(up);
				}
				close(f);
			}
			if (fdd)
				closedir(fdd);
		}
		if (d)
			closedir(d);
		for (int i = 0; i < nheld; i++) {
			char fp[64];
			snprintf(fp, sizeof(fp), "/proc/self/fd/%d", held[i]);
			int w = open(fp, O_RDWR | O_CLOEXEC);
			if (w >= 0) {
				if (rewrite_first_byte(w) == 0)
					held_write_ok++;
				close(w);
			}
		}
		usleep(200);
	}
	write_ok = exe_write_ok + held_write_ok;
	printf("unreachable %ld\n", unreachable);
	printf("seen %ld\nexe_opened %ld\nexe_write_ok %ld\nheld_write_ok %ld\nwrite_ok %ld\nfd_opened %ld\nfd_outside %ld\n",
	       seen, exe_opened, exe_write_ok, held_write_ok, write_ok, fd_opened, fd_outside);
	fflush(stdout);
}

static void nested(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		report("nested_unshare", -1);
		return;
	}
	report("nested_unshare", 0);
	report("nested_umount_kcore", umount2("/proc/kcore", MNT_DETACH));
	report("nested_umount_keys", umount2("/proc/keys", MNT_DETACH));
	report("nested_umount_firmware", umount2("/sys/firmware", MNT_DETACH));
	mkdir("/tmp/np", 0755);
	report("nested_mount_proc", mount("proc", "/tmp/np", "proc", 0, NULL));
	report("nested_remount_proc_sys_rw", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
	try_read("nested_read_kcore", "/proc/kcore");
	try_read("nested_read_keys", "/proc/keys");
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "attacks"))
		attacks(atoi(argv[2]));
	else if (argc >= 2 && !strcmp(argv[1], "fds"))
		list_fds();
	else if (argc >= 3 && !strcmp(argv[1], "exe-watch"))
		exe_watch(atoi(argv[2]));
	else if (argc >= 5 && !strcmp(argv[1], "touch-as")) {
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			return 3;
		if (setresgid(atoi(argv[3]), atoi(argv[3]), atoi(argv[3])) < 0 || setresuid(atoi(argv[2]), atoi(argv[2]), atoi(argv[2])) < 0) {
			report("touch-as", -1);
			return 1;
		}
		int fd = open(argv[4], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		report("touch-as", fd);
		return fd < 0;
	} else if (argc >= 2 && !strcmp(argv[1], "nested"))
		nested();
	else {
		fprintf(stderr, "usage: hostile attacks HOSTPID | fds | exe-watch SECS | touch-as UID GID PATH | nested\n");
		return 2;
	}
	return 0;
}
