/*
 * `berth` (bin/berth is a link to berth-shim) and `berth-shim prestart`: how a CLI command skips
 * node's start-up.
 *
 * Node's own start and loading the CLI's bundle are half of a `berth run -d` (~45 of ~90 ms of
 * CPU here). So the first command of a kind that repeats (run, exec, start, stop, rm, logs, ps...:
 * pre_hot_verb) leaves behind a listener (`berth-shim prestart`), one per user, build, situation
 * and start-up environment (the socket's name), holding a node process that has loaded the bundle
 * and waits for one command. The next such command hands its argv and environment to that node
 * process, which runs it as the command's own process would, and exits; the listener starts the
 * next node as soon as one takes a command (several may run at once: a `logs -f` lasts). It holds
 * no state (every command still opens the store, takes its locks and ends), and exits after
 * PRESTART_IDLE_MS without a command. BERTH_PRESTART=0 turns it off.
 *
 * A command is handed over only to a process the kernel shows to be in the same situation as the
 * caller, so that it can act for it: the listener compares the caller (SO_PEERPIDFD, so the pid
 * cannot be a recycled one) with itself -- user and groups, capabilities, no_new_privs, no seccomp
 * filter, namespaces, root, cgroup, rlimits, LSM label, audit ids, scheduling, I/O priority,
 * oom_score_adj, personality, affinity, and the executable -- and the caller proves it may ptrace
 * the listener (pre_challenge: what /proc does not show, Landlock or Yama, stops it there). The
 * node process refuses anything but a known command whose I/O is plain output
 * (src/cli/berth/prestarted.ts). Otherwise, or when anything fails, the caller runs node itself
 * (the "cold" path), as bin/berth always did. Node's stdout and stderr pipes go to the caller,
 * which copies them to its own; its cwd and umask are read from /proc, not told.
 *
 * Caller <-> listener: the caller sends "BRT2", a 4-byte length and that many bytes of
 * NUL-terminated strings ("2", stdout's and stderr's terminal as "rows cols" or "0", "1" if they
 * are one file, argc, argv..., environment...). The listener answers 'C' (run it yourself), or
 * 'N' + its pid + a descriptor number (pre_prove: the caller sends back 'P' + the 16 bytes it
 * holds), then 'A' with node's stdout and stderr (SCM_RIGHTS); the caller answers 'G' (it follows
 * now), sends signal numbers (one byte each) to forward, and gets 'X' + exit code or 'S' + signal
 * (each a 4-byte int) at the end.
 * Listener <-> node (fd 3): node sends 'R' when ready; the listener sends a 4-byte length and the
 * strings "2", cwd, umask, then the caller's after its "2"; node answers 'A' or 'D' (declined: it
 * exits, unused); after 'A', 'G' from the listener starts it; it sends 'X' + its exit code when
 * the command is done, then exits. The next node starts as soon as one takes a command.
 */
#include <sys/file.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define PRESTART_IDLE_MS 30000
#define PRESTART_MAX_REQUEST (4u << 20)

/* Writes all of buf to fd: a file, pipe or terminal (waiting while a non-blocking one is full),
 * or with `sock`, a socket whose reader may go (EPIPE, not SIGPIPE). */
