/*
 * CGROUP_JOIN dir (exec and create plans): child1 joins the container's cgroups itself instead
 * of the parent writing its pid to each cgroup.procs.
 *
 * Why: writing a pid to cgroup.procs takes the kernel's global threadgroup lock for writing,
 * which waits for an RCU grace period (5-15 ms per exec on these hosts, most of an exec's
 * time). Two ways in skip that lock:
 *   - cgroup v2: clone3(CLONE_INTO_CGROUP) creates child1 inside the cgroup;
 *   - cgroup v1: a thread writing "0" to a hierarchy's `tasks` moves only itself (child1 is
 *     single-threaded, so that is the whole process).
 * The init that child1 forks inherits every membership. If clone3 is refused (an old kernel,
 * a seccomp filter around berth), child1 writes "0" to the v2 cgroup.procs instead: slower,
 * same result.
 *
 * #included by berth-shim.c, which provides ops/nops, is(), die() and write_file().
 */
#include <linux/magic.h>
#include <linux/sched.h>
#include <sys/vfs.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static int cgjoin_cloned; /* child1 was created inside the plan's v2 cgroup */

/* The CGROUP_JOIN directories, opened once by the parent before the fork and inherited by
 * child1, which then opens only "tasks"/"cgroup.procs" below each: one walk of each long
 * /sys/fs/cgroup/... path per start instead of three (path walks through kernfs were a sixth
 * of the shim's CPU time). Neither process keeps them: child1 goes on into the container. */
static int cgjoin_fd[64];
static char cgjoin_v2[64];
static const char *cgjoin_dir[64];
static int cgjoin_n;

static int cgjoin_is_v2(int dirfd)
{
	struct statfs sf;
	return fstatfs(dirfd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static void cgjoin_open(void)
{
	for (int i = 0; i < nops; i++) {
		if (!is(&ops[i], "CGROUP_JOIN", 1))
			continue;
		if (cgjoin_n >= 64)
			die("plan: too many cgroups to join");
		int fd = open(ops[i].argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("open cgroup %s", ops[i].argv[0]);
		cgjoin_dir[cgjoin_n] = ops[i].argv[0];
		cgjoin_v2[cgjoin_n] = (char)cgjoin_is_v2(fd);
		cgjoin_fd[cgjoin_n++] = fd;
	}
}

static void cgjoin_close(void)
{
	for (int i = 0; i < cgjoin_n; i++)
		close(cgjoin_fd[i]);
	cgjoin_n = 0;
}

/* fork() for child1; with a v2 CGROUP_JOIN, child1 starts in that cgroup. */
static pid_t cgjoin_fork_child1(void)
{
	cgjoin_open();
	int v2fd = -1;
	for (int i = 0; i < cgjoin_n && v2fd < 0; i++)
		if (cgjoin_v2[i])
			v2fd = cgjoin_fd[i];
	pid_t pid;
	if (v2fd < 0) {
		pid = fork();
	} else {
		struct clone_args ca;
		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_INTO_CGROUP;
		ca.exit_signal = SIGCHLD;
		ca.cgroup = (uint64_t)v2fd;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0)
			cgjoin_cloned = 1;
		else if (pid < 0)
			pid = fork(); /* refused: child1 joins by writing cgroup.procs */
	}
	if (pid != 0) /* the parent (or a failed fork): child1 has its copies */
		cgjoin_close();
	return pid;
}

/* In child1, before it joins any namespace: the cgroups not entered by clone3. */
static void cgjoin_self(void)
{
	for (int i = 0; i < cgjoin_n; i++) {
		if (cgjoin_v2[i] && cgjoin_cloned)
			continue;
		const char *file = cgjoin_v2[i] ? "cgroup.procs" : "tasks";
		int fd = openat(cgjoin_fd[i], file, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die("open %s/%s", cgjoin_dir[i], file);
		if (write(fd, "0", 1) != 1)
			die("write %s/%s", cgjoin_dir[i], file);
		close(fd);
	}
	cgjoin_close();
}
