// IPv6 rtnetlink messages for dual-stack networks (same executor and plans as netlink.ts).
// Addresses are added with IFA_F_NODAD: berth hands out every address from its IPAM, so
// duplicate address detection has nothing to find and would only keep the address "tentative"
// (unusable) for a second or more after the container starts.
import { ip6Bytes, type Cidr6 } from './cidr6.js';
import { attr, NLM_F, nlmsg, RTA, RTM, u32 } from './netlink.js';

export const AF_INET6 = 10;
export const IFA_F_NODAD = 0x02;
const IFA_ADDRESS = 1;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RTN_UNICAST = 1;

/** ifaddrmsg + IFA_ADDRESS; ifa_index at ADDR_INDEX_OFFSET as for v4 (patched by IFINDEX when 0). */
export function msgNewAddr6(index: number, ip: bigint, net: Pick<Cidr6, 'prefix'>): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt8(AF_INET6, 0);
  body.writeUInt8(net.prefix, 1);
  body.writeUInt8(IFA_F_NODAD, 2);
  body.writeUInt8(0, 3); // RT_SCOPE_UNIVERSE
  body.writeUInt32LE(index, 4);
  return nlmsg(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, body, [attr(IFA_ADDRESS, ip6Bytes(ip))]);
}

/** The v6 default route; RTA_OIF first, so ROUTE_OIF_OFFSET applies as for v4. */
export function msgDefaultRoute6(gateway: bigint, oif = 0): Buffer {
  const body = Buffer.from([AF_INET6, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0, 0, 0, 0]);
  return nlmsg(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, body, [attr(RTA.OIF, u32(oif)), attr(RTA.GATEWAY, ip6Bytes(gateway))]);
}