static int pre_put(int fd, const void *buf, size_t len, int sock)
{
	const char *p = buf;
	while (len) {
		ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
#define pre_write_all(fd, buf, len) pre_put(fd, buf, len, 0)
#define pre_send_all(fd, buf, len) pre_put(fd, buf, len, 1)

static long pre_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Reads exactly len bytes by the time `deadline` (pre_now_ms; LONG_MAX: no limit); -1 on EOF,
 * error or lateness. */
static int pre_read_by(int fd, void *buf, size_t len, long deadline)
{
	char *p = buf;
	while (len) {
		int forever = deadline == LONG_MAX;
		long left = forever ? 0 : deadline - pre_now_ms();
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = forever ? poll(&pf, 1, -1) : left > 0 ? poll(&pf, 1, left > INT32_MAX ? INT32_MAX : (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* pre_read_by, within ms from now (-1: no limit). */
static int pre_read_all(int fd, void *buf, size_t len, int ms)
{
	return pre_read_by(fd, buf, len, ms < 0 ? LONG_MAX : pre_now_ms() + ms);
}

static void pre_dirname(char *path)
{
	char *s = strrchr(path, '/');
	if (s && s != path)
		*s = 0;
	else if (s)
		s[1] = 0;
}

/* Up to len-1 bytes of a small /proc file, NUL-terminated; -1 if it cannot be read. */
static ssize_t pre_slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	ssize_t n;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* The line of /proc/<x>/status starting with key, into out ("" if none). */
static void pre_status_line(const char *status, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);
	out[0] = 0;
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : 0) {
		if (!strncmp(p, key, k)) {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n >= len)
				n = len - 1;
			memcpy(out, p, n);
			out[n] = 0;
			return;
		}
	}
}

/* Its scheduling: fields 18 (priority), 19 (nice), 40 (rt_priority) and 41 (policy) of
 * /proc/<x>/stat, after the command name's closing parenthesis, into out. */
static int pre_sched(const char *path, char *out, size_t len)
{
	char buf[1024];
	long f[4] = { 0 };
	static const int want[4] = { 18, 19, 40, 41 };
	if (pre_slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	for (int field = 2, k = 0; p && k < 4; field++) {
		p = strchr(p + 1, ' ');
		if (p && field + 1 == want[k])
			f[k++] = strtol(p + 1, 0, 10);
	}
	if (!p)
		return -1;
	snprintf(out, len, "%ld %ld %ld %ld", f[0], f[1], f[2], f[3]);
	return 0;
}

/* What makes a process's situation (pre_same_situation), besides its root, program and nice:
 * its namespaces, these /proc files, and these lines of its status. */
static const char *const pre_ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts", 0 };
static const char *const pre_files[] = { "cgroup", "limits", "attr/current", "oom_score_adj", "loginuid", "sessionid", "personality", 0 };
static const char *const pre_status_keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:", "Cpus_allowed:", "Mems_allowed:", 0 };

/* ---- the caller: `berth ...` ---- */

/* The node executable that PATH names, as execvp would find it (its path in out). */
static int pre_find_node(char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		if (n && n + 6 < len) {
			memcpy(out, path, n);
			memcpy(out + n, "/node", 6);
			if (access(out, X_OK) == 0)
				return 0;
		}
		path += n + (end ? 1 : 0);
	}
	return -1;
}

/* The environment node runs with, cold or handed over: as bin/berth's shebang always made it,
 * without NODE_EXTRA_CA_CERTS (node parses that file at every start: 90 ms here), which the
 * registry client adds back from BERTH_EXTRA_CA_CERTS when it connects. */
static void pre_node_env(void)
{
	const char *ca = getenv("NODE_EXTRA_CA_CERTS");
	setenv("BERTH_EXTRA_CA_CERTS", ca ? ca : "", 1);
	unsetenv("NODE_EXTRA_CA_CERTS");
	unsetenv("BERTH_PRESTARTED");
}

__attribute__((noreturn)) static void pre_run_cold(const char *node, const char *entry, int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args) {
		fprintf(stderr, "berth: out of memory\n");
		exit(125);
	}
	args[0] = "node";
	args[1] = (char *)entry;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	if (*node)
		execv(node, args);
	else
		execvp("node", args);
	fprintf(stderr, "berth: cannot run node (%s): %s; berth needs Node.js 20 in PATH\n", *node ? node : "node", strerror(errno));
	exit(127);
}

/* Whether argv may be handed over (then it asks the listener, or starts one for the next time):
 * the verbs that repeat; `run`, `exec` and `start` neither interactive nor with a terminal. A
 * first look; src/cli/berth/prestarted.ts decides, from the parsed flags. Anything else runs in
 * its own node at once, without a round trip. */
static int pre_hot_verb(int argc, char **argv)
{
	static const char *const hot[] = { "run", "exec", "start", "create", "stop", "kill", "rm", "restart", "pause", "unpause", "rename", "logs", "ps", "inspect", 0 };
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--root") || !strcmp(argv[i], "--state-root"))
			i++;
		i++;
	}
	if (i < argc && !strcmp(argv[i], "container"))
		i++;
	if (i >= argc)
		return 0;
	int k = 0;
	while (hot[k] && strcmp(argv[i], hot[k]))
		k++;
	if (!hot[k])
		return 0;
	if (k > 2)
		return 1;
	/* -i, -t, --interactive, --tty, or short flags with i or t (-it): stdin or a terminal of its
	 * own; a false match (the container's own `ls -t`) only costs a cold start */
	for (int j = i + 1; j < argc && strcmp(argv[j], "--"); j++) {
		const char *a = argv[j];
		if (!strncmp(a, "--interactive", 13) || !strncmp(a, "--tty", 5))
			return 0;
		if (a[0] == '-' && a[1] != '-' && (strchr(a, 'i') || strchr(a, 't')) && strspn(a + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(a + 1))
			return 0;
	}
	return 1;
}

/* FNV-1a: names the socket after everything that makes a build (not a secret, only a name). */
static void pre_hash(unsigned long long *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		*h = (*h ^ p[i]) * 0x100000001b3ULL;
}

static void pre_hash_file(unsigned long long *h, const char *path)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	unsigned long long v[5] = { st.st_dev, st.st_ino, (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec, (unsigned long long)st.st_mtim.tv_nsec };
	pre_hash(h, v, sizeof(v));
}

/* This process's situation (as pre_same_situation compares it), into h: callers in different
 * situations get listeners of their own, none is left to the cold path for good. */
static void pre_hash_situation(unsigned long long *h)
{
	char path[64], buf[8192], line[512];
	struct stat st;
	for (int i = 0; pre_ns[i]; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", pre_ns[i]);
		if (stat(path, &st) == 0)
			pre_hash(h, &st.st_ino, sizeof(st.st_ino));
	}
	if (stat("/", &st) == 0) {
		pre_hash(h, &st.st_dev, sizeof(st.st_dev));
		pre_hash(h, &st.st_ino, sizeof(st.st_ino));
	}
	for (int i = 0; pre_files[i]; i++) {
		snprintf(path, sizeof(path), "/proc/self/%s", pre_files[i]);
		ssize_t n = pre_slurp(path, buf, sizeof(buf));
		if (n > 0)
			pre_hash(h, buf, (size_t)n);
	}
	if (pre_slurp("/proc/self/status", buf, sizeof(buf)) > 0)
		for (int i = 0; pre_status_keys[i]; i++) {
			pre_status_line(buf, pre_status_keys[i], line, sizeof(line));
			pre_hash(h, line, strlen(line));
		}
	long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
	pre_hash(h, &io, sizeof(io));
	char sched[128];
	if (pre_sched("/proc/self/stat", sched, sizeof(sched)) == 0)
		pre_hash(h, sched, strlen(sched));
}

/* The environment node, the loader and the C library read at their start (the same names as
 * STARTUP_ENV in src/cli/berth/prestarted.ts, whose node declines a caller that differs there),
 * into h, whatever their order: callers that differ there get listeners of their own. */
static void pre_hash_startup_env(unsigned long long *h)
{
	static const char *const prefix[] = { "NODE_", "UV_", "LC_", "LD_", "MALLOC_", "OPENSSL_", "LANG=", "LANGUAGE=", "GLIBC_TUNABLES=", 0 };
	unsigned long long sum = 0;
	for (char **e = environ; *e; e++)
		for (int k = 0; prefix[k]; k++)
			if (!strncmp(*e, prefix[k], strlen(prefix[k]))) {
				unsigned long long one = 0xcbf29ce484222325ULL;
				pre_hash(&one, *e, strlen(*e));
				sum += one;
				break;
			}
	pre_hash(h, &sum, sizeof(sum));
}

/* The directory of the sockets: ours alone (0700, owned by us, not a link), or none. */
static int pre_socket_dir(char *dir, size_t len)
{
	const char *d = getenv("BERTH_PRESTART_DIR");
	if (d && *d)
		snprintf(dir, len, "%s", d);
	else if (getuid() == 0)
		snprintf(dir, len, "/run/berth-prestart");
	else if ((d = getenv("XDG_RUNTIME_DIR")) && *d == '/')
		snprintf(dir, len, "%s/berth-prestart", d);
	else
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
		return -1;
	return 0;
}

/* Whether a listener here found node unable to start in the last minute (SOCK.broken): a broken
 * install is not retried at every command. */
static int pre_recently_broken(const char *sock)
{
	char path[PATH_MAX + 80];
	struct stat st;
	struct timespec now;
	snprintf(path, sizeof(path), "%s.broken", sock);
	clock_gettime(CLOCK_REALTIME, &now);
	return stat(path, &st) == 0 && now.tv_sec - st.st_mtim.tv_sec < 60;
}

/* Starts the listener, detached from this command (its own session, no inherited descriptor),
 * and returns at once. */
static void pre_start_listener(const char *exe, const char *sock, const char *node, const char *entry)
{
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid > 0) {
		waitpid(pid, 0, 0);
		return;
	}
	if (fork() != 0)
		_exit(0);
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, 0);
	char *args[] = { "berth-prestart", "prestart", (char *)sock, (char *)node, (char *)entry, 0 };
	execv(exe, args);
	_exit(1);
}

