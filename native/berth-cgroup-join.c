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

static int cgjoin_is_v2(int dirfd)
{
	struct statfs sf;
	return fstatfs(dirfd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* fork() for child1; with a v2 CGROUP_JOIN, child1 starts in that cgroup. */
static pid_t cgjoin_fork_child1(void)
{
	int v2fd = -1;
	for (int i = 0; i < nops && v2fd < 0; i++) {
		if (!is(&ops[i], "CGROUP_JOIN", 1))
			continue;
		int fd = open(ops[i].argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("open cgroup %s", ops[i].argv[0]);
		if (cgjoin_is_v2(fd))
			v2fd = fd;
		else
			close(fd);
	}
	if (v2fd < 0)
		return fork();
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)v2fd;
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		cgjoin_cloned = 1;
	else if (pid < 0)
		pid = fork(); /* refused: child1 joins by writing cgroup.procs */
	/* a host directory fd: neither process keeps it (child1 goes on into the container) */
	close(v2fd);
	return pid;
}

/* In child1, before it joins any namespace: the cgroups not entered by clone3. */
static void cgjoin_self(void)
{
	for (int i = 0; i < nops; i++) {
		if (!is(&ops[i], "CGROUP_JOIN", 1))
			continue;
		const char *dir = ops[i].argv[0];
		int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("open cgroup %s", dir);
		int v2 = cgjoin_is_v2(fd);
		close(fd);
		if (v2 && cgjoin_cloned)
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cgroup.procs" : "tasks") >= (int)sizeof(path))
			die("cgroup path too long: %s", dir);
		write_file(path, "0", 1);
	}
}
