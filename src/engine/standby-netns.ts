// Whether a container will take the network namespace a standby monitor makes ahead
// (berth-monitor.c prepare_netns: ~0.5 ms of the kernel's time, and as much again to tear it
// down). Its shim joins it only where it would make a netns as host root (berth-shim.c
// run_child1): --network none without a new user namespace. A bridge, host, container: or path
// network, or a user namespace (whose netns must be its own), never does, so the standby that
// `berth run` starts ahead skips it (`--standby ... -n`). The library's pool cannot know its
// next container and keeps preparing one.
import type { CreateOptions } from './options.js';

/** From the options as given (before normalizeCreate, which refuses bad ones later). */
export function usesPreparedNetns(o: Pick<CreateOptions, 'network' | 'userns' | 'uidmap' | 'gidmap'>, root = process.getuid?.() === 0): boolean {
  // normalizeNetwork's default: bridge as root (and a monitor prepares a netns only as root)
  const mode = o.network === undefined || o.network === '' || o.network === 'default' ? (root ? 'bridge' : 'none') : o.network;
  if (!root || mode !== 'none') return false;
  const userns = o.userns ?? '';
  return (userns === '' || userns === 'host') && !o.uidmap?.length && !o.gidmap?.length;
}
