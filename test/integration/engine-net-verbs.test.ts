// Issue 7's flags through the `berth` CLI that engine-network.test.ts leaves out (root, real
// traffic that stays on this machine): network create --gateway --ip-range -o mtu, static --ip,
// --dns/--dns-search/--add-host/--hostname in the container's files, -P and port ranges, a
// published UDP port, --network container:NAME and a netns path, bad input that makes nothing,
// the library's networks.prune, and nothing of these containers left in ip link or nft.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../../src/index.js';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { vethOf } from '../helpers/cli-procs.js';
import { freePort, httpGet, subnetPicker } from '../helpers/network.js';
import { formatIPv4, parseCidr } from '../../src/network/cidr.js';

const t = testBerth('netverbs');
const TAG = `nv${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const freeSubnet = subnetPicker(190, 20);
const networks: string[] = [];
const netnses: string[] = [];
const made = new Set<string>();
const usedPorts: number[] = [];
let lib: Berth;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(() => {
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});

after(() => {
  for (const id of t.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean)) made.add(id);
  t.run(['rm', '-f', ...made]);
  for (const n of networks) t.run(['network', 'rm', n]);
  for (const ns of netnses) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', `${TAG}a`], { stdio: 'ignore' });
  lib.close();
  t.cleanup();
});

const run = (args: string[]) => {
  const r = t.run(args);
  ok(r, args.join(' '));
  return r.stdout;
};
const detached = (args: string[]) => {
  const id = run(['run', '-d', ...args]).trim();
  made.add(id);
  return id;
};
const webCmd = (body: string, port = 80) => ['sh', '-c', `mkdir -p /tmp/w && echo ${body} > /tmp/w/index.html && exec busybox httpd -f -p ${port} -h /tmp/w`];

/** A host port p on 127.0.0.1 with p+1 free too (for a range). */
async function twoFreePorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort('127.0.0.1');
    if (p >= 65535) continue;
    const free = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once('error', () => res(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => res(true)));
    });
    if (free) return p;
  }
  return assert.fail('no two free ports in a row');
}

async function get(host: string, port: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    try {
      return await httpGet(host, port, 1000);
    } catch {
      await sleep(50);
    }
  }
  return httpGet(host, port, 3000);
}

describe('networking flags of issue 7 through the CLI', () => {
  test('network create --subnet --gateway --ip-range --label -o mtu: inspect, the address range, the MTU, the default route', () => {
    const subnet = freeSubnet();
    const c = parseCidr(subnet);
    const gw = formatIPv4(c.base + 254);
    const range = `${formatIPv4(c.base + 128)}/25`;
    const name = `${TAG}-r`;
    run(['network', 'create', '--subnet', subnet, '--gateway', gw, '--ip-range', range, '--label', `t=${TAG}`, '-o', 'mtu=1400', name]);
    networks.push(name);
    // networks are host-wide: an idle one may go to another test's `system prune`; a container
    // on it for the whole file keeps it in use (and holds the address the bad-input test takes)
    detached(['--name', `${TAG}-holder`, '--network', name, '--ip', formatIPv4(c.base + 20), 'host', 'sleep', '600']);
    const [n] = JSON.parse(run(['network', 'inspect', name]));
    assert.deepEqual(n.IPAM.Config, [{ Subnet: subnet, Gateway: gw, IPRange: range }]);
    assert.equal(n.Labels.t, TAG);
    assert.equal(n.Options.mtu, '1400');
    const out = run(['run', '--rm', '--network', name, 'host', 'sh', '-c', 'ip -4 -o addr show eth0 | awk "{print \\$4}"; cat /sys/class/net/eth0/mtu; ip route | grep default']);
    const [addr, mtu, route] = out.trim().split('\n');
    const [ip, prefix] = addr!.split('/');
    const a = parseCidr(`${ip}/32`).base;
    assert.ok(a >= c.base + 128 && a < c.base + 254, `${addr} inside ${range}`);
    assert.equal(Number(prefix), c.prefix);
    assert.equal(mtu, '1400');
    assert.match(route!, new RegExp(`^default via ${gw.replace(/\./g, '\\.')} dev eth0`));
  });

  test('--ip, --dns, --dns-search, --add-host, --hostname: the address and the container\'s /etc files', () => {
    const name = `${TAG}-r`;
    const [n] = JSON.parse(run(['network', 'inspect', name]));
    const c = parseCidr(n.IPAM.Config[0].Subnet);
    const ip = formatIPv4(c.base + 9); // outside the ip-range: a static address may be anywhere in the subnet
    const out = run(['run', '--rm', '--network', name, '--ip', ip, '--dns-search', 'ex.test', '--add-host', 'foo:192.0.2.7', '--hostname', 'hh', 'host', 'sh', '-c',
      'ip -4 -o addr show eth0 | awk "{print \\$4}"; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname']);
    const [addr, resolv, hosts, hostname] = out.split('---\n');
    assert.equal(addr, `${ip}/${c.prefix}\n`);
    assert.match(resolv!, /^search ex\.test$/m);
    assert.match(resolv!, new RegExp(`^nameserver ${n.IPAM.Config[0].Gateway.replace(/\./g, '\\.')}$`, 'm'), 'a user network answers through its resolver');
    assert.match(hosts!, /^192\.0\.2\.7\tfoo$/m);
    assert.match(hosts!, new RegExp(`^${ip.replace(/\./g, '\\.')}\\thh\\b`, 'm'));
    assert.equal(hostname, 'hh\n');
    // on the default bridge, --dns goes into resolv.conf as it is (docker's behaviour)
    const d = run(['run', '--rm', '--dns', '192.0.2.53', '--dns-option', 'ndots:2', 'host', 'cat', '/etc/resolv.conf']);
    assert.match(d, /^nameserver 192\.0\.2\.53$/m);
    assert.match(d, /^options ndots:2$/m);
    assert.doesNotMatch(d, /^nameserver (?!192\.0\.2\.53)/m, 'only the given server');
  });

  test('-P publishes exposed ports on random host ports; -p ranges; they answer on 127.0.0.1', async () => {
    const pa = detached(['--name', `${TAG}-pa`, '--expose', '80', '-P', 'host', ...webCmd('all')]);
    const line = run(['port', pa, '80/tcp']).split('\n')[0]!;
    const rnd = Number(/:(\d+)$/.exec(line)?.[1]);
    assert.ok(rnd > 0, `port of -P: ${line}`);
    usedPorts.push(rnd);
    assert.equal(await get('127.0.0.1', rnd), 'all\n');
    const base = await twoFreePorts();
    const ranged = detached(['--name', `${TAG}-range`, '-p', `127.0.0.1:${base}-${base + 1}:80-81`, 'host', 'sh', '-c',
      'mkdir -p /tmp/a /tmp/b && echo eighty > /tmp/a/index.html && echo eightyone > /tmp/b/index.html && busybox httpd -p 81 -h /tmp/b && exec busybox httpd -f -p 80 -h /tmp/a']);
    usedPorts.push(base, base + 1);
    assert.equal(run(['port', ranged]), `80/tcp -> 127.0.0.1:${base}\n81/tcp -> 127.0.0.1:${base + 1}\n`);
    assert.equal(await get('127.0.0.1', base), 'eighty\n');
    assert.equal(await get('127.0.0.1', base + 1), 'eightyone\n');
    ok(t.run(['rm', '-f', pa, ranged]));
    await assert.rejects(httpGet('127.0.0.1', base, 1000), 'the published port is closed once the container is gone');
  });

  test('a published UDP port carries datagrams into the container', async () => {
    const port = await freePort('127.0.0.1');
    usedPorts.push(port);
    // python3 of the host image: busybox's nc here has no UDP
    const id = detached(['--name', `${TAG}-udp`, '-p', `127.0.0.1:${port}:5353/udp`, 'host', 'python3', '-u', '-c',
      'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",5353))\nprint("ready")\nwhile True:\n  d,a=s.recvfrom(100)\n  print("got",d.decode())\n  s.sendto(b"pong",a)']);
    for (let i = 0; i < 200 && !t.run(['logs', id]).stdout.includes('ready'); i++) await sleep(50);
    assert.equal(run(['port', id]), `5353/udp -> 127.0.0.1:${port}\n`);
    const s = createSocket('udp4');
    let reply = '';
    s.on('message', (m) => (reply = m.toString()));
    for (let i = 0; i < 50 && !reply; i++) {
      s.send('ping', port, '127.0.0.1');
      await sleep(100);
    }
    s.close();
    assert.equal(reply, 'pong');
    assert.match(t.run(['logs', id]).stdout, /got ping/);
    ok(t.run(['rm', '-f', id]));
  });

  test('--network container:NAME shares the stack; --network NETNS-PATH uses that namespace', () => {
    const a = detached(['--name', `${TAG}-share`, 'host', ...webCmd('shared')]);
    const mine = run(['exec', a, 'sh', '-c', 'ip -4 -o addr show eth0 | awk "{print \\$4}"']);
    const other = run(['run', '--rm', '--network', `container:${TAG}-share`, 'host', 'sh', '-c',
      'ip -4 -o addr show eth0 | awk "{print \\$4}"; for i in $(seq 50); do printf "GET / HTTP/1.0\\r\\n\\r\\n" | busybox nc -w 2 127.0.0.1 80 > /tmp/o 2>/dev/null && grep -q shared /tmp/o && break; sleep 0.1; done; tail -1 /tmp/o']);
    assert.equal(other, `${mine}shared\n`, 'the same address, and the other\'s localhost server');
    const ns = `${TAG}ns`;
    execFileSync('ip', ['netns', 'add', ns]);
    netnses.push(ns);
    execFileSync('ip', ['link', 'add', `${TAG}a`, 'type', 'veth', 'peer', 'name', `${TAG}b`, 'netns', ns]);
    const links = run(['run', '--rm', '--network', `/run/netns/${ns}`, 'host', 'ls', '/sys/class/net']);
    assert.deepEqual(links.split('\n').filter(Boolean).sort(), [`${TAG}b`, 'lo'].sort(), 'the links of that netns');
    ok(t.run(['rm', '-f', a]));
  });

  test('bad input: overlapping subnet, bad gateway or range, a bad or taken --ip: 125, nothing made', () => {
    const name = `${TAG}-r`;
    const [n] = JSON.parse(run(['network', 'inspect', name]));
    const sub = n.IPAM.Config[0].Subnet as string;
    const c = parseCidr(sub);
    const other = freeSubnet();
    const o = parseCidr(other);
    const ps = run(['ps', '-aq', '--no-trunc']);
    // the bridge of this network: only the holder's veth is a port of it, before and after
    const brif = () => readdirSync(`/sys/class/net/${n.Options['com.docker.network.bridge.name']}/brif`).sort();
    const ports = brif();
    assert.equal(ports.length, 1, `one port (the holder's): ${ports}`);
    const cases: [string[], RegExp][] = [
      [['network', 'create', '--subnet', `${formatIPv4(c.base)}/${c.prefix + 1}`, `${TAG}-x`], /overlaps with network/],
      [['network', 'create', '--subnet', other, '--gateway', formatIPv4(o.base + 256 * 2 + 1), `${TAG}-x`], /invalid --gateway/],
      [['network', 'create', '--subnet', other, '--ip-range', `${formatIPv4(o.base + 256 * 4)}/25`, `${TAG}-x`], /invalid --ip-range/],
      [['network', 'create', '--subnet', '10.300.0.0/24', `${TAG}-x`], /10\.300\.0\.0/],
      [['network', 'create', '--subnet', other, name], /already exists|exists|in use/],
      [['run', '--rm', '--network', name, '--ip', '192.0.2.1', 'host', 'true'], /not in the network's subnet/],
      [['run', '--rm', '--network', name, '--ip', formatIPv4(c.base + 20), 'host', 'true'], /already in use by container/],
      [['run', '--rm', '--network', name, '--ip', 'x.y', 'host', 'true'], /--ip/],
      [['run', '--rm', '--ip', formatIPv4(c.base + 21), 'host', 'true'], /user defined networks only/],
    ];
    for (const [args, msg] of cases) {
      const r = t.run(args);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, msg, args.join(' '));
      assert.equal(run(['network', 'ls', '-q', '--filter', `name=${TAG}-x`]), '', `${args.join(' ')} made a network`);
      assert.equal(run(['ps', '-aq', '--no-trunc']), ps, `${args.join(' ')} left a container`);
    }
    assert.deepEqual(brif(), ports, 'no veth left on the bridge by the failed runs');
  });

  test('library: networks.prune removes unused networks (with a label filter), keeps those in use', async () => {
    const used = await lib.networks.create({ name: `${TAG}-used`, subnet: freeSubnet(), labels: { prune: TAG } });
    const idle = await lib.networks.create({ name: `${TAG}-idle`, subnet: freeSubnet(), labels: { prune: TAG } });
    networks.push(String(used.Name), String(idle.Name));
    const { id } = await lib.run({ image: 'host', network: String(used.Name), cmd: ['sleep', '300'], detach: true });
    made.add(id);
    // (another test's prune may take the idle one first: the result, not who did it, is checked)
    const pruned = await lib.networks.prune({ label: [`prune=${TAG}`] });
    assert.ok(!pruned.includes(String(used.Name)), 'a network in use is kept');
    assert.deepEqual(lib.networks.list({ label: [`prune=${TAG}`] }).map((n) => n.Name), [used.Name]);
    await lib.remove(id, { force: true });
    await lib.networks.prune({ label: [`prune=${TAG}`] });
    assert.deepEqual(lib.networks.list({ label: [`prune=${TAG}`] }), []);
  });

  test('afterwards nothing of these containers is in ip link or nft list ruleset', () => {
    for (const id of t.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean)) made.add(id);
    if (made.size) ok(t.run(['rm', '-f', ...made]));
    const nets = t.run(['network', 'ls', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean).map((Id) => ({ Id }));
    const links = new Set(readdirSync('/sys/class/net'));
    for (const id of made) {
      for (const net of nets) {
        const veth = vethOf(net.Id, id);
        assert.ok(!links.has(veth), `veth ${veth} of ${id}`);
      }
    }
    for (const n of networks.splice(0)) t.run(['network', 'rm', n]);
    const rules = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout;
    for (const p of usedPorts) assert.doesNotMatch(rules, new RegExp(`dport ${p}\\b`), `an nft rule for port ${p} is left`);
    for (const l of [...links]) assert.ok(!l.startsWith(`berth-`) || !l.includes(TAG), l);
  });
});
