/*
 * `berth-shim monitor`: the supervisor of one container (berth's conmon), started detached by the
 * engine (src/engine/monitor.ts). It outlives the CLI that started it and decides nothing: the
 * engine compiled the launch plan, chose the log files, sizes and restart policy, and reads back
 * what the monitor records. Per container it
 *
 *   - is the child subreaper that launches the container: it runs berth-shim (MODE detach) with
 *     the plan file on the shim's sync socket, so the container's init is reparented to it;
 *   - reaps the init, and writes its status (and whether the cgroup saw an OOM kill) to the file
 *     "exit", atomically (temp + rename);
 *   - copies the container's stdout/stderr (pipes, or the pty master of a tty container) into a
 *     log in docker's json-file format ({"log":"...","stream":"stdout","time":"..."} per line)
 *     or the Kubernetes CRI format, rotated at max-size keeping max-file files;
 *   - serves attach on the unix socket "attach.sock": frames of docker's stream format
 *     (8-byte header: stream, 0, 0, 0, big-endian length) carry stdout (1) and stderr (2) to
 *     clients, and the exit status (5) when the container stops; clients send stdin (0), a
 *     terminal size (3: rows, cols as big-endian u16) and the end of stdin (4, or a half-close);
 *     a client keeps getting output until the exit frame, then the monitor ends its side and
 *     waits (up to 2 s) for the client to hang up (clients_linger);
 *   - applies the restart policy it was given (no, always, on-failure[:N], unless-stopped) with
 *     docker's backoff (100 ms doubling to 1 min, reset after 10 s of running), re-running the
 *     same plan; a file "stopped" (written by the engine before it stops or kills the container)
 *     or "restart" (a new policy from `berth update`) is read when the container exits;
 *   - when the container is finally down and no client that started it in the foreground is
 *     attached, runs the engine's exit command (the engine's cleanup).
 *   - with -H, runs the health check's command (the file "healthcmd": `berth healthcheck run ID`)
 *     on the interval while the container runs, one probe at a time (src/engine/health.ts),
 *     none while its cgroup (the -F files) says it is paused.
 *
 * Files live in the container's state directory (-d), the monitor's working directory:
 *   plan (input), pid ("<init pid> <restarts> <monitor pid>"), exit, attach.sock, console.sock,
 *   alive (a fifo held open while the monitor lives: alive_open).
 *
 * `berth-monitor init PROGRAM ARGS...` is the tiny init for `--init` (bind-mounted into the
 * container as /sbin/berth-init): it runs PROGRAM, forwards signals to it, reaps zombies and
 * exits with PROGRAM's status.
 *
 * Static and small on purpose: an idle container's monitor costs a few pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_CLIENTS 16
#define LINE_MAX_BYTES 16384 /* docker splits longer lines into partial records */
#define STATUS_SETUP_FAILED 127

/* ---------------------------------------------------------------- options */

static const char *shim_path, *log_path, *oom_file;
static int log_format; /* 0 json-file, 1 cri, 2 none */
static long long max_size;
static int max_files = 1;
static char policy[32] = "no";
static int max_retries;
static int open_stdin, stdin_once, tty;
static char **exit_cmd;
static int status_fd = -1;
/* health check (-H interval, -P start period, -I start interval, ms): the engine's
 * `berth healthcheck run ID` from the file "healthcmd" (NUL-separated argv), run on the interval
 * while the container runs; one probe at a time. */
static long long health_interval_ms, health_period_ms, health_start_ms;

/* ---------------------------------------------------------------- state */

struct stream {
	int fd;
	const char *name;
	int id; /* 1 stdout, 2 stderr */
	size_t len;
	char line[LINE_MAX_BYTES];
};

struct client {
	int fd;
	int initial;
	int eof; /* the client ended its side (shutdown): it still gets output and the exit frame */
	unsigned char hdr[8];
	int hdrlen;
	uint32_t left; /* payload bytes left in the current frame */
	unsigned char small[8];
	int smalllen;
};

static struct stream out_s = {.fd = -1, .name = "stdout", .id = 1};
static struct stream err_s = {.fd = -1, .name = "stderr", .id = 2};
static int master = -1;   /* pty master (tty) */
static int stdin_w = -1;  /* container's stdin (pipe write end, or the master) */
static int listen_fd = -1;
static struct client clients[MAX_CLIENTS];
static int log_fd = -1;
static long long log_size;
static pid_t init_pid;
static int restarts;
static long long oom_before;
/* a sealed copy of the shim made while on standby (see standby_job); the first launch execs it */
static int sealed_fd = -1;
static struct stat sealed_from;
/* a fresh network namespace made while on standby (prepare_netns), for the first launch only */
static int prepared_net = -1;
/* `--standby ... -n`: its container will not use one (prepare_netns skipped) */
static int standby_no_netns;

static void msg(const char *fmt, const char *a)
{
	char b[512];
	int n = snprintf(b, sizeof(b), fmt, a);
	if (n > 0 && write(2, b, (size_t)n) < 0) { }
}

