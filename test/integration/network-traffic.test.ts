// Real traffic between real containers (berth-oci + busybox), each in a netns the test made
// with `ip netns add` and wired with NetworkManager.attach -- as the engine and the CRI do.
// Everything stays on this machine: an "outside" netns behind a veth stands in for the world.
// Every name (netns, bridges, veths, nft table, ports) is unique to this run, and the last test
// asserts that nothing of it is left in `ip link` or `nft list ruleset`.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import { addNetns, freePort, hostIp, httpGet, makeOutside, runDetached, subnetPicker } from '../helpers/network.js';
import { formatIPv4, parseCidr } from '../../src/network/cidr.js';
import { isNetworkError } from '../../src/network/errors.js';
import { listLinks } from '../../src/network/host.js';
import { NetworkManager, type AttachResult, type Network } from '../../src/network/index.js';

const run36 = (process.pid % 1296).toString(36).padStart(2, '0');
const TAG = `n${run36}${Date.now().toString(36).slice(-3)}`; // unique per run, short (link names are 15 chars)
const VETH = `bv${run36}`;
const TABLE = `berth_test_${TAG}`;
const DEFAULT_BRIDGE = `bt${TAG}`;
const OUT_LINK = `bo${TAG}`;
const OUT_NS = `${TAG}-out`;
const dir = mkdtempSync(join(tmpdir(), 'berth-net-'));
const netnses: string[] = [];
const bundles: Bundle[] = [];
const servers: ChildProcess[] = [];
let m: NetworkManager;
let netA: Network;
let netB: Network;
let netI: Network;
let outside: { hostIp: string; outIp: string };
let web: AttachResult;
let webId: string;
let PORT: number;

/** A /24 (or smaller) in 10.200-249.x that no host route or earlier pick overlaps. */
const freeSubnet = subnetPicker(200, 50);
const netns = (name: string) => addNetns(name, netnses);

/** A busybox bundle joining netns `path`, with the generated /etc files bind-mounted. */
function bundle(args: string[], path: string, files?: AttachResult, hostname?: string): Bundle {
  const b = makeBundle(args, (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network').concat({ type: 'network', path });
    if (hostname) s.hostname = hostname;
    if (files) {
      for (const [src, dst] of [[files.hostsFile, '/etc/hosts'], [files.resolvConf, '/etc/resolv.conf'], [files.hostnameFile, '/etc/hostname']] as const) {
        s.mounts!.push({ destination: dst, type: 'bind', source: src, options: ['rbind', 'ro'] });
      }
    }
  });
  bundles.push(b);
  return b;
}

/** A container running `script` in netns `path` on the network of `files`; its output and status. */
let clientN = 0;
/** HTTP GET over nc (Debian's static busybox wget crashes at start on this machine). */
const GET = `get() { printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w "\${3:-3}" "$1" "\${2:-80}"; }; `;
async function client(network: string, script: string, opts: { aliases?: string[] } = {}) {
  const id = `${TAG}-cl${clientN++}`;
  const path = netns(id);
  const files = await m.attach(id, path, { network, name: id, ...opts });
  try {
    const r = runIn(bundle(['sh', '-c', GET + script], path, files));
    return { ...r, ip: files.ip };
  } finally {
    await m.detach(id);
  }
}