/* "rows cols" if fd is a terminal, else "0". */
static void pre_tty(int fd, char *out, size_t len)
{
	struct winsize ws;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0)
		snprintf(out, len, "%u %u", ws.ws_row, ws.ws_col);
	else if (isatty(fd))
		snprintf(out, len, "24 80");
	else
		snprintf(out, len, "0");
}

static int pre_send_request(int s, int argc, char **argv)
{
	char out[32], err[32], num[16];
	struct stat a, b;
	pre_tty(1, out, sizeof(out));
	pre_tty(2, err, sizeof(err));
	/* one file for both (2>&1, a terminal): node writes both to its stdout, in order */
	const char *merged = fstat(1, &a) == 0 && fstat(2, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino ? "1" : "0";
	snprintf(num, sizeof(num), "%d", argc - 1);
	size_t len = 2 + strlen(out) + 1 + strlen(err) + 1 + 2 + strlen(num) + 1;
	for (int i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	for (char **e = environ; *e; e++)
		len += strlen(*e) + 1;
	if (len > PRESTART_MAX_REQUEST)
		return -1;
	char *buf = malloc(len + 8);
	if (!buf)
		return -1;
	memcpy(buf, "BRT2", 4);
	uint32_t l = (uint32_t)len;
	memcpy(buf + 4, &l, 4);
	char *p = buf + 8;
	p = stpcpy(p, "2") + 1;
	p = stpcpy(p, out) + 1;
	p = stpcpy(p, err) + 1;
	p = stpcpy(p, merged) + 1;
	p = stpcpy(p, num) + 1;
	for (int i = 1; i < argc; i++)
		p = stpcpy(p, argv[i]) + 1;
	for (char **e = environ; *e; e++)
		p = stpcpy(p, *e) + 1;
	int r = pre_send_all(s, buf, len + 8);
	free(buf);
	return r;
}

/* The listener's proof request ('N', its pid, a descriptor number): take that descriptor from it
 * (pidfd_getfd, which the kernel allows only to a process that may ptrace it: not to one confined
 * by Landlock, Yama or an LSM where the listener is not) and send back what it holds. */
static int pre_prove(int s, const char *n)
{
	int32_t pid, fd;
	memcpy(&pid, n + 1, 4);
	memcpy(&fd, n + 5, 4);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	if (got < 0)
		return -1;
	char proof[17] = { 'P' };
	ssize_t r = pread(got, proof + 1, 16, 0);
	close(got);
	return r == 16 ? pre_send_all(s, proof, sizeof(proof)) : -1;
}

/* Copies what pipe `from` holds now to `to`; returns 1 at its end or when `to` is gone (node
 * then gets EPIPE, as it would writing there itself), else 0. */
static int pre_copy(int from, int to)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if (n == 0 || pre_write_all(to, buf, (size_t)n) < 0)
			return 1;
	}
}

