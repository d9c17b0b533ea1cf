/*
 * berth device-program helper: load a BPF_PROG_TYPE_CGROUP_DEVICE program (compiled by
 * src/cgroups/v2/device-bpf.ts) and attach it to a cgroup v2 directory. Node has no bpf(2).
 *
 * Compiled into berth-shim (included from berth-shim.c, run as `berth-shim devices-bpf ...`), or
 * on its own with -DBERTH_DEVICES_STANDALONE.
 *
 *   devices-bpf CGROUP_DIR PROGRAM_FILE     ("-": the program on stdin)
 *       Load the program (raw 8-byte eBPF instructions, license "Apache-2.0", name
 *       "berth_devices"), attach it to CGROUP_DIR (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), then
 *       detach every other program named "berth_devices" attached directly to CGROUP_DIR: an
 *       update never leaves the cgroup without a device program. Programs attached by others
 *       are left alone. Prints "OK <new program id>".
 *   devices-bpf CGROUP_DIR --detach
 *       Detach every "berth_devices" program attached directly to CGROUP_DIR. Prints "OK".
 *
 * An attached program stays with the cgroup after the helper exits (the attachment holds a
 * reference) and goes when the cgroup is removed. Errors: "berth-shim devices-bpf: ..." on
 * stderr (with the verifier's log when loading fails), exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#define DV_NAME "berth_devices"
#define DV_MAX_INSNS 65536

static int dv_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int dv_fail(const char *what, const char *arg)
{
	int e = errno;
	fprintf(stderr, "berth-shim devices-bpf: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(e));
	return 1;
}

/* The program file (or stdin) into a malloc'd buffer; returns the number of bytes or -1. */
static long dv_read(const char *file, char **out)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -1;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			return -1;
		if (len == cap) {
			if (cap >= (size_t)DV_MAX_INSNS * 8) {
				errno = E2BIG;
				return -1;
			}
			cap *= 2;
			buf = realloc(buf, cap);
			continue;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != 0)
		close(fd);
	*out = buf;
	return (long)len;
}

/* Detach our programs attached directly to cgfd, except the one with id `keep` (0: none). */
static int dv_detach_ours(int cgfd, const char *dir, uint32_t keep)
{
	uint32_t ids[64];
	union bpf_attr q;
	memset(&q, 0, sizeof(q));
	q.query.target_fd = (uint32_t)cgfd;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uint64_t)(uintptr_t)ids;
	q.query.prog_cnt = 64;
	if (dv_bpf(BPF_PROG_QUERY, &q) < 0)
		return dv_fail("query the device programs of", dir);
	for (uint32_t i = 0; i < q.query.prog_cnt && i < 64; i++) {
		if (ids[i] == keep)
			continue;
		union bpf_attr g;
		memset(&g, 0, sizeof(g));
		g.prog_id = ids[i];
		int pfd = dv_bpf(BPF_PROG_GET_FD_BY_ID, &g);
		if (pfd < 0) {
			if (errno == ENOENT)
				continue; /* gone meanwhile */
			return dv_fail("open an attached device program of", dir);
		}
		struct bpf_prog_info info;
		memset(&info, 0, sizeof(info));
		union bpf_attr ia;
		memset(&ia, 0, sizeof(ia));
		ia.info.bpf_fd = (uint32_t)pfd;
		ia.info.info_len = sizeof(info);
		ia.info.info = (uint64_t)(uintptr_t)&info;
		if (dv_bpf(BPF_OBJ_GET_INFO_BY_FD, &ia) < 0) {
			close(pfd);
			return dv_fail("inspect an attached device program of", dir);
		}
		if (strncmp(info.name, DV_NAME, sizeof(info.name)) != 0) {
			close(pfd);
			continue; /* someone else's */
		}
		union bpf_attr d;
		memset(&d, 0, sizeof(d));
		d.target_fd = (uint32_t)cgfd;
		d.attach_bpf_fd = (uint32_t)pfd;
		d.attach_type = BPF_CGROUP_DEVICE;
		int rc = dv_bpf(BPF_PROG_DETACH, &d);
		close(pfd);
		if (rc < 0 && errno != ENOENT)
			return dv_fail("detach the old device program from", dir);
	}
	return 0;
}

static int devices_main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: berth-shim devices-bpf CGROUP_DIR PROGRAM_FILE|-|--detach\n");
		return 2;
	}
	const char *dir = argv[0];
	int detach = !strcmp(argv[1], "--detach");
	char *code = NULL;
	long len = 0;
	if (!detach) {
		/* First, so that the caller's write of the program never meets a closed pipe. */
		len = dv_read(argv[1], &code);
		if (len < 0)
			return dv_fail("read the program", argv[1]);
		if (len == 0 || len % 8) {
			fprintf(stderr, "berth-shim devices-bpf: %s: %ld bytes is not a whole number of eBPF instructions\n", argv[1], len);
			return 1;
		}
	}
	int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return dv_fail("open", dir);
	if (detach) {
		if (dv_detach_ours(cgfd, dir, 0))
			return 1;
		printf("OK\n");
		return 0;
	}
	static char log[65536];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)code;
	a.insn_cnt = (uint32_t)(len / 8);
	a.license = (uint64_t)(uintptr_t) "Apache-2.0";
	strncpy(a.prog_name, DV_NAME, sizeof(a.prog_name) - 1);
	int pfd = dv_bpf(BPF_PROG_LOAD, &a);
	if (pfd < 0) {
		/* Again with the verifier's log for the message. */
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		pfd = dv_bpf(BPF_PROG_LOAD, &a);
		if (pfd < 0) {
			int e = errno;
			fprintf(stderr, "berth-shim devices-bpf: load the device program: %s%s%s\n", strerror(e), log[0] ? "\n" : "", log);
			return 1;
		}
	}
	union bpf_attr at;
	memset(&at, 0, sizeof(at));
	at.target_fd = (uint32_t)cgfd;
	at.attach_bpf_fd = (uint32_t)pfd;
	at.attach_type = BPF_CGROUP_DEVICE;
	at.attach_flags = BPF_F_ALLOW_MULTI;
	if (dv_bpf(BPF_PROG_ATTACH, &at) < 0)
		return dv_fail("attach the device program to", dir);
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	union bpf_attr ia;
	memset(&ia, 0, sizeof(ia));
	ia.info.bpf_fd = (uint32_t)pfd;
	ia.info.info_len = sizeof(info);
	ia.info.info = (uint64_t)(uintptr_t)&info;
	if (dv_bpf(BPF_OBJ_GET_INFO_BY_FD, &ia) < 0)
		return dv_fail("inspect the new device program of", dir);
	if (dv_detach_ours(cgfd, dir, info.id))
		return 1;
	printf("OK %u\n", info.id);
	return 0;
}

#ifdef BERTH_DEVICES_STANDALONE
int main(int argc, char **argv)
{
	return devices_main(argc - 1, argv + 1);
}
#endif
