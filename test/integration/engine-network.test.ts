// Networking through the engine (root, real traffic): `berth run --network/-p/--network-alias`,
// `berth network ...`, `berth port`, and the same through the library. Containers run the
// embedded `host` image (the host's busybox-static: httpd, nc). Everything stays on this machine:
// a netns the test makes, behind a veth, stands in for the outside world. Names, subnets and
// ports are unique to this run; the last test asserts that nothing of this run's networks and
// containers is left in `ip link` or `nft list ruleset`.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, isEngineError } from '../../src/index.js';
import { formatIPv4, overlaps, parseCidr } from '../../src/network/cidr.js';
import { vethName } from '../../src/network/links.js';
import { REPO } from '../helpers/bundle.js';
import { freePort, hostIp, httpGet, makeOutside, subnetPicker } from '../helpers/network.js';

const BERTH = join(REPO, 'bin', 'berth');
const TAG = `en${(process.pid % 1296).toString(36)}${Date.now().toString(36).slice(-3)}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-engine-net-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-n${process.pid}`;
const OUT_NS = `${TAG}-out`;
const OUT_LINK = `bo${TAG}`.slice(0, 15);
const servers: ChildProcess[] = [];
/** Every container and network this run made (for the leak check). */
const containers = new Set<string>();
const networks = new Map<string, { id: string; bridge: string }>();
let outside: { hostIp: string; outIp: string };
let berth: Berth;

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeout = 60000): R {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cliAsync(args: string[]): Promise<R> {
  return new Promise((resolve) => {
    const c = spawn(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const ok = (r: R, what = '') => {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};

const freeSubnet = subnetPicker(150, 40);

function createNetwork(name: string, ...flags: string[]): string {
  const id = ok(cli(['network', 'create', ...flags, name]), `network create ${name}`);
  const ins = JSON.parse(ok(cli(['network', 'inspect', name])))[0];
  networks.set(name, { id, bridge: ins.Options['com.docker.network.bridge.name'] });
  return id;
}

/** HTTP GET over nc (busybox-static's wget crashes here). */
const GET = `get() { printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w "\${3:-3}" "$1" "\${2:-80}"; }; `;
/** A one-shot container running `script` (with get()) on `network`. */
function client(network: string, script: string, ...flags: string[]): R {
  return cli(['run', '--rm', '--network', network, ...flags, 'host', 'sh', '-c', GET + script]);
}

/** A detached web server (busybox httpd) answering "hello from NAME". */
function web(name: string, ...flags: string[]): string {
  const id = ok(cli(['run', '-d', '--name', name, ...flags, 'host', 'sh', '-c',
    `mkdir -p /tmp/www && echo "hello from ${name}" > /tmp/www/index.html && exec busybox httpd -f -p 80 -h /tmp/www`]), `run ${name}`);
  containers.add(id);
  return id;
}

const NET_A = `${TAG}-a`;
const NET_B = `${TAG}-b`;
const NET_I = `${TAG}-i`;
const WEB = `${TAG}-web`;
let PORT = 0;

before(async () => {
  mkdirSync(root, { recursive: true });
  berth = new Berth({ root, stateRoot });
  createNetwork(NET_A, '--subnet', freeSubnet(), '--label', `test=${TAG}`);
  createNetwork(NET_B, '--subnet', freeSubnet());
  createNetwork(NET_I, '--subnet', freeSubnet(), '--internal');
  // the outside: a netns behind a veth, with an httpd on 8080
  const out = parseCidr(freeSubnet(30));
  outside = { hostIp: formatIPv4(out.base + 1), outIp: formatIPv4(out.base + 2) };
  servers.push(makeOutside({ ns: OUT_NS, link: OUT_LINK, hostAddr: outside.hostIp, outAddr: outside.outIp, prefix: 30, www: join(dir, 'out-www'), body: 'hello from outside\n' }));

  PORT = await freePort();
  web(WEB, '--network', NET_A, '--network-alias', `www-${TAG}`, '-p', `${PORT}:80`, '-p', `127.0.0.1:${PORT + 1}:80`, '--expose', '443');
  for (let i = 0; i < 200; i++) {
    if (await httpGet('127.0.0.1', PORT, 500).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  for (const s of servers) s.kill('SIGKILL');
  for (const c of berth?.list({ all: true }) ?? []) await berth.remove(String(c.ID), { force: true }).catch(() => {});
  for (const n of networks.keys()) cli(['network', 'rm', '-f', n]);
  berth?.close();
  spawnSync('ip', ['link', 'del', OUT_LINK], { stdio: 'ignore' });
  spawnSync('ip', ['netns', 'del', OUT_NS], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('engine networking', () => {
  test('two containers on a user network reach each other by name and by alias', () => {
    const r = client(NET_A, `get ${WEB}; echo ---; get www-${TAG}; echo ---; cat /etc/resolv.conf`);
    assert.equal(r.status, 0, r.stderr);
    const [byName, byAlias, resolv] = r.stdout.split('---');
    assert.match(byName!, new RegExp(`200 OK[^]*hello from ${WEB}`), r.stdout);
    assert.match(byAlias!, new RegExp(`200 OK[^]*hello from ${WEB}`), r.stdout);
    const gw = JSON.parse(ok(cli(['network', 'inspect', NET_A])))[0].IPAM.Config[0].Gateway;
    assert.match(resolv!, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}`), 'the network resolver');
  });

  test('a published port answers on the host address and on 127.0.0.1; port, ps and inspect show it', async () => {
    assert.equal(await httpGet(hostIp(), PORT), `hello from ${WEB}\n`);
    assert.equal(await httpGet('127.0.0.1', PORT), `hello from ${WEB}\n`);
    assert.equal(await httpGet('127.0.0.1', PORT + 1), `hello from ${WEB}\n`);
    await assert.rejects(httpGet(hostIp(), PORT + 1, 1500), 'the 127.0.0.1-only port is not on the host address');
    assert.equal(ok(cli(['port', WEB])), `80/tcp -> 0.0.0.0:${PORT}\n80/tcp -> 127.0.0.1:${PORT + 1}`);
    assert.equal(ok(cli(['port', WEB, '80/tcp'])), `0.0.0.0:${PORT}\n127.0.0.1:${PORT + 1}`);
    const miss = cli(['port', WEB, '81']);
    assert.notEqual(miss.status, 0);
    assert.match(miss.stderr, /No public port '81\/tcp' published/);
    assert.match(ok(cli(['ps', '--filter', `name=${WEB}`, '--format', '{{.Ports}}'])), new RegExp(`^0\\.0\\.0\\.0:${PORT}->80/tcp, 127\\.0\\.0\\.1:${PORT + 1}->80/tcp, 443/tcp$`));
    const ins = JSON.parse(ok(cli(['inspect', WEB])))[0];
    const ep = ins.NetworkSettings.Networks[NET_A];
    assert.match(ep.IPAddress, /^10\./);
    assert.equal(ep.NetworkID, networks.get(NET_A)!.id);
    assert.ok(ep.Aliases.includes(`www-${TAG}`));
    assert.match(ep.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(ins.NetworkSettings.Ports['80/tcp'][0].HostPort, String(PORT));
    assert.equal(ins.NetworkSettings.Ports['443/tcp'], null);
    assert.equal(ins.HostConfig.NetworkMode, NET_A);
    const net = JSON.parse(ok(cli(['network', 'inspect', NET_A])))[0];
    assert.equal(net.Containers[ins.Id].IPv4Address.split('/')[0], ep.IPAddress);
  });

  test('a container on another network cannot reach the first (but reaches the outside)', () => {
    const ip = JSON.parse(ok(cli(['inspect', WEB])))[0].NetworkSettings.Networks[NET_A].IPAddress;
    const r = client(NET_B, `get ${ip} 80 2 && echo REACHED; echo ---; get ${outside.outIp} 8080`);
    assert.equal(r.status, 0, r.stderr);
    const [blocked, egress] = r.stdout.split('---');
    assert.doesNotMatch(blocked!, /REACHED|hello/, 'isolated from network A');
    assert.match(egress!, /hello from outside/, 'egress works, so the failure above is the isolation');
  });

  test('an internal network has no route out', () => {
    const r = client(NET_I, `ip route; echo ---; get ${outside.outIp} 8080 2 && echo REACHED; echo done`);
    assert.equal(r.status, 0, r.stderr);
    const [routes, tried] = r.stdout.split('---');
    assert.doesNotMatch(routes!, /default/);
    assert.doesNotMatch(tried!, /REACHED|hello/);
  });

  test('20 parallel runs get distinct addresses; the default network is bridge (berth0 subnet)', async () => {
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => cliAsync(['run', '-d', '--name', `${TAG}-p${i}`, 'host', 'sleep', '120'])));
    const ids = runs.map((r, i) => ok(r, `parallel run ${i}`));
    for (const id of ids) containers.add(id);
    const seen = ids.map((id) => JSON.parse(ok(cli(['inspect', id])))[0]);
    const ips = seen.map((c) => c.NetworkSettings.Networks.bridge?.IPAddress as string);
    assert.deepEqual(seen.filter((c) => !c.NetworkSettings.Networks.bridge?.IPAddress).map((c) => `${c.Name} ${c.State.Status} ${c.State.Error} ${JSON.stringify(c.NetworkSettings.Networks)}`), [], 'every container has an address');
    assert.equal(new Set(ips).size, 20, ips.join(' '));
    const subnet = parseCidr(JSON.parse(ok(cli(['network', 'inspect', 'bridge'])))[0].IPAM.Config[0].Subnet);
    for (const ip of ips) assert.ok(overlaps(subnet, parseCidr(`${ip}/32`)), `${ip} in the default network`);
    ok(cli(['rm', '-f', ...ids]));
  });

  test('a stopped container keeps no address; a restart gets one again', () => {
    const id = web(`${TAG}-stop`, '--network', NET_B);
    const before = JSON.parse(ok(cli(['inspect', id])))[0].NetworkSettings.Networks[NET_B].IPAddress;
    assert.match(before, /^10\./);
    ok(cli(['stop', '-t', '1', id]));
    const stopped = JSON.parse(ok(cli(['inspect', id])))[0].NetworkSettings;
    assert.equal(stopped.Networks[NET_B].IPAddress, '');
    assert.equal(JSON.parse(ok(cli(['network', 'inspect', NET_B])))[0].Containers[id], undefined);
    ok(cli(['start', id]));
    assert.match(JSON.parse(ok(cli(['inspect', id])))[0].NetworkSettings.Networks[NET_B].IPAddress, /^10\./);
    ok(cli(['rm', '-f', id]));
  });

  test('a monitor killed with its container (kill -9): the next berth command releases the network', async () => {
    const id = web(`${TAG}-k9`, '--network', NET_B, '-p', '127.0.0.1::80');
    const ins = JSON.parse(ok(cli(['inspect', id])))[0];
    const netns = ins.NetworkSettings.SandboxKey as string;
    assert.ok(existsSync(netns), `a netns bind-mounted at ${netns}`);
    const monitors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes('monitor') && cmd.includes(id);
      } catch {
        return false;
      }
    });
    assert.ok(monitors.length > 0, 'found the monitor');
    for (const m of monitors) process.kill(Number(m), 'SIGKILL');
    process.kill(ins.State.Pid, 'SIGKILL');
    assert.match(ok(cli(['ps', '-a', '--filter', `id=${id}`, '--format', '{{.State}}'])), /^exited/);
    assert.equal(JSON.parse(ok(cli(['network', 'inspect', NET_B])))[0].Containers[id], undefined, 'no address held');
    assert.ok(!existsSync(netns), 'the netns is gone');
    assert.equal(ok(cli(['port', id])), '');
    ok(cli(['rm', id]));
  });

  test('a CLI killed inside a start (netns made, never started): the next start releases it', () => {
    const id = ok(cli(['create', '--name', `${TAG}-crashed`, 'host', 'true']));
    containers.add(id);
    const dirNs = '/run/berth/network/netns';
    const path = join(dirNs, id);
    // what a berth killed between making the netns and starting the container leaves
    execFileSync(join(REPO, 'dist', 'berth-shim'), ['netns', 'add', path]);
    writeFileSync(`${path}.owner`, root);
    writeFileSync(`${path}.starting`, '999999999 0'); // a pid that cannot exist
    ok(cli(['run', '--rm', 'host', 'true']));
    assert.ok(!existsSync(path), 'the stale netns is gone');
    assert.ok(!existsSync(`${path}.starting`) && !existsSync(`${path}.owner`), 'and its markers');
    ok(cli(['rm', id]));
  });

  test('bad input: clear errors, exit 125, nothing half-made', async () => {
    const netsBefore = ok(cli(['network', 'ls', '-q', '--no-trunc']));
    const overlap = JSON.parse(ok(cli(['network', 'inspect', NET_A])))[0].IPAM.Config[0].Subnet;
    let r = cli(['network', 'create', '--subnet', overlap, `${TAG}-x`]);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /overlaps/);
    r = cli(['network', 'create', '--subnet', '10.1.2.300/24', `${TAG}-x`]);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /10\.1\.2\.300/);
    r = cli(['network', 'rm', NET_A]);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /active endpoints/);
    r = cli(['run', '--rm', '--network', `${TAG}-nosuch`, 'host', 'true']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, new RegExp(`network ${TAG}-nosuch not found`));
    r = cli(['run', '--rm', '-p', 'abc:80', 'host', 'true']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /-p, --publish/);
    r = cli(['run', '-d', '--name', `${TAG}-dup`, '-p', `${PORT}:80`, 'host', 'sleep', '60']);
    assert.equal(r.status, 125, 'a host port already published');
    assert.match(r.stderr, /already allocated/);
    // refused before create (issue 6: a port conflict creates nothing), so no address is held either
    assert.equal(cli(['inspect', `${TAG}-dup`]).status, 1, 'no container was created');
    r = cli(['network', 'disconnect', NET_B, WEB]);
    assert.equal(r.status, 125);
    assert.equal(ok(cli(['network', 'ls', '-q', '--no-trunc'])), netsBefore, 'no network made or lost');
  });

  test('network ls/prune and connect/disconnect through the CLI', () => {
    const ls = ok(cli(['network', 'ls', '--filter', `label=test=${TAG}`, '--format', '{{.Name}} {{.Driver}}']));
    assert.equal(ls, `${NET_A} bridge`);
    assert.match(ok(cli(['network', 'ls'])), /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n/);
    ok(cli(['network', 'connect', '--alias', `second-${TAG}`, NET_B, WEB]));
    const r = client(NET_B, `get second-${TAG}`);
    assert.match(r.stdout, new RegExp(`hello from ${WEB}`), r.stderr);
    ok(cli(['network', 'disconnect', NET_B, WEB]));
    const spare = `${TAG}-spare`;
    createNetwork(spare, '--label', `spare=${TAG}`);
    const pruned = ok(cli(['network', 'prune', '-f', '--filter', `label=spare=${TAG}`]));
    assert.equal(pruned, `Deleted Networks:\n${spare}`);
    networks.delete(spare);
  });

  test('the library: networks.create/list/inspect/connect/remove, run with ports, port()', async () => {
    const name = `${TAG}-lib`;
    const created = await berth.networks.create({ name, subnet: freeSubnet(), labels: { lib: TAG } });
    networks.set(name, { id: String(created.Id), bridge: String((created.Options as Record<string, string>)['com.docker.network.bridge.name']) });
    assert.deepEqual(berth.networks.list({ label: [`lib=${TAG}`] }).map((n) => n.Name), [name]);
    await assert.rejects(berth.networks.create({ name: `${name}2`, subnet: (created.IPAM as { Config: { Subnet: string }[] }).Config[0]!.Subnet }), (e) => isEngineError(e, 'conflict'));
    await assert.rejects(berth.networks.create({ name: `${name}2`, subnet: 'nope' }), (e) => isEngineError(e, 'invalid'));
    const port = await freePort();
    const { id } = await berth.run({
      image: 'host', network: name, name: `${TAG}-libweb`, publish: [`127.0.0.1:${port}:80/tcp`], networkAliases: ['libweb'], detach: true,
      cmd: ['sh', '-c', 'mkdir -p /tmp/w && echo lib > /tmp/w/index.html && exec busybox httpd -f -p 80 -h /tmp/w'],
    });
    containers.add(id);
    assert.deepEqual(berth.port(id), [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' }]);
    let body = '';
    for (let i = 0; i < 100 && !body; i++) body = await httpGet('127.0.0.1', port, 500).catch(async () => (await new Promise((r) => setTimeout(r, 50)), ''));
    assert.equal(body, 'lib\n');
    const c = await berth.run({ image: 'host', network: name, autoRemove: true, cmd: ['sh', '-c', GET + 'get libweb'] });
    assert.match(c.stdout ?? '', /lib/);
    await assert.rejects(berth.networks.remove(name), (e) => isEngineError(e, 'conflict'));
    await berth.networks.connect(NET_B, id, { aliases: ['libweb-b'] });
    assert.ok(Object.keys((berth.inspect(id).NetworkSettings as { Networks: object }).Networks).includes(NET_B));
    await berth.networks.disconnect(NET_B, id);
    await berth.remove(id, { force: true });
    await berth.networks.remove(name);
    networks.delete(name);
    assert.throws(() => berth.networks.inspect(name), (e) => isEngineError(e, 'notfound'));
  });

  test('after removal nothing of these containers and networks is left in ip link or nft', async () => {
    for (const c of berth.list({ all: true })) await berth.remove(String(c.ID), { force: true });
    for (const n of networks.keys()) ok(cli(['network', 'rm', n]), `network rm ${n}`);
    const ids = [...containers];
    const netIds = [...networks.values()].map((n) => n.id);
    const vethNames = ids.flatMap((c) => netIds.map((n) => vethName('bv', n, c)));
    const bridges = [...networks.values()].map((n) => n.bridge);
    let links = '';
    let rules = '';
    // veth pairs go with their network namespace, which the kernel frees in the background
    for (let i = 0; i < 200; i++) {
      links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
      rules = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
      const left = [...vethNames, ...bridges].filter((l) => links.includes(`${l}:`) || links.includes(`${l}@`));
      if (!left.length && !ids.some((id) => rules.includes(id)) && !bridges.some((b) => rules.includes(`"${b}"`))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...vethNames, ...bridges].filter((l) => links.includes(`${l}:`) || links.includes(`${l}@`)), [], 'links left');
    assert.deepEqual(ids.filter((id) => rules.includes(id)), [], 'port rules left');
    assert.deepEqual(bridges.filter((b) => rules.includes(`"${b}"`)), [], 'bridge rules left');
    networks.clear();
  });
});
