// rtnetlink messages built in TypeScript (unit-tested byte for byte) and executed in one
// process per plan by berth-netlink (native/berth-netlink.c): create a veth pair with its
// host end already on the bridge and its peer already inside the container's netns, then setns
// into that netns and address it, bring it up and route it -- one fork/exec per attach instead of
// an `ip` command per step (or two `ip -batch` processes, one per namespace).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { maskOf, type Cidr } from './cidr.js';
import { NetworkError, system } from './errors.js';

// linux/rtnetlink.h, linux/netlink.h, linux/if_link.h, linux/if_addr.h
export const RTM = { NEWLINK: 16, DELLINK: 17, NEWADDR: 20, NEWROUTE: 24 } as const;
export const NLM_F = { REQUEST: 0x1, ACK: 0x4, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400 } as const;
export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, MASTER: 10, LINKINFO: 18, NET_NS_FD: 28 } as const;
export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
export const IFLA_BR = { FORWARD_DELAY: 1, STP_STATE: 5, MCAST_SNOOPING: 23 } as const;
export const IFLA_BRPORT = { MODE: 4, ISOLATED: 33 } as const;
export const VETH_INFO_PEER = 1;
export const IFA = { ADDRESS: 1, LOCAL: 2, BROADCAST: 4 } as const;
export const RTA = { DST: 1, OIF: 4, GATEWAY: 5 } as const;
export const AF_INET = 2;
export const IFF_UP = 1;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RTN_UNICAST = 1;
const NLMSG_HDRLEN = 16;

export const OP = { SEND: 1, SENDIGN: 2, SETNS: 3, IFINDEX: 4 } as const;

const align4 = (n: number) => (n + 3) & ~3;

/** One rtattr: length, type, payload padded to 4 bytes. */
export function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}
export const u8 = (n: number) => Buffer.from([n]);
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
export const cstr = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
/** An IPv4 address in network byte order. */
export function ip4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
export const nested = (type: number, attrs: Buffer[]) => attr(type, Buffer.concat(attrs));

export function ifinfomsg(o: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt32LE(o.flags ?? 0, 8);
  b.writeUInt32LE(o.change ?? 0, 12);
  return b;
}

export function nlmsg(type: number, flags: number, body: Buffer, attrs: Buffer[] = []): Buffer {
  const payload = Buffer.concat([body, ...attrs]);
  const b = Buffer.alloc(NLMSG_HDRLEN + payload.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags | NLM_F.REQUEST | NLM_F.ACK, 6);
  // seq is set by the executor, pid 0 (the kernel)
  payload.copy(b, NLMSG_HDRLEN);
  return b;
}

const ifnameOk = (n: string) => /^[a-zA-Z0-9_.-]{1,15}$/.test(n) && n !== '.' && n !== '..';
function checkName(n: string): void {
  if (!ifnameOk(n)) throw system(`invalid interface name "${n}" (1-15 characters of [a-zA-Z0-9_.-])`);
}

// ---- messages ---------------------------------------------------------------------------------

export function msgNewBridge(name: string, o: { mtu: number; mac?: Buffer }): Buffer {
  checkName(name);
  const attrs = [attr(IFLA.IFNAME, cstr(name)), attr(IFLA.MTU, u32(o.mtu))];
  if (o.mac) attrs.push(attr(IFLA.ADDRESS, o.mac));
  attrs.push(nested(IFLA.LINKINFO, [
    attr(IFLA_INFO.KIND, cstr('bridge')),
    nested(IFLA_INFO.DATA, [attr(IFLA_BR.STP_STATE, u32(0)), attr(IFLA_BR.FORWARD_DELAY, u32(0))]),
  ]));
  return nlmsg(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, ifinfomsg({ flags: IFF_UP, change: IFF_UP }), attrs);
}

/** The offset of IFLA_MASTER's value in msgNewVeth's message (patched with the bridge's ifindex). */
export const VETH_MASTER_OFFSET = NLMSG_HDRLEN + 16 + 4;

/**
 * A veth pair: `host` enslaved to the bridge (index patched in by IFINDEX) and up; `peer` created
 * directly in the netns open as `peerNsFd` in the executor, with its MAC and MTU.
 */
export function msgNewVeth(host: string, peer: string, o: { mtu: number; peerMac: Buffer; peerNsFd: number }): Buffer {
  checkName(host);
  checkName(peer);
  const peerInfo = Buffer.concat([
    ifinfomsg(),
    attr(IFLA.IFNAME, cstr(peer)),
    attr(IFLA.MTU, u32(o.mtu)),
    attr(IFLA.ADDRESS, o.peerMac),
    attr(IFLA.NET_NS_FD, u32(o.peerNsFd)),
  ]);
  const attrs = [
    attr(IFLA.MASTER, u32(0)), // first: VETH_MASTER_OFFSET points at its value
    attr(IFLA.IFNAME, cstr(host)),
    attr(IFLA.MTU, u32(o.mtu)),
    nested(IFLA.LINKINFO, [attr(IFLA_INFO.KIND, cstr('veth')), nested(IFLA_INFO.DATA, [attr(VETH_INFO_PEER, peerInfo)])]),
  ];
  return nlmsg(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, ifinfomsg({ flags: IFF_UP, change: IFF_UP }), attrs);
}

