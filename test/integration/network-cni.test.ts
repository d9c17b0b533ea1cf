// CNI delegation with Debian's containernetworking-plugins: a network whose driver is "cni"
// (bridge + host-local, chained with tuning) gives a container (berth-oci + busybox httpd) an
// address the host reaches it at; CHECK passes; DEL removes the veth, the address and the cached
// result; a chain failing part way leaves nothing. Unique names; the bridge the plugin made is
// removed at the end (CNI plugins never delete bridges).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBundle, oci, type Bundle } from '../helpers/bundle.js';
import { addNetns, httpGet, runDetached, subnetPicker } from '../helpers/network.js';
import { contains, parseCidr, parseIPv4 } from '../../src/network/cidr.js';
import { CniError } from '../../src/network/cni.js';
import { isNetworkError } from '../../src/network/errors.js';
import { bridgePorts, linkExists } from '../../src/network/host.js';
import { NetworkManager, type Network } from '../../src/network/index.js';

const run36 = (process.pid % 1296).toString(36).padStart(2, '0');
const TAG = `c${run36}${Date.now().toString(36).slice(-3)}`;
const BRIDGE = `bc${TAG}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-netcni-'));
const IPAM_DIR = join(dir, 'host-local');
const netnses: string[] = [];
const bundles: Bundle[] = [];
let m: NetworkManager;
let net: Network;
let SUBNET: string;

const freeSubnet = subnetPicker(200, 50);

const netns = (name: string): string => addNetns(name, netnses);

function conflist(name: string, extra: object[] = [{ type: 'tuning', mtu: 1280 }]) {
  return {
    cniVersion: '1.0.0', name,
    plugins: [
      {
        type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false, dns: { nameservers: ['10.9.9.9'], search: ['cni.test'] },
        ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: IPAM_DIR },
      },
      ...extra,
    ],
  };
}

/** host-local's allocations: one file per address in <dataDir>/<network name>/. */
function allocated(name: string): string[] {
  try {
    return readdirSync(join(IPAM_DIR, name)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
}

before(async () => {
  SUBNET = freeSubnet();
  m = new NetworkManager({ configDir: join(dir, 'config'), runDir: join(dir, 'run'), table: `berth_testcni_${TAG}`, defaultBridge: `bt${TAG}`, vethPrefix: `by${run36}` });
  const file = join(dir, 'net.conflist');
  writeFileSync(file, JSON.stringify(conflist(`berth-test-${TAG}`)));
  net = await m.create({ name: `${TAG}-cni`, driver: 'cni', cni: file, labels: { test: TAG } });
});

after(async () => {
  for (const b of bundles) b.cleanup();
  await m?.destroyAll().catch(() => {});
  for (const n of netnses) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

describe('CNI networks', () => {
  test('create: a definition only, listed with driver cni; bad conflists are refused', async () => {
    assert.equal(net.driver, 'cni');
    assert.equal(net.subnet, SUBNET, 'the subnet as the conflist\'s ipam section says');
    assert.ok(m.list({ label: `test=${TAG}` }).some((n) => n.id === net.id));
    assert.equal(m.inspect(net.name).containers.length, 0);
    assert.ok(!linkExists(BRIDGE), 'nothing made before the first attach');
    const bad: [object | string, RegExp][] = [
      ['{"cniVersion":"1.0.0"', /not valid JSON/],
      [join(dir, 'missing.conflist'), /does not exist/],
      [{ cniVersion: '1.0.0', name: 'x', plugins: [] }, /"plugins" must be a non-empty list/],
      [{ cniVersion: '1.0.0', name: 'x', plugins: [{ type: '../bin/sh' }] }, /plugins\[0\]\.type/],
      [{ cniVersion: 'one', name: 'x', plugins: [{ type: 'bridge' }] }, /cniVersion/],
      [{ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'no-such-plugin' }] }, /not found in \/usr\/lib\/cni/],
      [conflist(`berth-test-${TAG}`), /already uses the conflist name/],
    ];
    for (const [cni, re] of bad) await assert.rejects(m.create({ name: `${TAG}-bad`, driver: 'cni', cni }), re, String(re));
    await assert.rejects(m.create({ name: `${TAG}-bad`, driver: 'cni' }), /needs its conflist/);
    await assert.rejects(m.create({ name: `${TAG}-bad`, driver: 'cni', cni: conflist('y'), subnet: '10.1.0.0/24' }), /takes its addresses from its conflist/);
    assert.ok(!m.list().some((n) => n.name === `${TAG}-bad`));
  });

  test('ADD gives the container an address the host reaches; CHECK passes; DEL removes everything', async () => {
    const id = `${TAG}-web`;
    const path = netns(id);
    const a = await m.attach(id, path, { network: net.name, name: 'web' });
    assert.ok(contains(parseCidr(SUBNET), parseIPv4(a.ip)), `${a.ip} in ${SUBNET}`);
    assert.equal(a.ifname, 'eth0');
    assert.equal(a.prefixLen, 24);
    assert.deepEqual(allocated(`berth-test-${TAG}`), [a.ip], 'host-local holds the address');
    const link = execFileSync('ip', ['-n', id, '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' });
    assert.match(link, /mtu 1280/, 'the chained tuning plugin ran with the bridge plugin\'s result as prevResult');
    assert.equal(bridgePorts(BRIDGE).length, 1);
    assert.match(readFileSync(a.hostsFile, 'utf8'), new RegExp(`${a.ip}\\t`));
    assert.match(readFileSync(a.resolvConf, 'utf8'), /nameserver 10\.9\.9\.9[^]*search cni\.test|search cni\.test[^]*nameserver 10\.9\.9\.9/, 'the result\'s DNS');
    assert.deepEqual(m.inspect(net.name).containers.map((c) => c.ip), [a.ip]);
    await m.check(id);

    const b = makeBundle(['httpd', '-f', '-p', '80', '-h', '/www'], (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network').concat({ type: 'network', path });
    });
    bundles.push(b);
    mkdirSync(join(b.rootfs, 'www'));
    writeFileSync(join(b.rootfs, 'www', 'index.html'), 'hello over cni\n');
    runDetached(b);
    let body = '';
    for (let i = 0; i < 100 && !body; i++) {
      body = await httpGet(a.ip, 80, 500).catch(() => '');
      if (!body) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(body, 'hello over cni\n');
    await assert.rejects(m.remove(net.name), (e) => isNetworkError(e, 'inuse'));

    oci(b, ['delete', '--force', b.id]);
    await m.detach(id);
    assert.deepEqual(allocated(`berth-test-${TAG}`), [], 'DEL released the address');
    assert.equal(bridgePorts(BRIDGE).length, 0, 'DEL removed the veth');
    assert.doesNotMatch(execFileSync('ip', ['-n', id, '-o', 'link'], { encoding: 'utf8' }), /eth0/);
    assert.deepEqual(readdirSync(join(dir, 'config', 'cni-results')), [], 'the cached result is gone');
    await assert.rejects(httpGet(a.ip, 80, 1000));
    await m.detach(id); // idempotent
  });

  test('reconcile DELs attachments whose container is gone, also without an endpoint record', async () => {
    const id = `${TAG}-crash`;
    const path = netns(id);
    const a = await m.attach(id, path, { network: net.name });
    assert.deepEqual(allocated(`berth-test-${TAG}`), [a.ip]);
    rmSync(join(dir, 'run', 'endpoints', `${id}.json`)); // berth died right after the plugins' ADD
    const r = await m.reconcile([]);
    assert.ok(r.containers.includes(id), JSON.stringify(r));
    assert.deepEqual(allocated(`berth-test-${TAG}`), []);
    assert.equal(bridgePorts(BRIDGE).length, 0);
    assert.deepEqual(readdirSync(join(dir, 'config', 'cni-results')), []);
  });

  test('a chain failing part way is undone: no address, no veth, no cached result', async () => {
    const name = `berth-test-${TAG}-f`;
    const bad = await m.create({ name: `${TAG}-fail`, driver: 'cni', cni: conflist(name, [{ type: 'tuning', sysctl: { 'net.ipv4.no_such_key': '1' } }]) });
    const id = `${TAG}-f`;
    const path = netns(id);
    await assert.rejects(m.attach(id, path, { network: bad.name }), (e) => e instanceof CniError && /tuning ADD failed/.test(e.message));
    assert.deepEqual(allocated(name), []);
    assert.equal(bridgePorts(BRIDGE).length, 0);
    assert.doesNotMatch(execFileSync('ip', ['-n', id, '-o', 'link'], { encoding: 'utf8' }), /eth0/);
    assert.deepEqual(readdirSync(join(dir, 'config', 'cni-results')), []);
    assert.equal(m.inspect(bad.name).containers.length, 0);
    await m.remove(bad.name);
    await m.remove(net.name);
    assert.ok(!m.list().some((n) => n.driver === 'cni' && n.labels.test === TAG));
    assert.ok(!existsSync(join(dir, 'run', 'endpoints', `${id}.json`)));
  });
});
