// Bridges and veth pairs, as netlink plans run by berth-netlink (one process per call).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseCidr, parseIPv4, parseMac } from './cidr.js';
import { setSysctl } from './host.js';
import {
  ADDR_INDEX_OFFSET, ROUTE_OIF_OFFSET, VETH_MASTER_OFFSET, Plan, closeQuiet, msgBridgePort, msgDefaultRoute, msgDelLink, msgLinkUp, msgLoopbackUp,
  msgNewAddr, msgNewBridge, msgNewVeth, openNetns, runPlan, startPlan, type PendingPlan,
} from './netlink.js';
import { parseCidr6, parseIPv6 } from './cidr6.js';
import { msgDefaultRoute6, msgNewAddr6 } from './netlink6.js';
import { msgTbf, QDISC_INDEX_OFFSET, tbfSizes } from './tc.js';

export interface BridgeSpec {
  name: string;
  /** The gateway address, set on the bridge. */
  gateway: string;
  subnet: string;
  mtu: number;
  /** route_localnet=1, so 127.0.0.1-published ports can be DNAT'd onto the bridge. */
  localnet: boolean;
  /** Dual stack: the v6 gateway address and subnet, also on the bridge. */
  gateway6?: string;
  subnet6?: string;
}

export function bridgePlan(b: BridgeSpec): Plan {
  const mac = createHash('sha256').update(b.name).digest().subarray(0, 6);
  mac[0] = (mac[0]! & 0xfe) | 0x02; // unicast, locally administered: a fixed MAC does not flap as ports come and go
  const p = new Plan()
    .send(msgNewBridge(b.name, { mtu: b.mtu, mac }), `create bridge ${b.name}`)
    .ifindex(b.name, ADDR_INDEX_OFFSET, `find bridge ${b.name}`)
    .send(msgNewAddr(0, parseIPv4(b.gateway), parseCidr(b.subnet)), `add ${b.gateway}/${parseCidr(b.subnet).prefix} to ${b.name}`);
  if (b.gateway6 && b.subnet6) {
    const prefix = parseCidr6(b.subnet6).prefix;
    p.ifindex(b.name, ADDR_INDEX_OFFSET, `find bridge ${b.name}`)
      .send(msgNewAddr6(0, parseIPv6(b.gateway6), { prefix }), `add ${b.gateway6}/${prefix} to ${b.name}`);
  }
  return p;
}

export async function createBridge(b: BridgeSpec): Promise<void> {
  await runPlan(bridgePlan(b));
  try {
    if (b.localnet) setSysctl(`net.ipv4.conf.${b.name}.route_localnet`, '1');
  } catch (e) {
    await deleteLink(b.name).catch(() => {});
    throw e;
  }
}

export function deleteLink(name: string): Promise<void> {
  return runPlan(new Plan().sendIgnoring(msgDelLink(name), 'ENODEV', `delete link ${name}`));
}

/** Deletes several links in one process (missing ones are fine). */
export function deleteLinks(names: string[]): Promise<void> {
  const p = new Plan();
  for (const n of names) p.sendIgnoring(msgDelLink(n), 'ENODEV', `delete link ${n}`);
  return p.steps.length ? runPlan(p) : Promise.resolve();
}

/** The host end's name: prefix + a hash of network and container (unique, stable, 15 chars). */
export function vethName(prefix: string, networkId: string, containerId: string): string {
  return prefix + createHash('sha256').update(`${networkId}/${containerId}`).digest('hex').slice(0, 15 - prefix.length);
}

export interface VethSpec {
  bridge: string;
  hostIf: string;
  /** The name inside the container: eth0, eth1, ... */
  ifname: string;
  mac: string;
  ip: string;
  subnet: string;
  mtu: number;
  /** The default route's gateway (none for internal networks and for a second network). */
  gateway?: string;
  /** Bridge port isolation: no traffic to other isolated ports of the bridge. */
  isolated: boolean;
  /** Dual stack: the v6 address and subnet, and the v6 default route's gateway. */
  ip6?: string;
  subnet6?: string;
  gateway6?: string;
  /** Egress rate limit in bytes per second (tc.ts: tbf on the container's interface). */
  egressRate?: number;
}

/** NS_FD is the netns file as the executor's fd 3. */
const NS_FD = 3;