/** Bridge port flags of a link already enslaved to a bridge. */
export function msgBridgePort(name: string, o: { isolated?: boolean; hairpin?: boolean }): Buffer {
  checkName(name);
  const data: Buffer[] = [];
  if (o.isolated !== undefined) data.push(attr(IFLA_BRPORT.ISOLATED, u8(o.isolated ? 1 : 0)));
  if (o.hairpin !== undefined) data.push(attr(IFLA_BRPORT.MODE, u8(o.hairpin ? 1 : 0)));
  return nlmsg(RTM.NEWLINK, 0, ifinfomsg(), [
    attr(IFLA.IFNAME, cstr(name)),
    nested(IFLA.LINKINFO, [attr(IFLA_INFO.SLAVE_KIND, cstr('bridge')), nested(IFLA_INFO.SLAVE_DATA, data)]),
  ]);
}

export function msgLinkUp(name: string): Buffer {
  checkName(name);
  return nlmsg(RTM.NEWLINK, 0, ifinfomsg({ flags: IFF_UP, change: IFF_UP }), [attr(IFLA.IFNAME, cstr(name))]);
}

/** lo is ifindex 1 in every network namespace. */
export function msgLoopbackUp(): Buffer {
  return nlmsg(RTM.NEWLINK, 0, ifinfomsg({ index: 1, flags: IFF_UP, change: IFF_UP }));
}

export function msgDelLink(name: string): Buffer {
  checkName(name);
  return nlmsg(RTM.DELLINK, 0, ifinfomsg(), [attr(IFLA.IFNAME, cstr(name))]);
}

/** The offset of ifa_index in msgNewAddr's message (patched by IFINDEX when index is 0). */
export const ADDR_INDEX_OFFSET = NLMSG_HDRLEN + 4;

export function msgNewAddr(index: number, ip: number, net: Cidr): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt8(AF_INET, 0);
  body.writeUInt8(net.prefix, 1);
  body.writeUInt8(0, 2); // flags
  body.writeUInt8(0, 3); // RT_SCOPE_UNIVERSE
  body.writeUInt32LE(index, 4);
  const attrs = [attr(IFA.LOCAL, ip4(ip)), attr(IFA.ADDRESS, ip4(ip))];
  if (net.prefix < 31) attrs.push(attr(IFA.BROADCAST, ip4((net.base | ~maskOf(net.prefix)) >>> 0)));
  return nlmsg(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, body, attrs);
}

/** The offset of RTA_OIF's value in msgDefaultRoute's message (patched by IFINDEX when oif is 0). */
export const ROUTE_OIF_OFFSET = NLMSG_HDRLEN + 12 + 4;

export function msgDefaultRoute(gateway: number, oif = 0): Buffer {
  // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, u32 flags
  const body = Buffer.from([AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0, 0, 0, 0]);
  return nlmsg(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, body, [attr(RTA.OIF, u32(oif)), attr(RTA.GATEWAY, ip4(gateway))]);
}

// ---- plans ------------------------------------------------------------------------------------

export interface Step {
  op: number;
  payload: Buffer;
  /** For error messages: "create veth bv1234 -> eth0". */
  what: string;
}

/** An ordered list of steps for berth-netlink. */
export class Plan {
  readonly steps: Step[] = [];

  send(msg: Buffer, what: string): this {
    this.steps.push({ op: OP.SEND, payload: msg, what });
    return this;
  }
  /** Sends, treating one errno (by name, e.g. ENODEV) as success. */
  sendIgnoring(msg: Buffer, errnoName: keyof typeof constants.errno, what: string): this {
    this.steps.push({ op: OP.SENDIGN, payload: Buffer.concat([u32(constants.errno[errnoName]), msg]), what });
    return this;
  }
  setns(fd: number, what: string): this {
    this.steps.push({ op: OP.SETNS, payload: u32(fd), what });
    return this;
  }
  /** Patches the ifindex of `name` (in the current namespace) into the next message at `offset`. */
  ifindex(name: string, offset: number, what: string): this {
    checkName(name);
    this.steps.push({ op: OP.IFINDEX, payload: Buffer.concat([u32(offset), Buffer.from(name)]), what });
    return this;
  }

  encode(): Buffer {
    return Buffer.concat(this.steps.flatMap((s) => [u32(s.op), u32(s.payload.length), s.payload]));
  }
}

