// berth's network layer: bridge networks, IPAM, nftables NAT/isolation/publishing, DNS.
export { NetworkManager } from './manager.js';
export type { AttachOptions, AttachResult, Network, NetworkCreateOptions, NetworkInspect, NetworkManagerOptions, NetworkEndpointInfo } from './manager.js';
export { NetworkError, isNetworkError, type NetworkErrorKind } from './errors.js';
export { parsePortSpec, formatPortMapping, type PortMapping, type PortSpec, type Proto } from './ports.js';
export { parseAddHost } from './etc-files.js';