export function vethPlan(v: VethSpec): Plan {
  const p = new Plan()
    .ifindex(v.bridge, VETH_MASTER_OFFSET, `find bridge ${v.bridge}`)
    .send(msgNewVeth(v.hostIf, v.ifname, { mtu: v.mtu, peerMac: parseMac(v.mac), peerNsFd: NS_FD }), `create veth ${v.hostIf} -> ${v.ifname}`);
  if (v.isolated) p.send(msgBridgePort(v.hostIf, { isolated: true }), `isolate bridge port ${v.hostIf}`);
  p.setns(NS_FD, 'enter the container netns')
    .send(msgLoopbackUp(), 'set lo up')
    .ifindex(v.ifname, ADDR_INDEX_OFFSET, `find ${v.ifname}`)
    .send(msgNewAddr(0, parseIPv4(v.ip), parseCidr(v.subnet)), `add ${v.ip} to ${v.ifname}`)
    .send(msgLinkUp(v.ifname), `set ${v.ifname} up`);
  if (v.egressRate) {
    p.ifindex(v.ifname, QDISC_INDEX_OFFSET, `find ${v.ifname}`)
      .send(msgTbf(0, { rate: v.egressRate, ...tbfSizes(v.egressRate, v.mtu) }), `limit ${v.ifname} to ${v.egressRate} bytes/s (tbf)`);
  }
  if (v.gateway) {
    p.ifindex(v.ifname, ROUTE_OIF_OFFSET, `find ${v.ifname}`).send(msgDefaultRoute(parseIPv4(v.gateway)), `add default route via ${v.gateway}`);
  }
  if (v.ip6 && v.subnet6) {
    const prefix = parseCidr6(v.subnet6).prefix;
    p.ifindex(v.ifname, ADDR_INDEX_OFFSET, `find ${v.ifname}`).send(msgNewAddr6(0, parseIPv6(v.ip6), { prefix }), `add ${v.ip6}/${prefix} to ${v.ifname}`);
    if (v.gateway6) {
      p.ifindex(v.ifname, ROUTE_OIF_OFFSET, `find ${v.ifname}`).send(msgDefaultRoute6(parseIPv6(v.gateway6)), `add default route via ${v.gateway6}`);
    }
  }
  return p;
}

/**
 * Creates and configures the pair; on failure removes the host end (and with it the peer). The
 * host end is named for the container and network, and the kernel tears a namespace down
 * asynchronously: a quick restart can meet the pair of the namespace just released (EEXIST).
 * The failed attempt removed it; a few more attempts, a moment apart. `pending`: a helper
 * started with startNetns(netnsPath), making the netns meanwhile; the first attempt runs there.
 */
export async function createVeth(netnsPath: string, v: VethSpec, o: { createNetns?: boolean; pending?: PendingPlan } = {}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt === 0 && o.pending) return await runVethPlan(v, () => o.pending!.run(vethPlan(v)));
      return await createVethOnce(netnsPath, v, { createNetns: !!o.createNetns && !o.pending && (attempt === 0 || !existsSync(netnsPath)) });
    } catch (e) {
      if (attempt >= 3 || !/EEXIST/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }
}

/**
 * The engine's persistent netns, made at `netnsPath` (which must not exist) by a helper started
 * now (`berth-shim netns add PATH netlink`); its plan follows with createVeth's `pending`, or
 * cancel() ends it with the netns made. One process for both, its start off the caller's path.
 */
export function startNetns(netnsPath: string): PendingPlan {
  return startPlan([], ['netns', 'add', netnsPath, 'netlink']);
}

async function runVethPlan(v: VethSpec, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    await deleteLink(v.hostIf).catch(() => {});
    throw e;
  }
}

async function createVethOnce(netnsPath: string, v: VethSpec, o: { createNetns?: boolean }): Promise<void> {
  // createNetns: the helper first makes the netns at netnsPath (berth-shim netns add PATH netlink,
  // the engine's persistent netns) and hands it to the plan as fd 3: one process for both
  const fd = o.createNetns ? -1 : openNetns(netnsPath);
  try {
    await runVethPlan(v, () => (o.createNetns ? runPlan(vethPlan(v), [], ['netns', 'add', netnsPath, 'netlink']) : runPlan(vethPlan(v), [fd])));
  } finally {
    if (fd >= 0) closeQuiet(fd);
  }
}

/** --network none: only loopback, up. */
export async function loopbackOnly(netnsPath: string): Promise<void> {
  const fd = openNetns(netnsPath);
  try {
    await runPlan(new Plan().setns(NS_FD, 'enter the container netns').send(msgLoopbackUp(), 'set lo up'), [fd]);
  } finally {
    closeQuiet(fd);
  }
}