/* After 'A': node's stdout and stderr (its pipes' read ends, out and err) are copied here to ours,
 * signals are forwarded, and this process ends as node's command ended. */
__attribute__((noreturn)) static void pre_follow(int s, int out, int err)
{
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGCONT, 0 };
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; fwd[i]; i++)
		sigaddset(&set, fwd[i]);
	sigprocmask(SIG_BLOCK, &set, 0);
	signal(SIGPIPE, SIG_IGN); /* a reader gone is seen as EPIPE (pre_copy) */
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	fcntl(out, F_SETFL, O_NONBLOCK);
	fcntl(err, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p[4] = { { .fd = s, .events = POLLIN }, { .fd = sfd, .events = POLLIN }, { .fd = out, .events = POLLIN }, { .fd = err, .events = POLLIN } };
		if (poll(p, 4, -1) < 0)
			continue;
		if (p[2].revents && pre_copy(out, 1))
			out = (close(out), -1);
		if (p[3].revents && pre_copy(err, 2))
			err = (close(err), -1);
		if (sfd >= 0 && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				/* ctrl-z: node stops, then this process, as the shell expects of its job */
				unsigned char b = si.ssi_signo == SIGTSTP ? SIGSTOP : (unsigned char)si.ssi_signo;
				pre_send_all(s, &b, 1);
				if (si.ssi_signo == SIGTSTP)
					raise(SIGSTOP);
			}
		}
		if (p[0].revents) {
			char st[5];
			if (pre_read_all(s, st, 5, -1) < 0) {
				fprintf(stderr, "berth: the prestarted process that ran this command was lost; its outcome is unknown (see 'berth ps -a')\n");
				exit(125);
			}
			/* all node wrote before its status is in the pipes (what its children write later is not waited for) */
			if (out >= 0)
				pre_copy(out, 1);
			if (err >= 0)
				pre_copy(err, 2);
			int32_t v;
			memcpy(&v, st + 1, 4);
			if (st[0] == 'S' && v > 0 && v < 65) {
				signal(v, SIG_DFL);
				sigprocmask(SIG_UNBLOCK, &set, 0);
				raise(v);
				exit(128 + v);
			}
			exit(v & 0xff);
		}
	}
}

/* Reads the listener's answers up to 'A' (with node's pipes) or 'C'; returns 0 and the pipes on 'A'. */
static int pre_answered(int s, int *out, int *err)
{
	for (;;) {
		char a[17];
		int fds[3] = { -1, -1, -1 };
		char cbuf[CMSG_SPACE(sizeof(fds))];
		struct iovec iov = { .iov_base = a, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, 15000) != 1 || recvmsg(s, &msg, MSG_CMSG_CLOEXEC) != 1)
			return -1;
		for (struct cmsghdr *m = CMSG_FIRSTHDR(&msg); m; m = CMSG_NXTHDR(&msg, m))
			if (m->cmsg_level == SOL_SOCKET && m->cmsg_type == SCM_RIGHTS && m->cmsg_len == CMSG_LEN(sizeof(fds)))
				memcpy(fds, CMSG_DATA(m), sizeof(fds));
		/* fds[2], node's life line, stays open until this process ends */
		if (a[0] == 'A' && fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && pre_send_all(s, "G", 1) == 0) {
			*out = fds[0];
			*err = fds[1];
			return 0;
		}
		for (int k = 0; k < 3; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		if (a[0] != 'N' || pre_read_all(s, a + 1, 8, 2000) < 0 || pre_prove(s, a) < 0)
			return -1;
	}
}

