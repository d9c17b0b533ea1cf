// Through ./bin/berth (root, real traffic): `run --mac-address` (the container's interface
// carries it, a neighbour learns it by ARP, inspect and network inspect show it, a second
// container cannot take it, bad ones are refused with 125), and the host-wide reconcile after a
// boot or a wiped /run: a container killed with kill -9 whose runtime records are gone (as after
// `rm -rf /run`) leaves a netns mount, a veth, a DNAT element and an address behind; the first
// container start (or network verb) of the next "boot" (the boot-id marker no longer matches) removes them and
// leaves a live container alone. Containers run the embedded `host` image (busybox-static).
// Names, subnets and ports are unique to this run; every container, network and root is removed.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { vethName } from '../../src/network/links.js';
import { REPO } from '../helpers/bundle.js';
import { freePort, hostIp, httpGet, subnetPicker } from '../helpers/network.js';

const BERTH = join(REPO, 'bin', 'berth');
const TAG = `gp${(process.pid % 1296).toString(36)}${Date.now().toString(36).slice(-3)}`;
const LABEL = `test=${TAG}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-net-gaps-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-g${process.pid}`;
const NET_RUN = '/run/berth/network';
const freeSubnet = subnetPicker(100, 20);
const networks = new Set<string>();

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], o: { root?: string; stateRoot?: string } = {}): R {
  const r = spawnSync(BERTH, ['--root', o.root ?? root, '--state-root', o.stateRoot ?? stateRoot, ...args], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ok = (r: R, what = '') => {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};

/** A detached busybox httpd answering "hello from NAME". */
function web(name: string, ...flags: string[]): string {
  return ok(cli(['run', '-d', '--name', name, ...flags, 'host', 'sh', '-c',
    `mkdir -p /tmp/www && echo "hello from ${name}" > /tmp/www/index.html && exec busybox httpd -f -p 80 -h /tmp/www`]), `run ${name}`);
}

const inspect = (ref: string, o: { root?: string } = {}) => JSON.parse(ok(cli(['inspect', ref], o)))[0];
const linkExists = (l: string) => existsSync(`/sys/class/net/${l}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, f: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

/** The elements of berth's DNAT map for any host address, as "proto . port" -> container id (the comment). */
function natElements(): Map<string, string> {
  const out = new Map<string, string>();
  const r = spawnSync('nft', ['-j', 'list', 'map', 'inet', 'berth', 'pub_any4'], { encoding: 'utf8' });
  if (r.status !== 0) return out;
  for (const it of JSON.parse(r.stdout).nftables as any[]) {
    for (const e of it.map?.elem ?? []) {
      const k = e[0]?.elem ?? e[0];
      out.set((k.val?.concat ?? []).join(' . '), String(k.comment ?? ''));
    }
  }
  return out;
}

before(() => mkdirSync(root, { recursive: true }));

after(() => {
  for (const c of cli(['ps', '-a', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean)) cli(['rm', '-f', c]);
  for (const n of networks) cli(['network', 'rm', n]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('engine networking gaps (--mac-address, reconcile after a boot)', () => {
  test('--mac-address: on the interface, learnt by a neighbour over ARP, in inspect; taken or bad ones refused', async () => {
    const net = `${TAG}-mac`;
    ok(cli(['network', 'create', '--label', LABEL, '--subnet', freeSubnet(), net]), 'network create');
    networks.add(net);
    const mac = '92:d0:c6:0a:29:33';
    const srv = `${TAG}-srv`;
    // upper case and "-" separators are taken (docker's forms), shown canonical
    web(srv, '--network', net, '--mac-address', mac.toUpperCase().replaceAll(':', '-'));
    const ins = inspect(srv);
    assert.equal(ins.NetworkSettings.MacAddress, mac);
    assert.equal(ins.NetworkSettings.Networks[net].MacAddress, mac);
    const ip: string = ins.NetworkSettings.Networks[net].IPAddress;
    const members = JSON.parse(ok(cli(['network', 'inspect', net, '--format', '{{json .Containers}}'])));
    assert.deepEqual(Object.values(members).map((m: any) => m.MacAddress), [mac]);

    // the client talks to it by name; its ARP table then holds the server's address with the MAC
    const r = cli(['run', '--rm', '--network', net, 'host', 'sh', '-c',
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 ${srv} 80; echo ---; cat /sys/class/net/eth0/address; cat /proc/net/arp`]);
    assert.equal(r.status, 0, r.stderr);
    const [reply, rest] = r.stdout.split('---\n');
    assert.match(reply!, new RegExp(`200 OK[^]*hello from ${srv}`));
    const [clientMac, ...arp] = rest!.trim().split('\n');
    assert.match(clientMac!, /^02:42:/, 'a container without --mac-address keeps the derived MAC');
    assert.ok(arp.some((l) => l.startsWith(`${ip} `) && l.includes(` ${mac} `)), `ARP entry ${ip} -> ${mac} in:\n${arp.join('\n')}`);
    // inside the server too
    assert.equal(ok(cli(['exec', srv, 'cat', '/sys/class/net/eth0/address'])), mac);

    // the same MAC on the same network: refused at start, the first keeps working
    const dup = cli(['run', '--rm', '--network', net, '--mac-address', mac, 'host', 'true']);
    assert.equal(dup.status, 125, dup.stderr);
    assert.match(dup.stderr, /MAC address 92:d0:c6:0a:29:33 is already in use/);
    assert.equal(await httpGet(ip, 80), `hello from ${srv}\n`);

    // the default bridge takes one too
    const def = cli(['run', '--rm', '--mac-address', '02:00:5e:10:00:01', 'host', 'cat', '/sys/class/net/eth0/address']);
    assert.equal(def.stdout.trim(), '02:00:5e:10:00:01', def.stderr);

    for (const [flags, re] of [
      [['--mac-address', '01:00:5e:00:00:01'], /"--mac-address" flag: a multicast address/],
      [['--mac-address', 'ff:ff:ff:ff:ff:ff'], /multicast/],
      [['--mac-address', '00:00:00:00:00:00'], /all-zero/],
      [['--mac-address', '92:d0:c6:0a:29'], /expected six hex bytes/],
      [['--mac-address', '92:d0-c6:0a:29:33'], /expected six hex bytes/],
      [['--network', 'none', '--mac-address', '02:00:00:00:00:01'], /--mac-address and the network mode/],
      [['--network', 'host', '--mac-address', '02:00:00:00:00:01'], /--mac-address and the network mode/],
    ] as [string[], RegExp][]) {
      const name = `${TAG}-bad`;
      const b = cli(['run', '--rm', '--name', name, ...flags, 'host', 'true']);
      assert.equal(b.status, 125, `${flags.join(' ')}: ${b.stderr}`);
      assert.match(b.stderr, re);
      assert.equal(ok(cli(['ps', '-a', '-q', '--filter', `name=${name}`])), '', 'no container was made');
    }
    ok(cli(['rm', '-f', srv]));
  });

  test('after a boot or a wiped /run, the first network command removes what dead containers left; live ones keep theirs', async () => {
    const host = hostIp();
    const [deadPort, livePort] = [await freePort(), await freePort()];
    const dead = web(`${TAG}-dead`, '-p', `${deadPort}:80`);
    const live = web(`${TAG}-live`, '-p', `${livePort}:80`);
    await eventually('both answer on their published ports', async () =>
      (await httpGet(host, deadPort, 1000).catch(() => '')) === `hello from ${TAG}-dead\n` && (await httpGet(host, livePort, 1000).catch(() => '')) === `hello from ${TAG}-live\n`);
    const ins = inspect(dead);
    const netId: string = ins.NetworkSettings.Networks.bridge.NetworkID;
    const ip: string = ins.NetworkSettings.IPAddress;
    const veth = vethName('bv', netId, dead);
    const netns = join(NET_RUN, 'netns', dead);
    assert.ok(linkExists(veth) && existsSync(netns), 'the dead-to-be container has its veth and netns');
    assert.equal(natElements().get(`tcp . ${deadPort}`), dead);

    // kill -9 of its monitor and its processes, then its runtime records go as with rm -rf /run:
    // the state root and the host-wide endpoint record and owner file (the netns mount stays:
    // rm cannot remove a mount point)
    const monitor = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')
      .find((l) => l.includes('monitor') && l.includes(`/containers/${dead}`))?.trim().split(/\s+/)[0];
    assert.ok(monitor, 'its monitor runs');
    process.kill(Number(monitor), 'SIGKILL');
    process.kill(ins.State.Pid, 'SIGKILL');
    for (const f of [join(NET_RUN, 'endpoints', `${dead}.json`), join(NET_RUN, 'netns', `${dead}.owner`), join(NET_RUN, 'netns', `${dead}.starting`)]) rmSync(f, { force: true });
    // a fresh root and state root see none of this run's containers: only the host-wide
    // reconcile can clean up
    const fresh = { root: join(dir, 'fresh'), stateRoot: `${stateRoot}-fresh` };
    try {
      // the same boot: a container starts on the bridge, nothing else happens (the dead
      // container's pieces stay)
      ok(cli(['run', '--rm', 'host', 'true'], fresh), 'run');
      assert.ok(existsSync(netns) && natElements().get(`tcp . ${deadPort}`) === dead, 'no reconcile within a boot');
      // "a new boot": the marker holds another boot id; the first container start reconciles
      const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      writeFileSync(join(NET_RUN, 'boot-id'), `${TAG}-previous-boot\n`);
      ok(cli(['run', '--rm', 'host', 'true'], fresh), 'run after the boot');
      assert.equal(readFileSync(join(NET_RUN, 'boot-id'), 'utf8').trim(), bootId, 'the marker holds this boot');
      assert.ok(!existsSync(netns), 'the netns mount is gone');
      assert.ok(!natElements().has(`tcp . ${deadPort}`), 'its DNAT element is gone');
      const ipam = JSON.parse(readFileSync(join(NET_RUN, 'ipam', `${netId}.json`), 'utf8'));
      assert.ok(!Object.values(ipam.allocations).some((a: any) => a.container === dead), `its address ${ip} is free`);
      await eventually('its veth is gone', () => !linkExists(veth));
      await assert.rejects(httpGet(host, deadPort, 1000), 'its port no longer answers');
      // the live one: untouched
      assert.equal(natElements().get(`tcp . ${livePort}`), live);
      assert.equal(await httpGet(host, livePort), `hello from ${TAG}-live\n`);
      assert.ok(linkExists(vethName('bv', netId, live)));
    } finally {
      rmSync(fresh.root, { recursive: true, force: true });
      rmSync(fresh.stateRoot, { recursive: true, force: true });
    }
    // the dead one's record (in this run's root) goes with rm as usual
    ok(cli(['rm', '-f', dead, live]), 'rm');
    assert.equal(ok(cli(['ps', '-a', '-q'])), '');
  });
});
