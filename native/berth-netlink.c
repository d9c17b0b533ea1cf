// `berth-shim netlink`: executes a network plan compiled by src/network/netlink.ts.
//
// Node has no AF_NETLINK sockets and cannot setns() itself, so this small program does the
// mechanism and nothing else: it reads records from stdin and, in order,
//   SEND     sends one pre-encoded rtnetlink message (built and unit-tested in TypeScript) and
//            waits for its ACK; a non-zero error stops the plan ("ERR <record> <errno>");
//   SENDIGN  the same, but one errno named by the record is not an error (e.g. ENODEV on delete);
//   SETNS    setns(fd, CLONE_NEWNET) on an fd inherited from berth (a container's netns), and
//            opens a fresh netlink socket there;
//   IFINDEX  resolves an interface name in the current namespace and patches it into the next
//            SEND message at a given offset.
// It never parses text and decides nothing. Part of berth-shim (included by berth-shim.c).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A plan only makes sense to the berth process that sent it: when that one is killed (kill -9
 * of the CLI in the middle of `run`), the helper must not go on creating links and netns mounts
 * after `rm -f` has released the container. BERTH_PARENT_PID names the sender; the kernel kills
 * us with it (PDEATHSIG), and the check after catches a sender that died before the prctl. */
static void die_with_parent(void)
{
  const char *p = getenv("BERTH_PARENT_PID");
  if (!p || !*p)
    return;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != (pid_t)atol(p))
    _exit(1);
}

enum { OP_SEND = 1, OP_SENDIGN = 2, OP_SETNS = 3, OP_IFINDEX = 4 };

static int nl = -1;
static uint32_t patch_off = 0, patch_val = 0;
static int patch_pending = 0;

static void fail(unsigned rec, int err) {
  printf("ERR %u %d\n", rec, err);
  fflush(stdout);
  exit(1);
}

static int nl_open(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return -1;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(s);
    return -1;
  }
  return s;
}

static int nl_read_full(void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(0, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

/* Sends one message and returns the (positive) errno of its ACK, 0 on success. */
static int nl_send(unsigned rec, char *msg, uint32_t len) {
  if (len < sizeof(struct nlmsghdr)) return EINVAL;
  struct nlmsghdr *h = (struct nlmsghdr *)msg;
  h->nlmsg_seq = rec + 1;
  if (patch_pending) {
    if (patch_off + 4 > len) return EINVAL;
    memcpy(msg + patch_off, &patch_val, 4);
    patch_pending = 0;
  }
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  if (sendto(nl, msg, len, 0, (struct sockaddr *)&to, sizeof to) < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t r = recv(nl, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *a = (struct nlmsghdr *)buf; NLMSG_OK(a, (size_t)r); a = NLMSG_NEXT(a, r)) {
      if (a->nlmsg_seq != rec + 1) continue;
      if (a->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(a);
        return -e->error;
      }
      if (a->nlmsg_type == NLMSG_DONE) return 0;
    }
  }
}

static int netlink_main(void) {
  die_with_parent();
  nl = nl_open();
  if (nl < 0) fail(0, errno);
  unsigned rec = 0;
  for (;; rec++) {
    uint32_t hdr[2];
    int r = nl_read_full(hdr, sizeof hdr);
    if (r == 0) break;
    if (r < 0 || hdr[1] > (1u << 20)) fail(rec, EINVAL);
    char *p = malloc(hdr[1] + 1);
    if (!p) fail(rec, ENOMEM);
    if (hdr[1] && nl_read_full(p, hdr[1]) != 1) fail(rec, EINVAL);
    int err = 0;
    switch (hdr[0]) {
    case OP_SEND:
      err = nl_send(rec, p, hdr[1]);
      break;
    case OP_SENDIGN: {
      int32_t ign;
      if (hdr[1] < 4) fail(rec, EINVAL);
      memcpy(&ign, p, 4);
      err = nl_send(rec, p + 4, hdr[1] - 4);
      if (err == ign) err = 0;
      break;
    }
    case OP_SETNS: {
      int32_t fd;
      if (hdr[1] != 4) fail(rec, EINVAL);
      memcpy(&fd, p, 4);
      if (setns(fd, CLONE_NEWNET) < 0) {
        err = errno;
        break;
      }
      close(nl);
      nl = nl_open();
      if (nl < 0) err = errno;
      break;
    }
    case OP_IFINDEX: {
      char name[IF_NAMESIZE + 1] = {0};
      if (hdr[1] < 5 || hdr[1] - 4 > IF_NAMESIZE) fail(rec, EINVAL);
      memcpy(&patch_off, p, 4);
      memcpy(name, p + 4, hdr[1] - 4);
      patch_val = if_nametoindex(name);
      if (!patch_val) err = errno ? errno : ENODEV;
      else patch_pending = 1;
      break;
    }
    default:
      err = EINVAL;
    }
    free(p);
    if (err) fail(rec, err);
  }
  puts("OK");
  return 0;
}