// ---- execution --------------------------------------------------------------------------------

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
/** dist/berth-shim, whose `netlink` sub-command runs plans (this file is dist/src/network/netlink.js or a bundle two levels down). */
// read when first needed, not at load: a prestarted CLI loads this before it has the caller's
// environment (src/cli/berth/prestarted.ts)
const helperPath = () => process.env.BERTH_NETLINK ?? here('../../berth-shim');
let helperChecked = false;

/** The path of the program that runs netlink plans (native/berth-netlink.c, part of berth-shim). */
export function ensureHelper(): string {
  const path = helperPath();
  if (helperChecked) return path;
  if (!existsSync(path)) throw system(`berth-shim is missing (${path}); run "npm run build"`);
  helperChecked = true;
  return path;
}

// built on first use: reading os.constants at import loads node:os for every CLI command
let errnoMap: Map<number, string> | undefined;
const errnoNames = { get: (n: number) => (errnoMap ??= new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]))).get(n) };

export class NetlinkError extends NetworkError {
  constructor(readonly step: string, readonly errno: number, readonly stepIndex: number) {
    super('system', `${step}: ${errnoNames.get(errno) ?? `errno ${errno}`} (${describeErrno(errno)})`);
  }
  get code(): string | undefined {
    return errnoNames.get(this.errno);
  }
}

function describeErrno(n: number): string {
  switch (errnoNames.get(n)) {
    case 'EEXIST': return 'it already exists';
    case 'ENODEV': return 'no such interface';
    case 'EADDRNOTAVAIL': return 'address not available';
    case 'ENETUNREACH': return 'the gateway is not on a connected network';
    case 'EPERM': return 'operation not permitted: root (CAP_NET_ADMIN) is required';
    case 'EOPNOTSUPP': return 'not supported by this kernel';
    case 'EINVAL': return 'invalid argument';
    default: return 'netlink error';
  }
}

let env: NodeJS.ProcessEnv | undefined;
const helperEnv = () => (env ??= { ...process.env, BERTH_PARENT_PID: String(process.pid) });

/**
 * Runs a plan in one berth-netlink process. `fds` are inherited as 3, 4, ... (netns files opened
 * here, referred to by SETNS and IFLA_NET_NS_FD). Resolves when every step succeeded.
 */
export function runPlan(plan: Plan, fds: number[] = [], args: string[] = ['netlink']): Promise<void> {
  return startPlan(fds, args).run(plan);
}

/** A helper process started before its plan is known (it reads the plan from stdin when sent). */
export interface PendingPlan {
  /** Sends the plan (once) and resolves when every step succeeded. */
  run(plan: Plan): Promise<void>;
  /** Sends an empty plan: the helper exits having done only what its arguments ask (e.g. made the netns). */
  cancel(): Promise<void>;
}

/**
 * Starts the helper now and sends the plan later: `netns add PATH netlink` makes the network
 * namespace while the caller still allocates the address, so the process start and the
 * namespace's creation are off the caller's path.
 */
export function startPlan(fds: number[] = [], args: string[] = ['netlink']): PendingPlan {
  const helper = ensureHelper();
  let plan: Plan | undefined;
  let sent = false;
  let stdin!: NodeJS.WritableStream;
  const done = new Promise<void>((resolve, reject) => {
    // BERTH_PARENT_PID: the helper dies with this process (berth-netlink.c die_with_parent), so a
    // killed CLI's half-run plan cannot add links or a netns mount after `rm -f` released them
    const child = spawn(helper, args, { stdio: ['pipe', 'pipe', 'pipe', ...fds], env: helperEnv() });
    let out = '';
    let err = '';
    // "OK" is the helper's last word (it exits 0 right after): done then, not at its exit and
    // the close of its pipes, which the event loop learns of later
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out === 'OK\n') resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin!.on('error', () => {});
    child.on('error', (e) => reject(system(`cannot run ${helper}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0 && out.startsWith('OK')) return resolve();
      const m = /^ERR (\d+) (\d+)/.exec(out);
      if (m) {
        const i = Number(m[1]);
        return reject(new NetlinkError(plan?.steps[i]?.what ?? `step ${i}`, Number(m[2]), i));
      }
      reject(system(`berth-shim netlink failed (exit ${code}): ${(err || out).trim()}`));
    });
    stdin = child.stdin!;
  });
  done.catch(() => {}); // reported by run(); a cancelled helper's failure is the caller's to ignore
  const send = (p: Plan): Promise<void> => {
    if (sent) return Promise.reject(system('a netlink helper runs one plan'));
    sent = true;
    plan = p;
    stdin.end(p.encode());
    return done;
  };
  return { run: send, cancel: () => (sent ? done : send(new Plan())).catch(() => {}) };
}

/** Opens a netns file for passing to runPlan; the caller closes it. */
export function openNetns(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new NetworkError('invalid', `cannot open network namespace ${path}: ${(e as Error).message}`);
  }
}

export const closeQuiet = (fd: number) => {
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
};

