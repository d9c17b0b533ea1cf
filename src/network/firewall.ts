// nftables rules in berth's own table (`table inet berth`; never another tool's, never a flush
// of the ruleset). The rules are fixed and refer to named sets and maps, so a change is a few set
// elements in one `nft -f -` transaction, never a rule rewrite:
//   sets  bridges (every berth bridge), same (bridge . bridge pairs), internal (--internal bridges)
//   maps  pub_any4 (proto . port -> container ip . port), pub_ip4 (host ip . proto . port -> ...),
//         pub_any6 (proto . port -> container ip6 . port: dual-stack containers' ports on the
//         host's v6 addresses). Not on ::1: v6 has no route_localnet, and the kernel never
//         routes a packet with a loopback address off the loopback device (measured here: a
//         DNAT'd connection to [::1]:PORT, even with masquerade, times out). docker answers on
//         ::1 with a userland proxy (docker-proxy, a process per published port); berth has no
//         daemon to keep one, so v6 clients use the host's v6 address (or 127.0.0.1)
//   forward      same bridge: accept; internal bridges: nothing in or out; published (DNAT'd)
//                connections: accept, from anywhere (other networks too, as through the host);
//                otherwise between berth bridges: drop (isolation); into a bridge: replies only
//   prerouting,  DNAT of published ports, for traffic from other hosts/netns and from the host
//   output       itself (the output chain catches 127.0.0.1 and the host's own addresses)
//   postrouting  masquerade: 127.0.0.0/8 toward a bridge (with route_localnet=1 on it), hairpin
//                (a container reaching a neighbour through a published port), egress to the world
// Port map elements carry the container id as their comment: reconcile() finds stale ones.
import { spawn } from 'node:child_process';
import { conflict, system } from './errors.js';
import type { PortMapping } from './ports.js';

export const DEFAULT_TABLE = 'berth';

const q = (s: string) => {
  if (!/^[a-zA-Z0-9_.:/-]+$/.test(s)) throw system(`refusing to put ${JSON.stringify(s)} in an nft script`);
  return `"${s}"`;
};

export function checkTableName(t: string): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_-]{0,30}$/.test(t)) throw system(`invalid nft table name "${t}"`);
  return t;
}

/** The table, its sets, maps and chains, and their fixed rules. Idempotent: safe to apply again. */
export function skeleton(table: string): string {
  const T = `inet ${checkTableName(table)}`;
  return [
    `add table ${T}`,
    `add set ${T} bridges { type ifname; }`,
    `add set ${T} same { type ifname . ifname; }`,
    `add set ${T} internal { type ifname; }`,
    `add map ${T} pub_any4 { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} pub_ip4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${T} pub_any6 { type inet_proto . inet_service : ipv6_addr . inet_service; }`,
    `add chain ${T} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${T} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `flush chain ${T} forward`,
    `add rule ${T} forward iifname . oifname @same accept`,
    `add rule ${T} forward iifname @internal drop`,
    `add rule ${T} forward oifname @internal drop`,
    `add rule ${T} forward oifname @bridges ct status dnat accept`,
    `add rule ${T} forward iifname @bridges oifname @bridges drop`,
    `add rule ${T} forward oifname @bridges ct state established,related accept`,
    `add rule ${T} forward oifname @bridges drop`,
    `flush chain ${T} prerouting`,
    `add rule ${T} prerouting dnat ip to ip daddr . meta l4proto . th dport map @pub_ip4`,
    `add rule ${T} prerouting fib daddr type local dnat ip to meta l4proto . th dport map @pub_any4`,
    `add rule ${T} prerouting fib daddr type local dnat ip6 to meta l4proto . th dport map @pub_any6`,
    `flush chain ${T} output`,
    `add rule ${T} output dnat ip to ip daddr . meta l4proto . th dport map @pub_ip4`,
    `add rule ${T} output fib daddr type local dnat ip to meta l4proto . th dport map @pub_any4`,
    `add rule ${T} output ip6 daddr != ::1 fib daddr type local dnat ip6 to meta l4proto . th dport map @pub_any6`,
    `flush chain ${T} postrouting`,
    `add rule ${T} postrouting ip saddr 127.0.0.0/8 oifname @bridges masquerade`,
    `add rule ${T} postrouting ct status dnat iifname . oifname @same masquerade`,
    `add rule ${T} postrouting iifname @bridges oifname != @bridges masquerade`,
    '',
  ].join('\n');
}

export interface BridgeRule {
  bridge: string;
  internal: boolean;
}

/** Adds (or deletes) a network's bridge to the sets. */
export function bridgeElements(table: string, op: 'add' | 'delete', b: BridgeRule): string {
  const T = `inet ${checkTableName(table)}`;
  const lines = [`${op} element ${T} bridges { ${q(b.bridge)} }`, `${op} element ${T} same { ${q(b.bridge)} . ${q(b.bridge)} }`];
  if (b.internal) lines.push(`${op} element ${T} internal { ${q(b.bridge)} }`);
  return lines.join('\n') + '\n';
}

/** Map elements publishing a container's ports (create: fails if a key exists), or deleting them. */
export function portElements(table: string, op: 'create' | 'delete', container: string, ip: string, ports: PortMapping[], ip6?: string): string {
  const T = `inet ${checkTableName(table)}`;
  return ports
    .map((p) => {
      const key = p.hostIp ? `${q(p.hostIp).slice(1, -1)} . ${p.proto} . ${p.hostPort}` : `${p.proto} . ${p.hostPort}`;
      const map = p.hostIp ? 'pub_ip4' : 'pub_any4';
      // a dual-stack container's port published on every address also answers on the host's v6 ones
      const v6 = ip6 && !p.hostIp;
      if (op === 'delete') return `delete element ${T} ${map} { ${key} }\n` + (v6 ? `delete element ${T} pub_any6 { ${key} }\n` : '');
      return `create element ${T} ${map} { ${key} comment ${q(container)} : ${q(ip).slice(1, -1)} . ${p.containerPort} }\n`
        + (v6 ? `create element ${T} pub_any6 { ${key} comment ${q(container)} : ${q(ip6).slice(1, -1)} . ${p.containerPort} }\n` : '');
    })
    .join('');
}

export function deleteTable(table: string): string {
  return `delete table inet ${checkTableName(table)}\n`;
}

// ---- running nft ------------------------------------------------------------------------------

// read when used, not at load (see netlink.ts helperPath)
const nftPath = () => process.env.BERTH_NFT ?? 'nft';

function nft(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => reject(system(`cannot run ${nftPath()} (install nftables): ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
    child.stdin.end(input ?? '');
  });
}