int berth_client_main(int argc, char **argv)
{
	char exe[PATH_MAX], entry[PATH_MAX + 32], bundle[PATH_MAX + 32], node[PATH_MAX], dir[PATH_MAX], sock[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "berth: cannot find its own program (/proc/self/exe): %s\n", strerror(errno));
		return 125;
	}
	exe[n] = 0;
	char root[PATH_MAX];
	memcpy(root, exe, (size_t)n + 1);
	pre_dirname(root); /* dist */
	pre_dirname(root); /* the package */
	snprintf(entry, sizeof(entry), "%s/bin/berth-node.cjs", root);
	snprintf(bundle, sizeof(bundle), "%s/dist/bundle/cjs/berth.cjs", root);
	pre_node_env();
	if (pre_find_node(node, sizeof(node)) < 0)
		node[0] = 0;
	const char *off = getenv("BERTH_PRESTART");
	/* a closed stdin, stdout or stderr: node's own start deals with it (and the socket below must
	 * not take its number) */
	int closed = fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0;
	if (closed || !node[0] || (off && !strcmp(off, "0")) || !pre_hot_verb(argc, argv) || pre_socket_dir(dir, sizeof(dir)) < 0)
		pre_run_cold(node, entry, argc, argv);

	char real[PATH_MAX];
	unsigned long long h = 0xcbf29ce484222325ULL;
	if (realpath(node, real))
		pre_hash(&h, real, strlen(real));
	pre_hash_file(&h, node);
	pre_hash_file(&h, bundle);
	pre_hash_file(&h, entry);
	pre_hash_file(&h, exe);
	pre_hash_situation(&h);
	pre_hash_startup_env(&h);
	if ((size_t)snprintf(sock, sizeof(sock), "%s/%016llx.sock", dir, h) >= sizeof(struct sockaddr_un) - 2)
		pre_run_cold(node, entry, argc, argv);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, sock);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (s >= 0 && (errno == ENOENT || errno == ECONNREFUSED) && !pre_recently_broken(sock))
			pre_start_listener(exe, sock, node, entry);
		pre_run_cold(node, entry, argc, argv);
	}
	int out, err;
	if (pre_send_request(s, argc, argv) < 0 || pre_answered(s, &out, &err) < 0) {
		close(s);
		pre_run_cold(node, entry, argc, argv);
	}
	pre_follow(s, out, err); /* from 'G' on, node runs the command: this process can only follow */
}

/* ---- the listener: `berth-shim prestart SOCK NODE ENTRY` ---- */

/* A node process's life here: starting (loading, until its 'R'), ready (waiting for a command),
 * running one (for the caller on `sock`), ending (its status told, or declined, or killed). */
enum { PRE_FREE, PRE_STARTING, PRE_READY, PRE_RUNNING, PRE_ENDING };

struct pre_node {
	int state;
	pid_t pid;
	int pidfd, ctl, out, err; /* ctl: fd 3 of node; out, err: its stdout and stderr until handed over */
	int life; /* the write end of node's fd 4, until handed over: its caller's life (node ends at EOF) */
	int sock; /* PRE_RUNNING: the caller, until it has its status */
	int was_ready;
};

/* Starts a node process that loads the bundle and waits on fd 3. */
static int pre_spawn_node(struct pre_node *w, const char *node, const char *entry)
{
	int ctl[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, life[2] = { -1, -1 };
	pid_t parent = getpid(), pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 &&
	    pipe2(life, O_CLOEXEC) == 0)
		pid = fork();
	if (pid == 0) {
		/* the listener's end is its command's (the caller learns it from its socket) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(1);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		dup2(ctl[1], 3);
		dup2(life[0], 4);
		syscall(SYS_close_range, 5, ~0U, 0);
		setenv("BERTH_PRESTARTED", "3", 1);
		char *args[] = { "node", (char *)entry, 0 };
		execv(node, args);
		_exit(127);
	}
	for (int k = 0; k < 2; k++) { /* ours: ctl[0], out[0], err[0], life[1]; the rest are node's; all go on failure */
		int *f[4] = { ctl, out, err, life };
		for (int m = 0; m < 4; m++)
			if (f[m][k] >= 0 && (pid < 0 || k != (m == 3 ? 1 : 0)))
				close(f[m][k]);
	}
	if (pid < 0)
		return -1;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*w = (struct pre_node){ .state = PRE_STARTING, .pid = pid, .pidfd = (int)syscall(SYS_pidfd_open, pid, 0), .ctl = ctl[0], .out = out[0], .err = err[0], .life = life[1], .sock = -1 };
	if (w->pidfd < 0) { /* cannot be watched: not used */
		kill(pid, SIGKILL);
		waitpid(pid, 0, 0);
		close(w->ctl);
		close(w->out);
		close(w->err);
		close(w->life);
		w->state = PRE_FREE;
		return -1;
	}
	return 0;
}

/* Forgets a node that has been reaped. */
static void pre_close_node(struct pre_node *w)
{
	close(w->pidfd);
	close(w->ctl);
	if (w->out >= 0)
		close(w->out);
	if (w->err >= 0)
		close(w->err);
	if (w->life >= 0)
		close(w->life);
	if (w->sock >= 0)
		close(w->sock);
	*w = (struct pre_node){ .state = PRE_FREE, .sock = -1, .out = -1, .err = -1, .life = -1 };
}

/* Copies what is waiting in pipe `from` to `to` (-1: discard). Returns -1 when `to` is gone, 1
 * at the pipe's end, else 0. */
static int pre_relay(int from, int to)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 1;
		if (n < 0)
			return 0;
		if (to >= 0 && pre_write_all(to, buf, (size_t)n) < 0)
			return -1;
	}
}

/* Whether /proc/<pid>/<name> and /proc/self/<name> read the same (both unreadable counts). */
static int pre_same_file(pid_t pid, const char *name)
{
	char a[8192], b[8192], pa[64], pb[64];
	snprintf(pa, sizeof(pa), "/proc/%d/%s", (int)pid, name);
	snprintf(pb, sizeof(pb), "/proc/self/%s", name);
	ssize_t la = pre_slurp(pa, a, sizeof(a)), lb = pre_slurp(pb, b, sizeof(b));
	return la == lb && (la < 0 || !memcmp(a, b, (size_t)la));
}

