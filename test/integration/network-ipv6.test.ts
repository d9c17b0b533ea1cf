// Dual-stack networks with real traffic: containers (berth-oci + busybox) in netnses the test
// made, wired with NetworkManager.attach on networks created with ipv6: true. Two containers
// reach each other over v6 by address and by AAAA name; a second v6 network cannot reach the
// first; egress over v6 is masqueraded (the "outside" netns has no route back to the container
// subnet, so an answer proves it); a published port answers on the host's v6 address. Every
// name is unique to this run and the last test asserts that nothing is left.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import { addNetns, freePort as freePortOn, httpGet, makeOutside, runDetached, subnetPicker } from '../helpers/network.js';
import { formatCidr6, formatIPv6, parseCidr6 } from '../../src/network/cidr6.js';
import { isNetworkError } from '../../src/network/errors.js';
import { NetworkManager, type AttachResult, type Network } from '../../src/network/index.js';

const run36 = (process.pid % 1296).toString(36).padStart(2, '0');
const TAG = `s${run36}${Date.now().toString(36).slice(-3)}`;
const VETH = `bw${run36}`;
const TABLE = `berth_test6_${TAG}`;
const OUT_LINK = `bo${TAG}`;
const OUT_NS = `${TAG}-out`;
const dir = mkdtempSync(join(tmpdir(), 'berth-net6-'));
const netnses: string[] = [];
const bundles: Bundle[] = [];
const servers: ChildProcess[] = [];
let m: NetworkManager;
let netA: Network;
let netB: Network;
let web: AttachResult;
let webId: string;
let PORT: number;
/** The outside's v6 address (behind OUT_LINK). */
let OUT6: string;
/** The host's address on OUT_LINK. */
let HOST6: string;

const freeSubnet = subnetPicker(200, 50);
/** A random ULA /64 (collisions with anything on this machine: 1 in 2^56). */
function freeSubnet6(): string {
  const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
  return formatCidr6(parseCidr6(`fd${Math.floor(Math.random() * 256).toString(16).padStart(2, '0')}:${hex()}:${hex()}:${hex()}::/64`));
}

const freePort = () => freePortOn('::');

const netns = (name: string): string => addNetns(name, netnses);

function bundle(args: string[], path: string, files?: AttachResult): Bundle {
  const b = makeBundle(args, (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network').concat({ type: 'network', path });
    // busybox ping needs a raw socket (docker's default set has CAP_NET_RAW too)
    const caps = s.process!.capabilities!;
    for (const k of ['bounding', 'effective', 'permitted'] as const) caps[k] = [...(caps[k] ?? []), 'CAP_NET_RAW'];
    if (files) {
      for (const [src, dst] of [[files.hostsFile, '/etc/hosts'], [files.resolvConf, '/etc/resolv.conf'], [files.hostnameFile, '/etc/hostname']] as const) {
        s.mounts!.push({ destination: dst, type: 'bind', source: src, options: ['rbind', 'ro'] });
      }
    }
  });
  bundles.push(b);
  return b;
}

let clientN = 0;
const GET = `get() { printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w "\${3:-3}" "$1" "\${2:-80}"; }; `;
async function client(network: string, script: string) {
  const id = `${TAG}-cl${clientN++}`;
  const path = netns(id);
  const files = await m.attach(id, path, { network, name: id });
  try {
    const r = runIn(bundle(['sh', '-c', GET + script], path, files));
    return { ...r, files };
  } finally {
    await m.detach(id);
  }
}