static long long now_ns(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* RFC 3339 with nanoseconds, UTC; returns the length (30). Every log line takes one: the
 * "YYYY-MM-DDTHH:MM:SS." part is formatted once per second, the nanoseconds by hand (snprintf
 * and gmtime_r per line were a large part of the monitor's CPU on a chatty container). */
static int rfc3339(char *buf, size_t len)
{
	static time_t sec = -1;
	static char head[32];
	static int hlen;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		hlen = snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
				tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		sec = ts.tv_sec;
	}
	if (len < (size_t)hlen + 11)
		return 0;
	memcpy(buf, head, (size_t)hlen);
	long ns = ts.tv_nsec;
	for (int i = 8; i >= 0; i--, ns /= 10)
		buf[hlen + i] = (char)('0' + ns % 10);
	buf[hlen + 9] = 'Z';
	buf[hlen + 10] = 0;
	return hlen + 10;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write a small file atomically: temp file, then rename over the name. */
static void write_atomic(const char *name, const char *data, size_t len)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	int ok = write_all(fd, data, len) == 0;
	close(fd);
	if (ok)
		rename(tmp, name);
	else
		unlink(tmp);
}

static void report(const char *fmt, const char *arg)
{
	if (status_fd < 0)
		return;
	char b[4096];
	int n = snprintf(b, sizeof(b) - 1, fmt, arg);
	if (n < 0)
		return;
	if (n > (int)sizeof(b) - 2)
		n = sizeof(b) - 2;
	for (int i = 0; i < n; i++)
		if (b[i] == '\n')
			b[i] = ' ';
	b[n++] = '\n';
	if (write_all(status_fd, b, (size_t)n) < 0) { /* the engine went away */ }
}

static void close_status(void)
{
	if (status_fd >= 0)
		close(status_fd);
	status_fd = -1;
}

static void reset_child(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---------------------------------------------------------------- log */

static void log_open(void)
{
	if (!log_path || log_format == 2)
		return;
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
}

static void log_rotate(void)
{
	char from[4096], to[4096];
	close(log_fd);
	log_fd = -1;
	if (max_files > 1) {
		snprintf(to, sizeof(to), "%s.%d", log_path, max_files - 1);
		unlink(to);
		for (int i = max_files - 2; i >= 1; i--) {
			snprintf(from, sizeof(from), "%s.%d", log_path, i);
			snprintf(to, sizeof(to), "%s.%d", log_path, i + 1);
			rename(from, to);
		}
		snprintf(to, sizeof(to), "%s.1", log_path);
		rename(log_path, to);
	}
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	log_size = 0;
}

/* the log's output buffer: the records of one read of the container's output go to the file in
 * one write (a write per line made the monitor ~2x slower than conmon on a chatty container);
 * a record that fits is never split across writes, so a reader never sees half of one */
static char obuf[16384];
static size_t olen;
/* one read buffer for everything (static: no large stack frames stay resident) */
static char iobuf[65536]; /* a pipe holds 64 KiB: one read takes what a chatty container wrote; untouched pages cost nothing */

static void oflush(void)
{
	if (olen && log_fd >= 0 && write_all(log_fd, obuf, olen) == 0)
		log_size += (long long)olen;
	olen = 0;
}

static void oput(const char *s, size_t n)
{
	while (n) {
		if (olen == sizeof(obuf))
			oflush();
		size_t k = sizeof(obuf) - olen < n ? sizeof(obuf) - olen : n;
		memcpy(obuf + olen, s, k);
		olen += k;
		s += k;
		n -= k;
	}
}

static void oputs(const char *s)
{
	oput(s, strlen(s));
}

/* One log record: a line (with its "\n") or a partial line (a long one, or the last one). */
static void log_record(struct stream *s, const char *data, size_t len, int partial)
{
	if (log_fd < 0)
		return;
	char ts[96];
	rfc3339(ts, sizeof(ts));
	/* worst case: every byte escaped as \u00XX, plus the fields around it */
	if (olen && olen + len * 6 + 128 > sizeof(obuf))
		oflush();
	if (log_format == 1) {
		/* CRI: "<time> <stream> <F|P> <content>\n" */
		oputs(ts);
		oputs(" ");
		oputs(s->name);
		oputs(partial ? " P " : " F ");
		oput(data, len && data[len - 1] == '\n' ? len - 1 : len);
		oputs("\n");
	} else {
		static const char hex[] = "0123456789abcdef";
		oputs("{\"log\":\"");
		for (size_t i = 0; i < len; i++) {
			/* a run of bytes that need no escape goes in one copy */
			size_t j = i;
			while (j < len && (unsigned char)data[j] >= 0x20 && data[j] != '"' && data[j] != '\\' && data[j] != 0x7f)
				j++;
			if (j > i) {
				oput(data + i, j - i);
				i = j;
				if (i == len)
					break;
			}
			unsigned char c = (unsigned char)data[i];
			char e[7] = {'\\', 0};
			if (c == '"' || c == '\\') {
				e[1] = (char)c;
				oput(e, 2);
			} else if (c == '\n') {
				oput("\\n", 2);
			} else if (c == '\r') {
				oput("\\r", 2);
			} else if (c == '\t') {
				oput("\\t", 2);
			} else if (c < 0x20 || c == 0x7f) {
				e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
				oput(e, 6);
			} else {
				oput((const char *)&c, 1);
			}
		}
		oputs("\",\"stream\":\"");
		oputs(s->name);
		oputs("\",\"time\":\"");
		oputs(ts);
		oputs("\"}\n");
	}
	if (max_size > 0 && log_size + (long long)olen >= max_size) {
		oflush();
		log_rotate();
	}
}

static void log_data(struct stream *s, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;
		if (s->len + take > sizeof(s->line))
			take = sizeof(s->line) - s->len;
		memcpy(s->line + s->len, data, take);
		s->len += take;
		data += take;
		len -= take;
		if (s->line[s->len - 1] == '\n') {
			log_record(s, s->line, s->len, 0);
			s->len = 0;
		} else if (s->len == sizeof(s->line)) {
			log_record(s, s->line, s->len, 1);
			s->len = 0;
		}
	}
}

static void log_flush(struct stream *s)
{
	if (s->len)
		log_record(s, s->line, s->len, 1);
	s->len = 0;
	oflush();
}

/* ---------------------------------------------------------------- attach */

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void client_add(int fd, int initial)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd < 0) {
			memset(&clients[i], 0, sizeof(clients[i]));
			clients[i].fd = fd;
			clients[i].initial = initial;
			/* a client that stops reading is dropped after 5 s instead of stalling the container */
			struct timeval tv = {.tv_sec = 5};
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			int fl = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
			return;
		}
	close(fd);
}

