/*
 * LOOPBACK_UP: child1 brings "lo" up in the network namespace it just made (or joined from a
 * standby monitor: berth-monitor.c prepare_netns), before the init forks. Engine plans only
 * (src/engine/loopback.ts): docker and podman give a --network none container a working
 * 127.0.0.1 and ::1; the OCI runtime (berth-oci) leaves lo down, as runc does.
 * Part of berth-shim (included by berth-shim.c).
 */
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void loopback_up(void)
{
	/* an ioctl on any socket of this netns: no netlink round trip, nothing to parse */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("bring the loopback interface up: socket");
	struct ifreq r;
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &r) < 0)
		die("bring the loopback interface up: read its flags");
	if (!(r.ifr_flags & IFF_UP)) {
		r.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &r) < 0)
			die("bring the loopback interface up");
	}
	close(s);
}