static int pre_same_inode(const char *pa, const char *pb)
{
	struct stat a, b;
	if (stat(pa, &a) < 0 || stat(pb, &b) < 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Whether the caller `pid` is in our situation (see the top of this file); its umask in *umask_out. */
static int pre_same_situation(pid_t pid, unsigned *umask_out)
{
	const char *const *ns = pre_ns, *const *keys = pre_status_keys, *const *files = pre_files;
	char pa[96], pb[96];
	for (int i = 0; ns[i]; i++) {
		snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", (int)pid, ns[i]);
		snprintf(pb, sizeof(pb), "/proc/self/ns/%s", ns[i]);
		if (!pre_same_inode(pa, pb) && (access(pb, F_OK) == 0 || access(pa, F_OK) == 0))
			return 0;
	}
	snprintf(pa, sizeof(pa), "/proc/%d/root", (int)pid);
	snprintf(pb, sizeof(pb), "/proc/%d/exe", (int)pid);
	if (!pre_same_inode(pa, "/") || !pre_same_inode(pb, "/proc/self/exe"))
		return 0;
	for (int i = 0; files[i]; i++)
		if (!pre_same_file(pid, files[i]))
			return 0;
	char sa[8192], sb[8192], la[512], lb[512];
	snprintf(pa, sizeof(pa), "/proc/%d/status", (int)pid);
	if (pre_slurp(pa, sa, sizeof(sa)) <= 0 || pre_slurp("/proc/self/status", sb, sizeof(sb)) <= 0)
		return 0;
	for (int i = 0; keys[i]; i++) {
		pre_status_line(sa, keys[i], la, sizeof(la));
		pre_status_line(sb, keys[i], lb, sizeof(lb));
		if (strcmp(la, lb))
			return 0;
	}
	/* under a seccomp filter: what it forbids cannot be compared, so nothing is handed over */
	pre_status_line(sa, "Seccomp:", la, sizeof(la));
	if (strcmp(la, "Seccomp:\t0"))
		return 0;
	pre_status_line(sa, "Umask:", la, sizeof(la));
	if (!la[0])
		return 0;
	*umask_out = (unsigned)strtoul(la + 6, 0, 8);
	snprintf(pa, sizeof(pa), "/proc/%d/stat", (int)pid);
	if (pre_sched(pa, la, sizeof(la)) < 0 || pre_sched("/proc/self/stat", lb, sizeof(lb)) < 0 || strcmp(la, lb))
		return 0;
	/* the I/O priority (ionice) */
	return syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, pid) == syscall(SYS_ioprio_get, 1, 0);
}

/* Its command has ended (kind 'X': exit status v; 'S': killed by signal v): the caller learns it. */
static void pre_finish(struct pre_node *w, char kind, int32_t v)
{
	if (w->sock >= 0) {
		char end[5];
		end[0] = kind;
		memcpy(end + 1, &v, 4);
		pre_send_all(w->sock, end, 5);
		close(w->sock);
	}
	w->sock = -1;
}

/* The caller proves it may ptrace this listener (pre_prove): what /proc cannot show (Landlock,
 * Yama, an LSM's ptrace rules) stops it there as it would stop it acting from here. */
static int pre_challenge(int s, long deadline)
{
	unsigned char nonce[16];
	int ok = -1, mfd = (int)syscall(SYS_memfd_create, "berth-prestart-proof", MFD_CLOEXEC);
	if (mfd < 0 || syscall(SYS_getrandom, nonce, sizeof(nonce), 0) != sizeof(nonce) || pwrite(mfd, nonce, sizeof(nonce), 0) != sizeof(nonce))
		goto out;
	char n[9] = { 'N' }, proof[17];
	int32_t me = getpid(), fd = mfd;
	memcpy(n + 1, &me, 4);
	memcpy(n + 5, &fd, 4);
	if (pre_send_all(s, n, sizeof(n)) == 0 && pre_read_by(s, proof, sizeof(proof), deadline) == 0 && proof[0] == 'P' && !memcmp(proof + 1, nonce, sizeof(nonce)))
		ok = 0;
out:
	if (mfd >= 0)
		close(mfd);
	return ok;
}

/* Takes one caller's request and gives it to node w (starting or ready). Returns 1 if node runs
 * the command (w running, w->sock the caller), 0 if the caller was told to run it itself; w is
 * then untouched, or ending if it had the request (it declined, or the caller left). */
static int pre_take(int s, struct pre_node *w)
{
	char *req = 0;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int pidfd = -1;
	socklen_t pl = sizeof(pidfd);
	char head[8];
	unsigned um = 0;
	uint32_t len;
	long deadline = pre_now_ms() + 1000; /* the whole exchange: a caller that stalls is dropped */

	/* node still starting (the command before this one has just ended): it is further along than a
	 * node the caller would start now */
	char r;
	if (w->state == PRE_STARTING && pre_read_all(w->ctl, &r, 1, 3000) == 0 && r == 'R')
		w->state = PRE_READY, w->was_ready = 1;
	if (w->state != PRE_READY || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != getuid() || cred.gid != getgid())
		goto cold;
	if (getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &pl) < 0 || pidfd < 0)
		goto cold;
	fcntl(s, F_SETFL, O_NONBLOCK);
	if (pre_read_by(s, head, 8, deadline) < 0 || memcmp(head, "BRT2", 4))
		goto cold;
	memcpy(&len, head + 4, 4);
	if (len < 2 || len > PRESTART_MAX_REQUEST)
		goto cold;
	/* the situation is read while the caller is known to be alive (its pidfd), so its pid is its own */
	if (!pre_same_situation(cred.pid, &um) || syscall(SYS_pidfd_send_signal, pidfd, 0, 0, 0) < 0)
		goto cold;
	char cwd[PATH_MAX], link[64], umask_s[16];
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)cred.pid);
	ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0 || cwd[0] != '/')
		goto cold;
	cwd[n] = 0;
	if ((n > 10 && !strcmp(cwd + n - 10, " (deleted)")) || syscall(SYS_pidfd_send_signal, pidfd, 0, 0, 0) < 0)
		goto cold;
	snprintf(umask_s, sizeof(umask_s), "%o", um);
	/* to node: "2", cwd, umask, then the caller's strings after its own "2" */
	size_t hl = 2 + strlen(cwd) + 1 + strlen(umask_s) + 1;
	req = malloc(4 + hl + len);
	if (!req)
		goto cold;
	char *q = req + 4;
	q = stpcpy(q, "2") + 1;
	q = stpcpy(q, cwd) + 1;
	q = stpcpy(q, umask_s) + 1;
	if (pre_read_by(s, q, len, deadline) < 0 || q[len - 1] != 0 || memcmp(q, "2", 2))
		goto cold;
	memmove(q, q + 2, len - 2);
	uint32_t total = (uint32_t)(hl + len - 2);
	memcpy(req, &total, 4);
	if (pre_challenge(s, deadline) < 0)
		goto cold;
	/* from here node has the request: it answers, and exits if it declines */
	w->state = PRE_ENDING;
	char yes;
	if (pre_send_all(w->ctl, req, 4 + total) < 0 || pre_read_all(w->ctl, &yes, 1, 10000) < 0 || yes != 'A')
		goto cold;
	/* its stdout and stderr go to the caller, which copies them to its own: a reader that stalls
	 * stalls that caller only; and the write end of node's fd 4, which only the caller then holds:
	 * node ends the moment the caller does, whatever this listener is busy with */
	int fds[3] = { w->out, w->err, w->life };
	char cbuf[CMSG_SPACE(sizeof(fds))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = { .iov_base = "A", .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *m = CMSG_FIRSTHDR(&msg);
	m->cmsg_level = SOL_SOCKET;
	m->cmsg_type = SCM_RIGHTS;
	m->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(m), fds, sizeof(fds));
	char go;
	/* 'G': the caller follows (it no longer runs the command itself), and only then node starts */
	if (sendmsg(s, &msg, MSG_NOSIGNAL) != 1 || pre_read_by(s, &go, 1, pre_now_ms() + 2000) < 0 || go != 'G' || pre_send_all(w->ctl, "G", 1) < 0) {
		kill(w->pid, SIGKILL); /* it had not started */
		goto cold;
	}
	close(w->out);
	close(w->err);
	close(w->life);
	w->out = w->err = w->life = -1;
	free(req);
	close(pidfd);
	w->state = PRE_RUNNING;
	w->sock = s;
	return 1;
cold:
	(void)!send(s, "C", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(req);
	if (pidfd >= 0)
		close(pidfd);
	close(s);
	return 0;
}

int prestart_main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "berth-shim prestart: internal helper of berth; not meant to be run by hand\n");
		return 2;
	}
	const char *sock = argv[2], *node = argv[3], *entry = argv[4];
	prctl(PR_SET_NAME, "berth-prestart", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s.lock", sock);
	int lfd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
		return 0; /* another listener has this build */
	long idle_ms = PRESTART_IDLE_MS;
	const char *idle = getenv("BERTH_PRESTART_IDLE_MS");
	if (idle && *idle)
		idle_ms = strtol(idle, 0, 10);

	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	unlink(sock);
	mode_t old = umask(077);
	int bound = ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0;
	umask(old);
	struct stat mine;
	if (!bound || listen(ls, 64) < 0 || stat(sock, &mine) < 0)
		return 1;

	/* nodes: the spare (starting or ready), the ones running a command (a `logs -f` or an
	 * attached `run` may run long), the ones ending */
	enum { SLOTS = 8 };
	struct pre_node n[SLOTS];
	for (int k = 0; k < SLOTS; k++)
		n[k] = (struct pre_node){ .state = PRE_FREE, .sock = -1, .out = -1, .err = -1, .life = -1 };
	int broken = 0;
	long last = pre_now_ms();
	for (;;) {
		int spare = -1, running = -1, free_slot = -1;
		for (int k = 0; k < SLOTS; k++) {
			if (n[k].state == PRE_STARTING || n[k].state == PRE_READY)
				spare = k;
			else if (n[k].state == PRE_RUNNING && n[k].sock >= 0)
				running = k;
			else if (n[k].state == PRE_FREE)
				free_slot = k;
		}
		/* the next node starts as soon as one takes a command: back-to-back commands find it
		 * loaded, not loading */
		if (spare < 0 && !broken && free_slot >= 0 && pre_spawn_node(&n[free_slot], node, entry) == 0)
			spare = free_slot;
		long wait = running >= 0 ? -1 : last + idle_ms - pre_now_ms();
		if (running < 0 && (wait <= 0 || broken))
			break;
		/* per node: pidfd, ctl, out, err, caller; then the listening socket */
		struct pollfd p[SLOTS * 5 + 1];
		for (int k = 0; k < SLOTS; k++) {
			struct pre_node *w = &n[k];
			int live = w->state != PRE_FREE;
			p[k * 5] = (struct pollfd){ .fd = live ? w->pidfd : -1, .events = POLLIN };
			/* ctl: 'R' from a starting node; 'X' + status from one that ran a command (its answer
			 * and 'G' are read in pre_take) */
			p[k * 5 + 1] = (struct pollfd){ .fd = w->state == PRE_STARTING || w->state == PRE_RUNNING ? w->ctl : -1, .events = POLLIN };
			p[k * 5 + 2] = (struct pollfd){ .fd = live ? w->out : -1, .events = POLLIN };
			p[k * 5 + 3] = (struct pollfd){ .fd = live ? w->err : -1, .events = POLLIN };
			p[k * 5 + 4] = (struct pollfd){ .fd = w->state == PRE_RUNNING ? w->sock : -1, .events = POLLIN };
		}
		p[SLOTS * 5] = (struct pollfd){ .fd = ls, .events = POLLIN };
		int r = poll(p, SLOTS * 5 + 1, (int)(wait > INT32_MAX ? INT32_MAX : wait));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		for (int k = 0; k < SLOTS; k++) {
			struct pre_node *w = &n[k];
			if (w->state == PRE_FREE)
				continue;
			/* what a waiting node writes (a warning) goes nowhere; a command's output goes to its caller */
			if (p[k * 5 + 2].revents && pre_relay(w->out, -1) != 0)
				w->out = (close(w->out), -1);
			if (p[k * 5 + 3].revents && pre_relay(w->err, -1) != 0)
				w->err = (close(w->err), -1);
			if (p[k * 5 + 1].revents) {
				char b[5];
				int32_t v;
				if (w->state == PRE_STARTING) {
					if (read(w->ctl, b, 1) == 1 && b[0] == 'R')
						w->state = PRE_READY, w->was_ready = 1;
					else
						w->state = PRE_ENDING; /* gone: its pidfd tells */
				} else { /* the command's status, told before node's own exit (~10 ms) */
					if (pre_read_all(w->ctl, b, 5, 1000) == 0 && b[0] == 'X') {
						memcpy(&v, b + 1, 4);
						pre_finish(w, 'X', v);
					}
					w->state = PRE_ENDING;
				}
			}
			if (p[k * 5 + 4].revents && w->sock >= 0) {
				unsigned char sig;
				ssize_t got = read(w->sock, &sig, 1);
				/* only these: whatever else a caller sends is not a signal of its own to forward
				 * (SIGUSR1 would open node's inspector) */
				if (got == 1 && (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT || sig == SIGSTOP || sig == SIGCONT))
					kill(w->pid, sig);
				else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
					kill(w->pid, SIGKILL); /* the caller was killed: so is its command, as with a cold one */
					w->sock = (close(w->sock), -1);
					w->state = PRE_ENDING;
				}
			}
			if (p[k * 5].revents) {
				int st = 0;
				waitpid(w->pid, &st, 0);
				pre_finish(w, WIFSIGNALED(st) ? 'S' : 'X', WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
				/* a node that died before it was ready (a broken install) would only die again:
				 * said for a minute to the callers that would start another listener
				 * (pre_recently_broken) */
				if (!w->was_ready) {
					broken = 1;
					char path[PATH_MAX + 16];
					snprintf(path, sizeof(path), "%s.broken", sock);
					int bfd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
					if (bfd >= 0)
						close(bfd);
				}
				pre_close_node(w);
				last = pre_now_ms();
			}
		}
		if (p[SLOTS * 5].revents) {
			int s = accept4(ls, 0, 0, SOCK_CLOEXEC);
			if (s >= 0 && (spare < 0 || n[spare].state == PRE_FREE)) {
				/* no node to give it (all slots running or ending): it starts its own */
				(void)!send(s, "C", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				close(s);
			} else if (s >= 0) {
				pre_take(s, &n[spare]);
			}
			last = pre_now_ms();
		}
	}
	for (int k = 0; k < SLOTS; k++)
		if (n[k].state != PRE_FREE && n[k].state != PRE_RUNNING)
			kill(n[k].pid, SIGKILL); /* a running one ends with its command: its caller waits */
	struct stat now;
	if (stat(sock, &now) == 0 && now.st_ino == mine.st_ino && now.st_dev == mine.st_dev)
		unlink(sock);
	/* the lock file too (a listener starting now may take the unlinked one: two listeners then,
	 * the later one's socket the reachable one, the other idles out) */
	unlink(lock);
	return 0;
}