static void broadcast(int type, const char *data, size_t len)
{
	unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];
		if (c->fd < 0)
			continue;
		if (send(c->fd, h, 8, MSG_NOSIGNAL) != 8 || (len && send(c->fd, data, len, MSG_NOSIGNAL) != (ssize_t)len))
			client_close(c);
	}
}

static void close_stdin(void)
{
	if (stdin_w >= 0 && stdin_w != master)
		close(stdin_w);
	stdin_w = -1;
}

/* Reads what a client sent: frames of stdin data, terminal sizes and end-of-stdin. */
static void client_read(struct client *c)
{
	unsigned char *buf = (unsigned char *)iobuf;
	ssize_t n = read(c->fd, buf, sizeof(iobuf));
	if (n < 0 && errno == EINTR)
		return;
	if (n < 0) {
		client_close(c);
		return;
	}
	if (n == 0) {
		/* a half-close is the end of its stdin (docker: CloseWrite), not of the attach: keep
		 * sending it output and the exit frame; it is closed when it hangs up for good */
		c->eof = 1;
		if (stdin_once && !tty)
			close_stdin();
		return;
	}
	for (ssize_t i = 0; i < n;) {
		if (c->hdrlen < 8) {
			c->hdr[c->hdrlen++] = buf[i++];
			if (c->hdrlen == 8) {
				c->left = (uint32_t)c->hdr[4] << 24 | (uint32_t)c->hdr[5] << 16 | (uint32_t)c->hdr[6] << 8 | c->hdr[7];
				c->smalllen = 0;
				if (c->hdr[0] == 4) { /* end of stdin */
					if (stdin_once && !tty)
						close_stdin();
				}
			}
			if (c->hdrlen < 8 || c->left)
				continue;
		} else {
			size_t take = (size_t)(n - i) < c->left ? (size_t)(n - i) : c->left;
			if (c->hdr[0] == 0 && stdin_w >= 0) {
				if (write_all(stdin_w, buf + i, take) < 0)
					close_stdin();
			} else if (c->hdr[0] == 3) {
				for (size_t k = 0; k < take && c->smalllen < (int)sizeof(c->small); k++)
					c->small[c->smalllen++] = buf[i + k];
			}
			i += (ssize_t)take;
			c->left -= (uint32_t)take;
		}
		if (c->left == 0) {
			if (c->hdr[0] == 3 && c->smalllen >= 4 && master >= 0) {
				struct winsize ws = {.ws_row = (unsigned short)(c->small[0] << 8 | c->small[1]), .ws_col = (unsigned short)(c->small[2] << 8 | c->small[3])};
				ioctl(master, TIOCSWINSZ, &ws);
			}
			c->hdrlen = 0;
		}
	}
}

/*
 * The monitor is leaving: close the clients gracefully. A client may still be writing (stdin,
 * end of stdin, a terminal size sent as it starts) when the container goes down; closing a
 * socket with the client's write in flight fails that write (EPIPE), and a client such as
 * node's net.Socket then discards the output and exit frame it has received but not read yet.
 * So end our side only (the client reads EOF after the exit frame), discard what it still
 * sends, and close once it has hung up -- or after 2 s, for a client that never does.
 */