before(async () => {
  m = new NetworkManager({
    configDir: join(dir, 'config'), runDir: join(dir, 'run'), table: TABLE, defaultBridge: DEFAULT_BRIDGE,
    defaultSubnet: freeSubnet(), subnetPool: '10.250.0.0/16', vethPrefix: VETH, bridgePrefix: `b${TAG}`,
    resolvConf: join(dir, 'resolv.conf'), // no upstreams: names the networks do not know are not sent anywhere
  });
  writeFileSync(join(dir, 'resolv.conf'), '# no upstream resolvers in tests\n');
  netA = await m.create({ name: `${TAG}-a`, subnet: freeSubnet() });
  netB = await m.create({ name: `${TAG}-b`, subnet: freeSubnet() });
  netI = await m.create({ name: `${TAG}-i`, subnet: freeSubnet(), internal: true });
  // The outside: a netns behind a veth, with an httpd on port 8080.
  const out = parseCidr(freeSubnet(30));
  outside = { hostIp: formatIPv4(out.base + 1), outIp: formatIPv4(out.base + 2) };
  netnses.push(OUT_NS);
  servers.push(makeOutside({ ns: OUT_NS, link: OUT_LINK, hostAddr: outside.hostIp, outAddr: outside.outIp, prefix: 30, www: join(dir, 'out-www'), body: 'hello from outside\n' }));

  // "web" on network A: httpd, with alias "www" and a published port.
  PORT = await freePort();
  webId = `${TAG}-web`;
  const path = netns(webId);
  web = await m.attach(webId, path, { network: netA.name, name: 'web', aliases: ['www'], ports: [`${PORT}:80`, `127.0.0.1:${PORT + 1}:80`] });
  const b = bundle(['httpd', '-f', '-p', '80', '-h', '/www'], path, web, 'web');
  mkdirSync(join(b.rootfs, 'www'));
  writeFileSync(join(b.rootfs, 'www', 'index.html'), 'hello from web\n');
  runDetached(b);
  // wait until httpd answers (from the host, through the published port)
  for (let i = 0; i < 100; i++) {
    if (await httpGet('127.0.0.1', PORT, 500).then(() => true, () => false)) break;
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

describe('network traffic', () => {
  test('two containers on one network reach each other by name and alias', async () => {
    const r = await client(netA.name, `cat /etc/hosts; nslookup web; echo ---; get www; get web 80; echo ---; get ${hostIp()} ${PORT}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Address:? ${web.ip.replace(/\./g, '\\.')}`));
    assert.equal(r.stdout.split('---')[1]!.match(/200 OK[^]*?hello from web/g)?.length, 2, r.stdout);
    assert.match(r.stdout.split('---')[2]!, /hello from web/, 'its published port, through the host (hairpin)');
    assert.match(r.stdout, new RegExp(`${r.ip.replace(/\./g, '\\.')}\\t`), 'own address in /etc/hosts');
    assert.match(readFileSync(web.resolvConf, 'utf8'), new RegExp(`nameserver ${netA.gateway.replace(/\./g, '\\.')}`));
  });

  test('a published port answers on the host address, on 127.0.0.1 and from another netns', async () => {
    assert.deepEqual(web.ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`), [`0.0.0.0:${PORT}->80/tcp`, `127.0.0.1:${PORT + 1}->80/tcp`]);
    assert.equal(await httpGet('127.0.0.1', PORT), 'hello from web\n');
    assert.equal(await httpGet(hostIp(), PORT), 'hello from web\n');
    // from another netns (the outside), to the host's address on its link
    const fromOut = spawnSync('ip', ['netns', 'exec', OUT_NS, 'busybox', 'nc', '-w', '3', outside.hostIp, String(PORT)], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 10000 });
    assert.match(fromOut.stdout, /200 OK[^]*hello from web\n$/, fromOut.stderr);
    // a 127.0.0.1 publication answers there only
    assert.equal(await httpGet('127.0.0.1', PORT + 1), 'hello from web\n');
    await assert.rejects(httpGet(hostIp(), PORT + 1, 1500));
    assert.deepEqual(m.ports(webId), web.ports);
  });

  test('a container on another network cannot reach the first; its resolver does not know it', async () => {
    const r = await client(netB.name, `get ${web.ip} 80 2 && echo REACHED; nslookup web >/dev/null 2>&1 && echo RESOLVED; nslookup web ${netA.gateway} >/dev/null 2>&1 && echo ASKED-A; echo done`);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /REACHED|RESOLVED|ASKED-A|hello/, 'no route, no name, and the resolver of network A refuses it');
    // but it reaches the outside and its own network's gateway resolver works
    const ok = await client(netB.name, `get ${outside.outIp} 8080; echo ---; get ${hostIp()} ${PORT}`);
    assert.match(ok.stdout.split('---')[0]!, /hello from outside\n$/, ok.stderr);
    // a published port is public: other networks reach it through the host, like anyone else
    assert.match(ok.stdout.split('---')[1]!, /hello from web/, ok.stderr);
  });

  test('an internal network has no route out', async () => {
    const r = await client(netI.name, `ip route; get ${outside.outIp} 8080 2 && echo REACHED; echo done`);
    assert.doesNotMatch(r.stdout, /default/);
    assert.doesNotMatch(r.stdout, /REACHED|hello/);
    assert.match(r.stdout, /done/);
    // even with a default route added by hand, forwarding out of an internal bridge is dropped
    const id = `${TAG}-int`;
    const path = netns(id);
    const a = await m.attach(id, path, { network: netI.name });
    try {
      execFileSync('ip', ['-n', id, 'route', 'add', 'default', 'via', netI.gateway]);
      const t = spawnSync('ip', ['netns', 'exec', id, 'busybox', 'nc', '-w', '2', outside.outIp, '8080'], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8', timeout: 10000 });
      assert.notEqual(t.status, 0);
      assert.equal(t.stdout, '');
      assert.match(a.ip, /^10\./);
    } finally {
      await m.detach(id);
    }
  });

  test('bridge port isolation: containers of an isolated network cannot talk to each other', async () => {
    const iso = await m.create({ name: `${TAG}-iso`, subnet: freeSubnet(), options: { isolate: 'true' } });
    try {
      const id = `${TAG}-isoweb`;
      const path = netns(id);
      const a = await m.attach(id, path, { network: iso.name, name: 'isoweb' });
      const b = bundle(['httpd', '-f', '-p', '80', '-h', '/'], path, a);
      runDetached(b);
      try {
        const r = await client(iso.name, `nslookup isoweb >/dev/null && echo RESOLVED; get ${a.ip} 80 2 && echo REACHED; get ${outside.outIp} 8080`);
        assert.match(r.stdout, /RESOLVED/, 'the gateway (resolver) is reachable');
        assert.doesNotMatch(r.stdout, /REACHED/);
        assert.match(r.stdout, /hello from outside/, 'egress works');
      } finally {
        oci(b, ['delete', '--force', b.id]);
        await m.detach(id);
      }
    } finally {
      await m.remove(iso.name);
    }
  });

  test('connect and disconnect: eth1 comes and goes, /etc/hosts follows, one default route', async () => {
    const id = `${TAG}-multi`;
    const path = netns(id);
    const a = await m.attach(id, path, { network: netA.name, name: 'multi', hostname: 'multi' });
    try {
      const b = await m.connect(netB.name, id, { aliases: ['m2'] });
      assert.equal(b.ifname, 'eth1');
      const addrs = execFileSync('ip', ['-n', id, '-4', '-o', 'addr'], { encoding: 'utf8' });
      assert.match(addrs, new RegExp(`eth0\\s+inet ${a.ip.replace(/\./g, '\\.')}/`));
      assert.match(addrs, new RegExp(`eth1\\s+inet ${b.ip.replace(/\./g, '\\.')}/`));
      assert.equal(execFileSync('ip', ['-n', id, 'route', 'show', 'default'], { encoding: 'utf8' }).trim().split('\n').length, 1);
      assert.match(readFileSync(a.hostsFile, 'utf8'), new RegExp(`${b.ip.replace(/\./g, '\\.')}\tmulti`));
      assert.deepEqual(m.endpoints(id).map((e) => e.network), [netA.name, netB.name]);
      await assert.rejects(m.connect(netB.name, id), /already connected/);
      await m.disconnect(netB.name, id);
      assert.doesNotMatch(execFileSync('ip', ['-n', id, 'link'], { encoding: 'utf8' }), /eth1/);
      assert.doesNotMatch(readFileSync(a.hostsFile, 'utf8'), new RegExp(b.ip.replace(/\./g, '\\.')));
      assert.equal(m.inspect(netB.name).containers.length, 0);
    } finally {
      await m.detach(id);
    }
    // --network none: loopback only
    const nid = `${TAG}-none`;
    const npath = netns(nid);
    const n = await m.attach(nid, npath, { network: 'none' });
    assert.equal(n.ip, '');
    assert.match(execFileSync('ip', ['-n', nid, 'link', 'show', 'lo'], { encoding: 'utf8' }), /UP/);
    assert.doesNotMatch(execFileSync('ip', ['-n', nid, '-o', 'link'], { encoding: 'utf8' }), /eth0/);
    await m.detach(nid);
  });

  test('20 parallel attaches get distinct addresses, each configured in its netns', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `${TAG}-p${i}`);
    const paths = ids.map((id) => netns(id));
    const rs = await Promise.all(ids.map((id, i) => m.attach(id, paths[i]!, { network: netA.name, name: id })));
    try {
      assert.equal(new Set(rs.map((r) => r.ip)).size, 20);
      assert.equal(new Set(rs.map((r) => r.mac)).size, 20);
      for (const [i, id] of ids.entries()) {
        const addr = execFileSync('ip', ['-n', id, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
        assert.match(addr, new RegExp(`inet ${rs[i]!.ip.replace(/\./g, '\\.')}/24`));
      }
      assert.equal(m.inspect(netA.name).containers.length, 21);
    } finally {
      await Promise.all(ids.map((id) => m.detach(id)));
    }
    assert.equal(m.inspect(netA.name).containers.length, 1);
  });

  test('bad input: a clear error and nothing half-made', async () => {
    const linksBefore = listLinks().filter((l) => l.startsWith(VETH)).sort();
    const ipsBefore = m.inspect(netA.name).containers.length;
    const id = `${TAG}-bad`;
    const path = netns(id);
    // a port another container publishes
    await assert.rejects(m.attach(id, path, { network: netA.name, ports: [`${PORT}:8080`] }), (e) => isNetworkError(e, 'conflict') && /port is already allocated \(published by container/.test(e.message));
    // a port a host process listens on
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const busy = (srv.address() as { port: number }).port;
    await assert.rejects(m.attach(id, path, { network: netA.name, ports: [`127.0.0.1:${busy}:80`] }), /a host process listens on 127\.0\.0\.1/);
    srv.close();
    // a failure after ports and address were taken (eth0 already exists in the netns): all rolled back
    execFileSync('ip', ['-n', id, 'link', 'add', 'eth0', 'type', 'bridge']);
    const spare = await freePort();
    await assert.rejects(m.attach(id, path, { network: netA.name, ports: [`${spare}:80`] }), /create veth .*EEXIST/);
    assert.equal(m.inspect(netA.name).containers.length, ipsBefore, 'address released');
    assert.deepEqual(listLinks().filter((l) => l.startsWith(VETH)).sort(), linksBefore, 'no veth left');
    assert.ok(!execFileSync('nft', ['list', 'table', 'inet', TABLE], { encoding: 'utf8' }).includes(`${spare}`), 'no port rule left');
    assert.deepEqual(m.ports(id), []);
    // bad input to networks
    await assert.rejects(m.create({ name: `${TAG}-x`, subnet: '10.1.2.3/16' }), (e) => isNetworkError(e, 'invalid') && /host bits are set/.test(e.message));
    await assert.rejects(m.create({ name: `${TAG}-x`, subnet: '10.1.2.0/33' }), /prefix length/);
    await assert.rejects(m.create({ name: `${TAG}-x`, subnet: netA.subnet }), (e) => isNetworkError(e, 'conflict') && /overlaps with network/.test(e.message));
    await assert.rejects(m.create({ name: netA.name }), /already exists/);
    await assert.rejects(m.create({ name: 'bridge' }), /reserved/);
    await assert.rejects(m.remove(netA.name), (e) => isNetworkError(e, 'inuse') && /in use by 1 container\(s\): web/.test(e.message));
    await assert.rejects(m.attach(id, path, { network: 'nosuchnet' }), (e) => isNetworkError(e, 'notfound'));
    await assert.rejects(m.attach(id, path, { network: netA.name, ip: netA.gateway }), /gateway/);
    await assert.rejects(m.attach(id, path, { network: netA.name, ports: ['80/icmp'] }), /invalid protocol/);
    assert.equal(m.inspect(netA.name).containers.length, ipsBefore);
  });

  test('reconcile after a crash removes links, rules and addresses of gone containers', async () => {
    const id = `${TAG}-crash`;
    const path = netns(id);
    const spare = await freePort();
    const a = await m.attach(id, path, { network: netB.name, ports: [`${spare}:80`], ip: netB.gateway.replace(/\.\d+$/, '.77') });
    assert.equal(a.ip, netB.gateway.replace(/\.\d+$/, '.77'));
    assert.match(execFileSync('nft', ['list', 'table', 'inet', TABLE], { encoding: 'utf8' }), new RegExp(`tcp \\. ${spare} comment "${id}"`));
    // the engine restarts: only web is still running
    const r = await m.reconcile([webId]);
    assert.ok(r.containers.includes(id));
    assert.doesNotMatch(execFileSync('nft', ['list', 'table', 'inet', TABLE], { encoding: 'utf8' }), new RegExp(`${spare}`));
    assert.equal(m.inspect(netB.name).containers.length, 0);
    assert.doesNotMatch(execFileSync('ip', ['-n', id, 'link'], { encoding: 'utf8' }), /eth0/);
    assert.equal(await httpGet('127.0.0.1', PORT), 'hello from web\n', 'web is untouched');
    // berth died between taking the pieces and writing the endpoint record: detach finds them by owner
    const id2 = `${TAG}-crash2`;
    const path2 = netns(id2);
    const spare2 = await freePort();
    await m.attach(id2, path2, { network: netB.name, ports: [`${spare2}:80`] });
    rmSync(join(dir, 'run', 'endpoints', `${id2}.json`));
    await m.detach(id2);
    assert.doesNotMatch(execFileSync('nft', ['list', 'table', 'inet', TABLE], { encoding: 'utf8' }), new RegExp(`${spare2}`));
    assert.equal(m.inspect(netB.name).containers.length, 0);
    assert.doesNotMatch(execFileSync('ip', ['-n', id2, 'link'], { encoding: 'utf8' }), /eth0/);
  });

  test('teardown leaves nothing of berth in ip link or nft list ruleset', async () => {
    for (const b of bundles) oci(b, ['delete', '--force', b.id]);
    await m.detach(webId);
    await assert.rejects(httpGet('127.0.0.1', PORT, 1000));
    for (const n of [netA, netB, netI]) await m.remove(n.name);
    assert.deepEqual(await m.prune(), []);
    await m.destroyAll();
    const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    for (const name of [netA.bridge, netB.bridge, netI.bridge, DEFAULT_BRIDGE, VETH]) assert.ok(!links.includes(name), `${name} left in ip link`);
    assert.ok(!execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).includes(TABLE), 'nft table left');
    assert.equal(spawnSync('pgrep', ['-f', join(dir, 'run', 'ipam')]).status, 1, 'no resolver process left');
  });
});