/** Applies a script as one transaction: all of it or nothing. */
export async function apply(script: string): Promise<void> {
  if (!script.trim()) return;
  const r = await nft(['-f', '-'], script);
  if (r.code !== 0) {
    const msg = r.err.split('\n').filter((l) => l.trim() && !/^\s*\^+\s*$/.test(l)).slice(0, 4).join('; ');
    if (/File exists/.test(r.err)) throw conflict(`nftables: ${msg}`);
    throw system(`nftables: ${msg || `nft exited with ${r.code}`}`);
  }
}

export interface TableState {
  exists: boolean;
  bridges: string[];
  internal: string[];
  /** Port map elements: map, key text (as nft -f takes it), container id (the comment). */
  ports: { map: 'pub_any4' | 'pub_ip4' | 'pub_any6'; key: string; container: string }[];
}

type Json = Record<string, unknown>;

/** Reads berth's table (nft -j), for reconcile. */
export async function readTable(table: string): Promise<TableState> {
  const r = await nft(['-j', 'list', 'table', 'inet', checkTableName(table)]);
  const st: TableState = { exists: false, bridges: [], internal: [], ports: [] };
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.err)) return st;
    throw system(`nftables: ${r.err.trim()}`);
  }
  st.exists = true;
  const items = (JSON.parse(r.out) as { nftables: Json[] }).nftables;
  for (const it of items) {
    const set = (it.set ?? it.map) as Json | undefined;
    if (!set || !Array.isArray(set.elem)) continue;
    const name = set.name as string;
    for (const e of set.elem as unknown[]) {
      if (name === 'bridges' || name === 'internal') {
        if (typeof e === 'string') (name === 'bridges' ? st.bridges : st.internal).push(e);
      } else if (name === 'pub_any4' || name === 'pub_ip4' || name === 'pub_any6') {
        const [k] = e as [Json, unknown];
        const inner = (k.elem ?? k) as Json;
        const val = (inner.val ?? inner) as Json;
        const concat = (val.concat ?? []) as (string | number)[];
        st.ports.push({ map: name, key: concat.join(' . '), container: String(inner.comment ?? '') });
      }
    }
  }
  return st;
}

/** Deletes map/set elements by key (as readTable reports them). */
export function deleteElements(table: string, els: { map: string; key: string }[]): string {
  const T = `inet ${checkTableName(table)}`;
  return els.map((e) => `delete element ${T} ${e.map} { ${e.key} }\n`).join('');
}
