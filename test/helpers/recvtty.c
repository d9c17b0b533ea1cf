/* Test helper: listens on a unix socket for a pty master (runc's --console-socket protocol),
 * prints its window size, then copies everything the container writes to stdout. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	unlink(argv[1]);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0)
		return 3;
	printf("LISTENING\n");
	fflush(stdout);
	int c = accept(s, NULL, NULL);
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	if (recvmsg(c, &msg, 0) <= 0)
		return 4;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return 5;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	struct winsize ws;
	ioctl(fd, TIOCGWINSZ, &ws);
	printf("SIZE %d %d\n", ws.ws_row, ws.ws_col);
	fflush(stdout);
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	return 0;
}