/** The host's own global v6 address (not one of this test's links), or undefined. */
function hostIp6(): string | undefined {
  return execFileSync('ip', ['-6', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' })
    .split('\n').map((l) => /^\d+: (\S+)\s+inet6 (\S+)\//.exec(l)).find((x) => x && x[1] !== OUT_LINK && !x[1]!.startsWith('b'))?.[2];
}

before(async () => {
  m = new NetworkManager({
    configDir: join(dir, 'config'), runDir: join(dir, 'run'), table: TABLE, defaultBridge: `bt${TAG}`,
    defaultSubnet: freeSubnet(), subnetPool: '10.251.0.0/16', vethPrefix: VETH, bridgePrefix: `b${TAG}`,
    resolvConf: join(dir, 'resolv.conf'),
  });
  writeFileSync(join(dir, 'resolv.conf'), '# no upstream resolvers in tests\n');
  netA = await m.create({ name: `${TAG}-a`, subnet: freeSubnet(), ipv6: true, subnet6: freeSubnet6() });
  // docker's spelling: the v6 CIDR in --subnet (the v4 subnet then comes from the pool)
  netB = await m.create({ name: `${TAG}-b`, ipv6: true, subnet: freeSubnet6() });

  // The outside over v6 only: a netns behind a veth, an httpd on [::]:8080, no route back to
  // the containers' subnets.
  const out = parseCidr6(freeSubnet6());
  const host6 = (HOST6 = formatIPv6(out.base + 1n));
  OUT6 = formatIPv6(out.base + 2n);
  netnses.push(OUT_NS);
  servers.push(makeOutside({ ns: OUT_NS, link: OUT_LINK, hostAddr: host6, outAddr: OUT6, prefix: 64, www: join(dir, 'out-www'), body: 'hello from outside6\n' }));

  PORT = await freePort();
  webId = `${TAG}-web`;
  const path = netns(webId);
  web = await m.attach(webId, path, { network: netA.name, name: 'web6', aliases: ['www6'], ports: [`${PORT}:80`] });
  const b = bundle(['httpd', '-f', '-p', '80', '-h', '/www'], path, web);
  mkdirSync(join(b.rootfs, 'www'));
  writeFileSync(join(b.rootfs, 'www', 'index.html'), 'hello from web6\n');
  runDetached(b);
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('ip', ['netns', 'exec', webId, 'busybox', 'nc', '-w', '1', web.ip6!, '80'], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 5000 });
    if (/hello/.test(r.stdout)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  for (const s of servers) s.kill('SIGKILL');
  for (const b of bundles) b.cleanup();
  await m?.destroyAll().catch(() => {});
  spawnSync('ip', ['link', 'del', OUT_LINK], { stdio: 'ignore' });
  for (const n of netnses) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

describe('IPv6 (dual-stack) networks', () => {
  test('networks are dual-stack: a v6 subnet and gateway, addresses in IPAM and on eth0', () => {
    assert.equal(netA.ipv6, true);
    assert.ok(netA.subnet6 && netA.gateway6);
    assert.match(netB.subnet, /^10\.251\./, '--subnet with a v6 CIDR: the v4 subnet comes from the pool');
    assert.ok(netB.subnet6?.endsWith('/64'));
    assert.ok(web.ip6 && web.prefixLen6 === 64 && web.gateway6 === netA.gateway6, JSON.stringify(web));
    assert.equal(m.inspect(netA.name).containers.find((c) => c.container === webId)?.ip6, web.ip6);
    const addrs = execFileSync('ip', ['-n', webId, '-6', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    assert.match(addrs, new RegExp(`inet6 ${web.ip6}/64 scope global`));
    assert.doesNotMatch(addrs.split('\n').filter((l) => l.includes(web.ip6!)).join(''), /tentative/);
    assert.match(execFileSync('ip', ['-n', webId, '-6', 'route', 'show', 'default'], { encoding: 'utf8' }), new RegExp(`via ${netA.gateway6}`));
    assert.match(readFileSync(web.hostsFile, 'utf8'), new RegExp(`${web.ip6}\\t`));
  });

  test('two containers on one v6 network ping and connect to each other; AAAA names resolve', async () => {
    const r = await client(netA.name, `nslookup -type=aaaa web6; echo =====; ping -c 1 -W 3 ${web.ip6}; echo =====; get ${web.ip6} 80; echo =====; get www6 80`);
    const [dns, ping, byAddr, byName] = r.stdout.split('=====');
    assert.match(dns!, new RegExp(`Address:? ${web.ip6!.replace(/:/g, ':')}`), r.stdout + r.stderr);
    assert.match(ping!, /1 packets received/, r.stdout);
    assert.match(byAddr!, /200 OK[^]*hello from web6/, r.stdout);
    assert.match(byName!, /hello from web6/, 'the alias resolves (A over a v4 resolver address) and answers');
    assert.ok(r.files.ip6 && r.files.ip6 !== web.ip6);
  });

  test('a container on another v6 network cannot reach the first, but its v6 egress is masqueraded', async () => {
    const r = await client(netB.name, `ping -c 1 -W 2 ${web.ip6} >/dev/null 2>&1 && echo PINGED; get ${web.ip6} 80 2 && echo REACHED; echo =====; get ${OUT6} 8080`);
    const [iso, out] = r.stdout.split('=====');
    // the host routes v6 (else the isolation below would hold for want of routing, proving nothing)
    assert.equal(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim(), '1');
    assert.doesNotMatch(iso!, /PINGED|REACHED|hello/, r.stdout);
    assert.match(out!, /hello from outside6/, `egress over v6 (outside has no route back without masquerade): ${r.stdout}${r.stderr}`);
    // and the first network's containers reach the outside too
    const a = await client(netA.name, `get ${OUT6} 8080`);
    assert.match(a.stdout, /hello from outside6/);
  });

  test('a published port answers on the host\'s v6 address', async (t) => {
    const h = hostIp6();
    if (!h) return t.skip('the host has no global IPv6 address');
    assert.equal(await httpGet(h, PORT), 'hello from web6\n');
    // from another netns (the outside), to the host's v6 address on its link
    const fromOut = spawnSync('ip', ['netns', 'exec', OUT_NS, 'busybox', 'nc', '-w', '3', HOST6, String(PORT)], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 10000 });
    assert.match(fromOut.stdout, /hello from web6/, fromOut.stderr);
  });

  test('an internal dual-stack network gets v6 addresses but no v6 route out', async () => {
    const netI = await m.create({ name: `${TAG}-i`, subnet: freeSubnet(), ipv6: true, internal: true });
    try {
      const r = await client(netI.name, `ip -6 route; echo =====; get ${OUT6} 8080 2 && echo REACHED; echo done`);
      assert.ok(r.files.ip6, 'a v6 address');
      assert.equal(r.files.gateway6, '');
      const [routes, out] = r.stdout.split('=====');
      assert.doesNotMatch(routes!, /default/, r.stdout);
      assert.doesNotMatch(out!, /REACHED|hello/);
      assert.match(out!, /done/);
    } finally {
      await m.remove(netI.name);
    }
  });

  test('static --ip6, release on detach, and bad input', async () => {
    const id = `${TAG}-st`;
    const path = netns(id);
    const want = formatIPv6(parseCidr6(netA.subnet6!).base + 0x99n);
    const a = await m.attach(id, path, { network: netA.name, ip6: want });
    assert.equal(a.ip6, want);
    await assert.rejects(m.attach(`${TAG}-st2`, netns(`${TAG}-st2`), { network: netA.name, ip6: want }), (e) => isNetworkError(e, 'conflict'));
    await m.detach(id);
    assert.ok(!m.inspect(netA.name).containers.some((c) => c.ip6 === want), 'released');
    await assert.rejects(m.create({ name: `${TAG}-x`, subnet: 'fd00:1::/64' }), /without --ipv6/);
    await assert.rejects(m.create({ name: `${TAG}-x`, ipv6: true, subnet6: 'fd00:1::1/64' }), /host bits are set/);
    await assert.rejects(m.create({ name: `${TAG}-x`, ipv6: true, subnet6: 'fd00:zz::/64' }), /invalid IPv6 subnet/);
    await assert.rejects(m.create({ name: `${TAG}-x`, ipv6: true, subnet6: netA.subnet6! }), (e) => isNetworkError(e, 'conflict') && /overlaps with network/.test((e as Error).message));
    await assert.rejects(m.attach(`${TAG}-st3`, netns(`${TAG}-st3`), { network: netA.name, ip6: 'fd00:zz::1' }), /invalid IPv6 address/);
    assert.equal(m.list().filter((n) => n.name === `${TAG}-x`).length, 0, 'nothing half-made');
  });

  test('teardown leaves nothing in ip link or nft list ruleset', async () => {
    for (const b of bundles) oci(b, ['delete', '--force', b.id]);
    await m.detach(webId);
    const st = execFileSync('nft', ['list', 'table', 'inet', TABLE], { encoding: 'utf8' });
    assert.doesNotMatch(st, new RegExp(web.ip6!), 'the v6 port element went with the container');
    for (const n of [netA, netB]) await m.remove(n.name);
    await m.destroyAll();
    const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    for (const name of [netA.bridge, netB.bridge, VETH]) assert.ok(!links.includes(name), `${name} left in ip link`);
    assert.ok(!execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).includes(TABLE), 'nft table left');
  });
});