static void clients_linger(void)
{
	long long end = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (clients[k].fd >= 0 && shutdown(clients[k].fd, SHUT_WR) < 0)
			client_close(&clients[k]);
	for (;;) {
		struct pollfd pf[MAX_CLIENTS];
		int open = 0;
		for (int k = 0; k < MAX_CLIENTS; k++) {
			pf[k] = (struct pollfd){.fd = clients[k].fd, .events = clients[k].eof ? 0 : POLLIN};
			open += clients[k].fd >= 0;
		}
		long long left = (end - now_ns(CLOCK_MONOTONIC)) / 1000000;
		if (!open || left <= 0)
			break;
		int r = poll(pf, MAX_CLIENTS, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		for (int k = 0; k < MAX_CLIENTS; k++) {
			if (clients[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = clients[k].eof ? 0 : read(clients[k].fd, iobuf, sizeof(iobuf));
			if (n == 0 || (n < 0 && errno != EINTR))
				client_close(&clients[k]);
		}
	}
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (clients[k].fd >= 0)
			client_close(&clients[k]);
}

static int listen_attach(const char *name)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	unlink(name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	chmod(name, 0600);
	return fd;
}

/* ---------------------------------------------------------------- launch */

/* recv_fd(): shared with the launcher, in berth-shim.c (this file is part of that program). */

static long long read_oom_count(void)
{
	if (!oom_file)
		return 0;
	char b[1024];
	int fd = open(oom_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	char *p = strstr(b, "oom_kill ");
	return p ? atoll(p + 9) : 0;
}

/* Runs the shim on the plan file. Returns the init's pid, or 0 with the shim's error in err. */
static pid_t launch(char *err, size_t errlen)
{
	int sp[2], outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, con = -1;
	err[0] = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return 0;
	}
	if (tty) {
		con = listen_attach("console.sock");
		if (con < 0) {
			snprintf(err, errlen, "console socket: %s", strerror(errno));
			goto fail_early;
		}
	} else if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail_early;
	}
	if (open_stdin && !tty && pipe2(inp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail_early;
	}
	int plan = open("plan", O_RDONLY | O_CLOEXEC);
	if (plan < 0) {
		snprintf(err, errlen, "open plan: %s", strerror(errno));
		goto fail_early;
	}
	oom_before = read_oom_count();
	pid_t shim = fork();
	if (shim < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(plan);
		goto fail_early;
	}
	if (shim == 0) {
		reset_child();
		int devnull = open("/dev/null", O_RDWR);
		int fds[4] = {inp[0] >= 0 ? inp[0] : devnull, outp[1] >= 0 ? outp[1] : devnull, errp[1] >= 0 ? errp[1] : devnull, sp[1]};
		/* move them above 3 first so dup2 cannot clobber one with another */
		for (int i = 0; i < 4; i++)
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
		int net = prepared_net >= 0 ? fcntl(prepared_net, F_DUPFD_CLOEXEC, 10) : -1;
		for (int i = 0; i < 4; i++)
			if (fds[i] < 0 || dup2(fds[i], i) < 0)
				_exit(STATUS_SETUP_FAILED);
		/* the standby's network namespace, as fd 4 named by a second argument (see prepare_netns) */
		int with_net = net >= 0 && dup2(net, 4) == 4;
		/* straight into the sealed copy the shim would otherwise make of itself first
		 * (run_from_sealed_copy): one exec of a static binary fewer per start */
		char *args[] = {"berth-shim", "3", with_net ? "4" : NULL, NULL};
		const char *what = "re-execute the shim from its sealed copy";
		if (sealed_fd >= 0)
			fexecve(sealed_fd, args, environ);
		int self = open(shim_path, O_RDONLY | O_CLOEXEC);
		if (self >= 0)
			exec_sealed_copy(self, args, &what);
		else
			what = "open";
		dprintf(3, "ERR cannot run %s: %s: %s\n", shim_path, what, strerror(errno));
		_exit(STATUS_SETUP_FAILED);
	}
	close(sp[1]);
	if (sealed_fd >= 0) /* restarts copy again: not 1 MB kept per idle monitor */
		close(sealed_fd);
	sealed_fd = -1;
	if (prepared_net >= 0) /* one container's only: restarts unshare their own */
		close(prepared_net);
	prepared_net = -1;
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (inp[0] >= 0)
		close(inp[0]);
	/* the plan: copied from the file to the shim's sync socket */
	ssize_t n;
	while ((n = read(plan, iobuf, sizeof(iobuf))) > 0)
		if (write_all(sp[0], iobuf, (size_t)n) < 0)
			break;
	close(plan);

	pid_t pid = 0;
	int ready = 0;
	char line[1024];
	size_t ll = 0;
	long long deadline = now_ns(CLOCK_MONOTONIC) + 60LL * 1000000000LL;
	while (!ready || (tty && master < 0)) {
		struct pollfd pf[2] = {{.fd = ready ? -1 : sp[0], .events = POLLIN}, {.fd = tty && master < 0 ? con : -1, .events = POLLIN}};
		long long left = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000;
		if (left <= 0) {
			snprintf(err, errlen, "container setup timed out");
			break;
		}
		int r = poll(pf, 2, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN) {
			int s = accept4(con, NULL, NULL, SOCK_CLOEXEC);
			if (s >= 0) {
				master = recv_fd(s);
				close(s);
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			n = read(sp[0], line + ll, sizeof(line) - 1 - ll);
			if (n <= 0) {
				if (!err[0])
					snprintf(err, errlen, "container init exited during setup");
				break;
			}
			ll += (size_t)n;
			char *nl;
			while ((nl = memchr(line, '\n', ll))) {
				*nl = 0;
				if (!strncmp(line, "PID ", 4))
					pid = atoi(line + 4);
				else if (!strcmp(line, "READY"))
					ready = 1;
				else if (!strncmp(line, "ERR ", 4))
					snprintf(err, errlen, "%s", line + 4);
				size_t used = (size_t)(nl - line) + 1;
				memmove(line, nl + 1, ll - used);
				ll -= used;
			}
			if (ll == sizeof(line) - 1)
				ll = 0;
			if (err[0])
				break;
		}
	}
	close(sp[0]);
	if (con >= 0) {
		close(con);
		unlink("console.sock");
	}
	if (!ready || err[0] || (tty && master < 0)) {
		if (!err[0])
			snprintf(err, errlen, "no terminal from the container");
		if (pid > 0)
			kill(pid, SIGKILL);
		if (outp[0] >= 0)
			close(outp[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		if (inp[1] >= 0)
			close(inp[1]);
		if (master >= 0)
			close(master);
		master = -1;
		return 0;
	}
	out_s.fd = tty ? master : outp[0];
	err_s.fd = errp[0];
	stdin_w = tty ? (open_stdin ? master : -1) : inp[1];
	return pid;

fail_early:
	close(sp[0]);
	close(sp[1]);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
	}
	if (con >= 0)
		close(con);
	return 0;
}

/* ---------------------------------------------------------------- exit and restart */

static void write_pid_file(void)
{
	char b[96];
	int n = snprintf(b, sizeof(b), "%d %d %d\n", init_pid, restarts, getpid());
	write_atomic("pid", b, (size_t)n);
}

static void write_exit_file(int status, int sig, int oom, const char *error)
{
	char b[4600], ts[96];
	rfc3339(ts, sizeof(ts));
	int n = snprintf(b, sizeof(b), "status %d\nsignal %d\noom %d\nfinished %s\nrestarts %d\nerror %s\n", status, sig, oom, ts, restarts, error);
	if (n > (int)sizeof(b) - 1)
		n = sizeof(b) - 1;
	write_atomic("exit", b, (size_t)n);
}

/* The restart policy in force: the file "restart" (berth update) overrides argv. */
static void current_policy(char *name, size_t len, int *max)
{
	snprintf(name, len, "%s", policy);
	*max = max_retries;
	char b[64];
	int fd = open("restart", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return;
	b[n] = 0;
	char p[32];
	int m = 0;
	if (sscanf(b, "%31s %d", p, &m) >= 1) {
		snprintf(name, len, "%s", p);
		*max = m;
	}
}

/* src/engine/restart-intent.ts mirrors this (reconcile must know a winding-down monitor): keep in step */
static int should_restart(int status)
{
	if (access("stopped", F_OK) == 0)
		return 0;
	char p[32];
	int max;
	current_policy(p, sizeof(p), &max);
	if (!strcmp(p, "always") || !strcmp(p, "unless-stopped"))
		return 1;
	if (!strcmp(p, "on-failure"))
		return status != 0 && (max <= 0 || restarts < max);
	return 0;
}

static pid_t exit_cmd_pid;

static void run_exit_command(void)
{
	if (!exit_cmd || access("stopped", F_OK) == 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0 && clients[i].initial)
			return; /* the CLI that runs the container in the foreground cleans up */
	pid_t p = fork();
	if (p > 0)
		exit_cmd_pid = p;
	if (p == 0) {
		reset_child();
		setsid();
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		syscall(SYS_close_range, 3, ~0U, 0);
		execv(exit_cmd[0], exit_cmd);
		_exit(127);
	}
}

/* ---------------------------------------------------------------- init mode (--init) */

static int tiny_init(char **argv)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pid_t child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		setpgid(0, 0);
		/* the program gets the terminal's foreground (if any), as a shell's job would; still
		 * with SIGTTOU blocked, or the call would stop us */
		if (isatty(0))
			tcsetpgrp(0, getpid());
		reset_child();
		execvp(argv[0], argv);
		int e = errno;
		msg("berth-init: exec %s: ", argv[0]);
		msg("%s\n", strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	setpgid(child, child);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int st;
			pid_t p;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				if (p == child)
					return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		} else if (sig != SIGTTIN && sig != SIGTTOU) {
			kill(child, sig);
		}
	}
}

/* ---------------------------------------------------------------- what outlives the monitor */

/* Field 22 of /proc/PID/stat (start time): with the pid, it tells this process from a later one
 * given the same number. 0 on success. */
static int proc_start(pid_t pid, char *out, size_t n)
{
	char path[32], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = 0;
	char *q = strrchr(buf, ')');
	for (int f = 2; q && f < 22; f++) /* ") S ppid ...": field f+1 starts after the next space */
		if ((q = strchr(q, ' ')))
			q++;
	if (!q)
		return -1;
	size_t l = strcspn(q, " ");
	if (!l || l >= n)
		return -1;
	memcpy(out, q, l);
	out[l] = 0;
	return 0;
}

/* The processes of this container still running when the monitor exits (its exit command, a
 * health probe; not the linger child, which holds only attach clients), as "pid starttime"
 * lines in <state dir>.procs, next to the state directory (the cleanup removes that directory
 * while they may still run): `rm` and `wait` return once they are gone
 * (src/engine/remove-wait.ts). Written whole (temp + rename) or not at all. */
static int state_parent = -1;

static void record_leftovers(const char *dir, const pid_t *pids, int n)
{
	char text[256];
	size_t len = 0;
	for (int k = 0; k < n; k++) {
		char st[32];
		if (pids[k] > 0 && proc_start(pids[k], st, sizeof(st)) == 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%d %s\n", (int)pids[k], st);
	}
	if (!len || len >= sizeof(text))
		return;
	/* the state directory's own name, taken from dir in place: a copy of the whole path into a
	 * fixed buffer cut a long --state-root and named the record after a fragment of it */
	size_t end = strlen(dir), start;
	while (end > 1 && dir[end - 1] == '/')
		end--;
	for (start = end; start > 0 && dir[start - 1] != '/'; start--)
		;
	char path[NAME_MAX + 1], tmp[NAME_MAX + 1];
	if (snprintf(path, sizeof(path), "%.*s.procs", (int)(end - start), dir + start) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		msg("berth-monitor: cannot record the processes left running: state directory name too long: %s\n", dir + start);
		return;
	}
	/* the state directory's parent, opened at the start: the state directory may be gone by now */
	int fd = openat(state_parent, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	if (!ok || renameat(state_parent, tmp, state_parent, path) < 0)
		unlinkat(state_parent, tmp, 0);
}

/* "alive": a fifo the monitor holds open (read-write: never at EOF by itself) while it lives.
 * A `logs -f` follower opens it to read and sees its hang-up the moment the monitor is gone,
 * killed with -9 too (src/engine/logs-wake.ts). Best effort: a follower without it polls. */
static int alive_fd = -1;

static void alive_open(void)
{
	if (mkfifo("alive", 0600) == 0 || errno == EEXIST)
		alive_fd = open("alive", O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

/* ---------------------------------------------------------------- main */

/* ---------------------------------------------------------------- health */

static char *health_buf, *health_argv[64];
static pid_t health_pid;

static void health_load(void)
{
	int fd = open("healthcmd", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	health_buf = calloc(1, 65536);
	ssize_t n = health_buf ? read(fd, health_buf, 65535) : -1;
	close(fd);
	if (n <= 0)
		return;
	int k = 0;
	for (char *p = health_buf; p < health_buf + n && k < 63; p += strlen(p) + 1)
		health_argv[k++] = p;
	health_argv[k] = NULL;
}

/* When the next probe is due: every start interval during the start period, then every interval. */
static long long health_next(long long started)
{
	long long now = now_ns(CLOCK_MONOTONIC);
	long long ms = health_interval_ms;
	if (health_period_ms > 0 && health_start_ms > 0 && now - started < health_period_ms * 1000000LL)
		ms = health_start_ms;
	return now + ms * 1000000LL;
}

/* The cgroup files saying whether the container is paused (-F, at most twice: v1 freezer.state
 * "FROZEN"/"FREEZING", v2 cgroup.freeze "1"). While it is, no probe starts: it could only find
 * the container paused (read at each due time, so a crash between freeze and record cannot
 * leave probes off). */
static const char *freeze_files[2];

static int health_paused(void)
{
	for (int k = 0; k < 2 && freeze_files[k]; k++) {
		char c = 0;
		int fd = open(freeze_files[k], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, &c, 1) != 1)
				c = 0;
			close(fd);
		}
		if (c == 'F' || c == '1')
			return 1;
	}
	return 0;
}

static void health_spawn(void)
{
	if (!health_argv[0] || health_pid > 0 || health_paused())
		return;
	pid_t p = fork();
	if (p == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execv(health_argv[0], health_argv);
		_exit(127);
	}
	if (p > 0)
		health_pid = p;
}

/* While on standby, make the network namespace the container will most likely ask for (a
 * --network none start: the plan says UNSHARE network), so that the kernel's work (loopback,
 * sysctls, proc entries: the largest single part of the shim's CPU) leaves the start's path.
 * A short-lived child is cloned straight into a new netns and kept until we hold an fd of it:
 * the monitor itself never enters it (its exit command and probes need the host's network).
 * The namespace is pristine (loopback down, nothing joined it) and goes to one shim only; the
 * shim uses it only where it would have unshared one as host root (berth-shim.c: run_child1),
 * otherwise it is dropped, as it is when the standby exits. Root only: a monitor in a user
 * namespace would make one owned by the wrong user namespace, and that shim would not use it. */
static void prepare_netns(void)
{
	int hold[2];
	if (geteuid() != 0 || pipe2(hold, O_CLOEXEC) < 0)
		return;
	/* raw clone (fork semantics, child in a new netns): the child only blocks, then exits */
	long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR) { }
		_exit(0);
	}
	close(hold[0]);
	if (pid > 0) {
		char path[48];
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		prepared_net = open(path, O_RDONLY | O_CLOEXEC);
	}
	close(hold[1]); /* the child's read returns: it exits */
	if (pid > 0)
		while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) { }
}

/* `monitor --standby`: started ahead of need by a warm library (src/engine/monitor.ts), it makes
 * its sealed copy of the shim, then waits on fd 3 for the arguments of the container it is to
 * monitor ("<length>\n" and that many bytes of NUL-terminated arguments; the plan is already in
 * the state directory). EOF (the library went away): exit. Returns the new argv, or NULL. */
static void standby_seal(void)
{
	const char *what;
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self >= 0 && fstat(self, &sealed_from) == 0)
		sealed_fd = sealed_copy(self, &what);
	if (self >= 0)
		close(self);
}

static char **standby_job(int *argc)
{
	if (sealed_fd < 0) /* a pool's members share the copy made before they were forked */
		standby_seal();
	if (!standby_no_netns)
		prepare_netns();
	char hdr[24];
	size_t h = 0;
	while (h < sizeof(hdr) - 1) {
		ssize_t n = read(3, &hdr[h], 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		if (hdr[h] == '\n')
			break;
		h++;
	}
	hdr[h] = 0;
	long len = atol(hdr);
	if (len <= 0 || len > (1L << 20))
		return NULL;
	char *buf = malloc((size_t)len + 1);
	if (!buf)
		return NULL;
	for (long off = 0; off < len;) {
		ssize_t n = read(3, buf + off, (size_t)(len - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		off += n;
	}
	buf[len] = 0;
	int n = 1;
	for (long i = 0; i < len; i++)
		n += buf[i] == 0;
	char **argv = calloc((size_t)n + 1, sizeof(char *));
	if (!argv)
		return NULL;
	argv[0] = "monitor";
	int k = 1;
	for (long i = 0; i < len; i += (long)strlen(buf + i) + 1)
		argv[k++] = buf + i;
	argv[k] = NULL;
	*argc = k;
	return argv;
}

static char *args_start, *args_end;

/* `monitor --standby SPACES K`: K standbys from one start (a warm library: node's fork of its
 * whole process, not this, is the costly part of starting one, and it slows the start it
 * overlaps). The pool's fds come in pairs, 3+2j (status) and 4+2j (attach); member j keeps its
 * pair as 3 and 4 and closes the others'. This process is member 0 (the engine takes it first,
 * so the others are reparented once it leaves, never left as its zombies). A failed fork loses
 * one member: its fds close here, which the engine sees as that standby gone. */
static void standby_pool(int k)
{
	if (k < 2 || k > 16)
		return;
	/* one sealed copy for all (it cannot be written: sharing it shares nothing a container could change) */
	standby_seal();
	int j = 0;
	for (int i = 1; i < k && j == 0; i++)
		if (fork() == 0)
			j = i;
	if (j > 0) {
		dup2(3 + 2 * j, 3);
		dup2(4 + 2 * j, 4);
	}
	for (int fd = 5; fd < 3 + 2 * k; fd++)
		close(fd);
}

static void usage(void)
{
	msg("%s", "berth-monitor: a helper of berth, started by the engine; not meant to be run by hand\n");
	_exit(2);
}

static int monitor_main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "init"))
		return tiny_init(argv + 2);
	/* the command line's memory (/proc/PID/cmdline): the linger child retitles it */
	args_start = argv[0];
	args_end = argv[argc - 1] + strlen(argv[argc - 1]);
	/* --standby SPACES [K] [-n]: -n from a CLI that knows its container makes no netns as host
	 * root (bridge, host, container:, a user namespace: monitor.ts prestartMonitor) */
	int standby = argc >= 3 && argc <= 5 && !strcmp(argv[1], "--standby");
	int pool = 0;
	for (int i = 3; standby && i < argc; i++) {
		if (!strcmp(argv[i], "-n"))
			standby_no_netns = 1;
		else
			pool = atoi(argv[i]);
	}
	if (standby) {
		if (pool)
			standby_pool(pool);
		/* argv[2] is room (spaces) for what ps should show: this container's arguments */
		char *area = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
		argv = standby_job(&argc);
		if (!argv)
			return 0;
		char *p = area;
		for (int k = 0; k < argc && p < end; k++) {
			size_t l = strlen(argv[k]) + 1;
			if (l > (size_t)(end - p))
				l = (size_t)(end - p);
			memcpy(p, argv[k], l);
			p += l;
		}
		memset(p, 0, (size_t)(end - p) + 1);
	}
	const char *dir = NULL;
	int initial = -1;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			if (i + 1 < argc)
				exit_cmd = argv + i + 1;
			break;
		}
		if (a[0] != '-' || !a[1] || a[2])
			usage();
		char f = a[1];
		if (f == 'i') { open_stdin = 1; continue; }
		if (f == 'o') { stdin_once = 1; continue; }
		if (f == 't') { tty = 1; continue; }
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		switch (f) {
		case 'd': dir = v; break;
		case 'e': shim_path = v; break;
		case 's': status_fd = atoi(v); break;
		case 'a': initial = atoi(v); break;
		case 'l': log_path = v; break;
		case 'L': log_format = !strcmp(v, "cri") ? 1 : !strcmp(v, "none") ? 2 : 0; break;
		case 'S': max_size = atoll(v); break;
		case 'N': max_files = atoi(v) > 0 ? atoi(v) : 1; break;
		case 'r': snprintf(policy, sizeof(policy), "%s", v); break;
		case 'R': max_retries = atoi(v); break;
		case 'O': oom_file = v; break;
		case 'H': health_interval_ms = atoll(v); break;
		case 'P': health_period_ms = atoll(v); break;
		case 'I': health_start_ms = atoll(v); break;
		case 'F': if (!freeze_files[0]) freeze_files[0] = v; else freeze_files[1] = v; break;
		default: usage();
		}
	}
	if (!dir || !shim_path)
		usage();
	if (standby && initial < 0)
		close(4); /* the standby's attach socket, not wanted by this container */
	struct stat sp;
	if (sealed_fd >= 0 && (stat(shim_path, &sp) < 0 || sp.st_dev != sealed_from.st_dev || sp.st_ino != sealed_from.st_ino)) {
		close(sealed_fd); /* the standby copied itself, and -e names another program */
		sealed_fd = -1;
	}
	if (chdir(dir) < 0) {
		report("ERR monitor: chdir %s: %m", dir);
		return 1;
	}
	state_parent = open("..", O_PATH | O_DIRECTORY | O_CLOEXEC); /* record_leftovers */
	/* detach from the engine: the engine's child exits at once, the monitor is reparented */
	pid_t p = fork();
	if (p < 0) {
		report("ERR monitor: fork: %s", strerror(errno));
		return 1;
	}
	if (p > 0)
		_exit(0);
	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	for (int k = 0; k < MAX_CLIENTS; k++)
		clients[k].fd = -1;

	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGTERM); /* from the engine: "stopped" was written, stop waiting to restart */
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", getpid());
	report("MONITOR %s", pidbuf);
	listen_fd = listen_attach("attach.sock");
	alive_open();
	if (initial >= 0) {
		fcntl(initial, F_SETFD, FD_CLOEXEC);
		client_add(initial, 1);
	}
	log_open();

	char err[1024];
	int exited = 0, status = 0, termsig = 0;
	long long started = 0, drain_until = 0, relaunch_at = 0, backoff_ms = 100;
	init_pid = launch(err, sizeof(err));
	if (!init_pid) {
		report("ERR %s", err);
		write_exit_file(STATUS_SETUP_FAILED, 0, 0, err);
		unlink("attach.sock");
		return 1;
	}
	started = now_ns(CLOCK_MONOTONIC);
	long long health_at = 0;
	if (health_interval_ms > 0) {
		health_load();
		health_at = health_next(started);
	}
	write_pid_file();
	snprintf(pidbuf, sizeof(pidbuf), "%d", init_pid);
	report("PID %s", pidbuf);
	report("%s", "READY");
	close_status();

	for (;;) {
		struct pollfd pf[5 + MAX_CLIENTS];
		int np = 0;
		pf[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pf[np++] = (struct pollfd){.fd = out_s.fd, .events = POLLIN};
		pf[np++] = (struct pollfd){.fd = err_s.fd, .events = POLLIN};
		pf[np++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		for (int k = 0; k < MAX_CLIENTS; k++) /* an ended client: only its hang-up (POLLHUP) */
			pf[np++] = (struct pollfd){.fd = clients[k].fd, .events = clients[k].eof ? 0 : POLLIN};
		int timeout = -1;
		long long now = now_ns(CLOCK_MONOTONIC);
		if (exited && drain_until)
			timeout = drain_until > now ? (int)((drain_until - now) / 1000000) + 1 : 0;
		if (relaunch_at)
			timeout = relaunch_at > now ? (int)((relaunch_at - now) / 1000000) + 1 : 0;
		if (health_at && init_pid && !exited) {
			int ht = health_at > now ? (int)((health_at - now) / 1000000) + 1 : 0;
			if (timeout < 0 || ht < timeout)
				timeout = ht;
		}
		int r = poll(pf, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM && relaunch_at)
					relaunch_at = now_ns(CLOCK_MONOTONIC);
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == health_pid)
					health_pid = 0;
				else if (w == init_pid && !exited) {
					exited = 1;
					status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
					termsig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
					/* what the container wrote last is still in the pipes: drain them, but do
					 * not wait forever for a daemon that inherited them */
					drain_until = now_ns(CLOCK_MONOTONIC) + 2000000000LL;
				}
		}
		struct stream *ss[2] = {&out_s, &err_s};
		for (int k = 0; k < 2; k++) {
			struct stream *s = ss[k];
			if (s->fd < 0 || !(pf[1 + k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(s->fd, iobuf, sizeof(iobuf));
			if (n > 0) {
				log_data(s, iobuf, (size_t)n);
				oflush(); /* what this read brought is in the file before the next poll */
				broadcast(s->id, iobuf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				/* EOF (EIO on a pty master once the container is gone) */
				log_flush(s);
				if (s->fd == master) {
					if (stdin_w == master)
						stdin_w = -1;
					master = -1;
				}
				close(s->fd);
				s->fd = -1;
			}
		}
		if (pf[3].revents & POLLIN) {
			int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				client_add(c, 0);
		}
		for (int k = 0; k < MAX_CLIENTS; k++)
			if (clients[k].fd >= 0 && pf[4 + k].fd == clients[k].fd && (pf[4 + k].revents & (POLLIN | POLLHUP | POLLERR))) {
				if (clients[k].eof)
					client_close(&clients[k]);
				else
					client_read(&clients[k]);
			}

		if (health_at && init_pid && !exited && now_ns(CLOCK_MONOTONIC) >= health_at) {
			health_spawn();
			health_at = health_next(started);
		}
		if (exited && ((out_s.fd < 0 && err_s.fd < 0) || now_ns(CLOCK_MONOTONIC) >= drain_until)) {
			/* the container is down: record it, tell the clients, restart or leave */
			log_flush(&out_s);
			log_flush(&err_s);
			if (out_s.fd >= 0)
				close(out_s.fd);
			if (err_s.fd >= 0)
				close(err_s.fd);
			out_s.fd = err_s.fd = -1;
			if (master >= 0)
				close(master);
			master = -1;
			close_stdin();
			int oom = read_oom_count() > oom_before;
			write_exit_file(status, termsig, oom, "");
			char sb[16];
			int sn = snprintf(sb, sizeof(sb), "%d", status);
			broadcast(5, sb, (size_t)sn);
			exited = 0;
			drain_until = 0;
			init_pid = 0;
			if (!should_restart(status)) {
				run_exit_command();
				break;
			}
			long long ran = now_ns(CLOCK_MONOTONIC) - started;
			backoff_ms = ran >= 10000000000LL ? 100 : (restarts == 0 ? 100 : backoff_ms * 2);
			if (backoff_ms > 60000)
				backoff_ms = 60000;
			relaunch_at = now_ns(CLOCK_MONOTONIC) + backoff_ms * 1000000LL;
			write_pid_file();
		}
		if (relaunch_at && now_ns(CLOCK_MONOTONIC) >= relaunch_at) {
			relaunch_at = 0;
			if (access("stopped", F_OK) == 0) {
				run_exit_command();
				break;
			}
			restarts++;
			init_pid = launch(err, sizeof(err));
			if (!init_pid) {
				/* could not start again: record it and let the policy decide once more */
				write_exit_file(STATUS_SETUP_FAILED, 0, 0, err);
				status = STATUS_SETUP_FAILED;
				if (!should_restart(status)) {
					run_exit_command();
					break;
				}
				backoff_ms = backoff_ms * 2 > 60000 ? 60000 : backoff_ms * 2;
				relaunch_at = now_ns(CLOCK_MONOTONIC) + backoff_ms * 1000000LL;
				continue;
			}
			started = now_ns(CLOCK_MONOTONIC);
			if (health_at)
				health_at = health_next(started);
			write_pid_file();
		}
	}
	/* before attach.sock goes: an attach meeting no socket while the monitor still runs fails */
	pid_t left[2] = {exit_cmd_pid, health_pid};
	record_leftovers(dir, left, 2);
	unlink("attach.sock");
	close(listen_fd); /* no new clients while the last ones are let go */
	if (alive_fd >= 0)
		close(alive_fd); /* followers wake now; the linger child must not hold it */
	if (log_fd >= 0)
		close(log_fd);
	/* the clients are let go by a child: the monitor's exit (to the engine: the container is
	 * down, `wait` answers, `rm` may go on) is not held up by a client's hang-up */
	int any = 0;
	for (int k = 0; k < MAX_CLIENTS; k++)
		any |= clients[k].fd >= 0;
	if (any && fork() == 0) {
		/* not to be taken for the monitor (ps, leak checks): its command line names no container */
		static const char title[] = "berth-monitor-linger";
		size_t room = (size_t)(args_end - args_start);
		if (args_start && room > sizeof(title)) {
			memset(args_start, 0, room);
			memcpy(args_start, title, sizeof(title));
		}
		clients_linger();
		_exit(0);
	}
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (clients[k].fd >= 0)
			client_close(&clients[k]);
	return 0;
}
