// At create, not at the first start: the per-container network flags the chosen network cannot
// honour (--ip6 needs an --ipv6 network; a CNI network takes addresses, ports and rate limits
// from its conflist), so a container that could never start is not made.
import type { Network } from '../network/manager.js';
import { invalid } from './errors.js';
import type { ContainerRecord } from './types.js';

export function checkEndpointFits(n: Network, hc: ContainerRecord['hostConfig']): void {
  const ep = hc.NetworkEndpoint;
  if (n.driver === 'cni') {
    const used = [
      ep?.IPv4Address ? '--ip' : '', ep?.IPv6Address ? '--ip6' : '', ep?.MacAddress ? '--mac-address' : '', ep?.EgressRate ? '--egress-rate' : '',
      Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts ? '-p/-P' : '',
    ].filter(Boolean);
    if (used.length) throw invalid(`network ${n.name} is a CNI network: ${used.join(', ')} cannot be used with it (put host-local/static, portmap, tuning or bandwidth plugins in its conflist)`);
  }
  if (ep?.IPv6Address && !n.ipv6) throw invalid(`invalid --ip6 ${ep.IPv6Address}: network ${n.name} has no IPv6 (create it with --ipv6)`);
}
