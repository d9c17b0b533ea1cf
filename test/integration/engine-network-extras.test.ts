// The network library's newer options through ./bin/berth (root, real traffic): dual-stack
// `network create --ipv6` with `run --ip6` (AAAA from the network's resolver, v6 traffic between
// containers), a `-d cni -o conflist=PATH` network (bridge + host-local, written here) the host
// reaches a container on, and `--egress-rate` (berth's own flag) shaping a transfer to a sink
// this process runs on the network's gateway. Containers run the embedded `host` image (the
// host's busybox-static). Names, subnets and ports are unique to this run; networks carry the
// run's label; the last test checks that no link of this run is left.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, isEngineError } from '../../src/index.js';
import { contains, parseCidr, parseIPv4 } from '../../src/network/cidr.js';
import { REPO } from '../helpers/bundle.js';
import { httpGet, subnetPicker } from '../helpers/network.js';

const BERTH = join(REPO, 'bin', 'berth');
const TAG = `ex${(process.pid % 1296).toString(36)}${Date.now().toString(36).slice(-3)}`;
const LABEL = `test=${TAG}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-net-extras-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-x${process.pid}`;
const CNI_BRIDGE = `bc${TAG}`.slice(0, 15);
const CNI_IPAM = join(dir, 'host-local');
/** Networks this run made: name -> bridge (for the leak check). */
const networks = new Map<string, string>();
const containers = new Set<string>();
const hostLinks = new Set<string>();

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cliAsync(args: string[], timeoutMs = 120000): Promise<R> {
  return new Promise((resolve) => {
    const c = spawn(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function cli(args: string[], timeout = 60000): R {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ok = (r: R, what = '') => {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};

/** A /24 in 10.x that no host route or earlier pick overlaps. */
const freeSubnet = subnetPicker(120, 30);

/** A random ULA /64 in canonical form (no leading zeros): collisions with other runs are improbable. */
function ula64(): string {
  const b = randomBytes(7);
  const g = (i: number) => ((b.readUInt16BE(i) | 0x1000) >>> 0).toString(16);
  return `fd${b[0]!.toString(16).padStart(2, '0')}:${g(1)}:${g(3)}:${g(5)}::/64`;
}

function createNetwork(name: string, ...flags: string[]): Record<string, any> {
  ok(cli(['network', 'create', '--label', LABEL, ...flags, name]), `network create ${name}`);
  const ins = JSON.parse(ok(cli(['network', 'inspect', name])))[0];
  networks.set(name, ins.Options['com.docker.network.bridge.name'] ?? '');
  return ins;
}

/** A detached busybox httpd answering "hello from NAME". */
function web(name: string, ...flags: string[]): string {
  const id = ok(cli(['run', '-d', '--name', name, ...flags, 'host', 'sh', '-c',
    `mkdir -p /tmp/www && echo "hello from ${name}" > /tmp/www/index.html && exec busybox httpd -f -p 80 -h /tmp/www`]), `run ${name}`);
  containers.add(id);
  return id;
}

const GET = `get() { printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 "$1" 80; }; `;

const linkNames = () => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((x): x is string => !!x);

before(() => {
  mkdirSync(root, { recursive: true });
});

after(async () => {
  // every container of this run's root, also one whose start failed
  const all = cli(['ps', '-a', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean);
  for (const c of new Set([...containers, ...all])) cli(['rm', '-f', c]);
  for (const n of networks.keys()) cli(['network', 'rm', n]);
  spawnSync('ip', ['link', 'del', CNI_BRIDGE], { stdio: 'ignore' }); // CNI plugins never delete bridges
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('engine networking extras (IPv6, CNI, egress rate)', () => {
  test('--ipv6: two containers reach each other over v6 by name (AAAA) and address; inspect and ls show v6', async () => {
    const net = `${TAG}-v6`;
    const v4 = freeSubnet();
    const v6 = ula64();
    const ins = createNetwork(net, '--ipv6', '--subnet', v4, '--subnet', v6);
    assert.equal(ins.EnableIPv6, true);
    const prefix6 = v6.replace('::/64', '::');
    assert.deepEqual(ins.IPAM.Config.map((c: any) => c.Subnet), [v4, v6]);
    assert.equal(ins.IPAM.Config[1].Gateway, `${prefix6}1`);
    const ls = ok(cli(['network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}} {{.IPv6}}']));
    assert.match(ls, new RegExp(`^${net} true$`, 'm'));

    const srv = `${TAG}-web6`;
    const ip6 = `${prefix6}99`;
    web(srv, '--network', net, '--ip6', ip6);
    const settings = JSON.parse(ok(cli(['inspect', srv, '--format', '{{json .NetworkSettings.Networks}}'])))[net];
    assert.equal(settings.GlobalIPv6Address, ip6);
    assert.equal(settings.GlobalIPv6PrefixLen, 64);
    assert.equal(settings.IPv6Gateway, `${prefix6}1`);
    assert.deepEqual(settings.IPAMConfig, { IPv6Address: ip6 });
    const members = JSON.parse(ok(cli(['network', 'inspect', net, '--format', '{{json .Containers}}'])));
    assert.equal(Object.values(members).map((m: any) => m.IPv6Address).join(), `${ip6}/64`);

    // by name: the network's resolver answers AAAA; the client connects to what it answered
    const r = await cliAsync(['run', '--rm', '--network', net, 'host', 'sh', '-c',
      `${GET} a=$(busybox nslookup -type=aaaa ${srv} | sed -n 's/^Address: \\([0-9a-f:]*\\)$/\\1/p' | grep : | head -1); echo "aaaa=$a"; get "$a"; echo ---; get ${ip6}`]);
    assert.equal(r.status, 0, r.stderr);
    const [byName, byAddr] = r.stdout.split('---');
    assert.match(byName!, new RegExp(`aaaa=${ip6}\\n`), r.stdout);
    assert.match(byName!, new RegExp(`200 OK[^]*hello from ${srv}`), r.stdout);
    assert.match(byAddr!, new RegExp(`200 OK[^]*hello from ${srv}`), r.stdout);
  });

  test('-d cni -o conflist=PATH: the host reaches the container at its CNI address; rm removes the veth', async () => {
    const net = `${TAG}-cni`;
    const subnet = freeSubnet();
    const file = join(dir, 'net.conflist');
    writeFileSync(file, JSON.stringify({
      cniVersion: '1.0.0', name: `berth-test-${TAG}`,
      plugins: [{
        type: 'bridge', bridge: CNI_BRIDGE, isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: CNI_IPAM },
      }],
    }));
    const ins = createNetwork(net, '-d', 'cni', '-o', `conflist=${file}`);
    assert.equal(ins.Driver, 'cni');
    assert.equal(ins.IPAM.Config[0].Subnet, subnet);
    assert.match(ok(cli(['network', 'ls', '--filter', 'driver=cni', '--format', '{{.Name}}'])), new RegExp(`^${net}$`, 'm'));

    const srv = `${TAG}-webcni`;
    web(srv, '--network', net);
    const ip: string = JSON.parse(ok(cli(['inspect', srv, '--format', '{{json .NetworkSettings.Networks}}'])))[net].IPAddress;
    assert.ok(ip && contains(parseCidr(subnet), parseIPv4(ip)), `${ip} in ${subnet}`);
    const veths = linkNames().filter((l) => l.startsWith('veth') && execFileSync('ip', ['-o', 'link', 'show', 'dev', l], { encoding: 'utf8' }).includes(`master ${CNI_BRIDGE} `));
    assert.equal(veths.length, 1, `one veth on ${CNI_BRIDGE}: ${veths}`);
    for (const v of veths) hostLinks.add(v);
    const members = JSON.parse(ok(cli(['network', 'inspect', net, '--format', '{{json .Containers}}'])));
    assert.deepEqual(Object.values(members).map((m: any) => [m.Name, m.IPv4Address]), [[srv, `${ip}/24`]]);
    let body = '';
    for (let i = 0; i < 100 && !body; i++) body = await httpGet(ip, 80, 1000).catch(async () => (await new Promise((r) => setTimeout(r, 100)), ''));
    assert.equal(body, `hello from ${srv}\n`);

    // what the conflist decides is refused at create: no container is made
    const bad = cli(['run', '-d', '--name', `${TAG}-cnibad`, '--network', net, '-p', '80', '--egress-rate', '1mbit', 'host', 'true']);
    assert.equal(bad.status, 125, bad.stderr);
    assert.match(bad.stderr, /CNI network: --egress-rate, -p\/-P/);
    assert.equal(ok(cli(['ps', '-a', '-q', '--filter', `name=${TAG}-cnibad`])), '');

    ok(cli(['rm', '-f', srv]), 'rm');
    let left = veths;
    for (let i = 0; i < 100 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = veths.filter((v) => linkNames().includes(v));
    }
    assert.deepEqual(left, [], 'the veth goes with the container');
    ok(cli(['network', 'rm', net]), 'network rm');
    networks.delete(net);
  });

  test('--egress-rate 1mibps holds a transfer to a host sink within ±30% of 1 MiB/s', async () => {
    const net = `${TAG}-eg`;
    const ins = createNetwork(net, '--subnet', freeSubnet());
    const gateway: string = ins.IPAM.Config[0].Gateway;
    const SIZE = 4 * 1048576;
    let start = 0;
    let end = 0;
    let bytes = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    // counts what arrives and closes at SIZE (busybox nc does not half-close)
    const sink: Server = createServer((c) => {
      if (!start) start = performance.now();
      c.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes >= SIZE && !end) {
          end = performance.now();
          c.destroy();
          done();
        }
      });
      c.on('error', () => {});
    });
    await new Promise<void>((r) => sink.listen(0, gateway, r));
    const port = (sink.address() as { port: number }).port;
    try {
      const name = `${TAG}-sender`;
      const run = cliAsync(['run', '--rm', '--name', name, '--network', net, '--egress-rate', '1mibps', 'host', 'sh', '-c',
        `dd if=/dev/zero bs=65536 count=${SIZE / 65536} 2>/dev/null | busybox nc -w 30 ${gateway} ${port}; true`]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`transfer did not finish: ${bytes} bytes`)), 90000)))])
        .finally(() => clearTimeout(timer));
      const r = await run;
      assert.equal(r.status, 0, r.stderr);
    } finally {
      sink.close();
    }
    const rate = SIZE / ((end - start) / 1000);
    console.log(`# berth run --egress-rate 1mibps: measured ${(rate / 1048576).toFixed(3)} MiB/s for 4 MiB`);
    assert.ok(rate > 0.7 * 1048576 && rate < 1.3 * 1048576, `rate ${(rate / 1048576).toFixed(3)} MiB/s outside 1 MiB/s ±30%`);
  });

  test('the library: networks.create({ ipv6, subnet: [v4, v6] }), run({ ip6, egressRate }) typed; bad rates refused', async () => {
    const lib = new Berth({ root, stateRoot });
    const name = `${TAG}-lib`;
    const v6 = ula64();
    const ip6 = v6.replace('::/64', '::7');
    try {
      const ins = await lib.networks.create({ name, ipv6: true, subnet: [freeSubnet(), v6], labels: { test: TAG } }) as any;
      networks.set(name, ins.Options['com.docker.network.bridge.name']);
      assert.equal(ins.EnableIPv6, true);
      assert.equal(ins.IPAM.Config[1].Subnet, v6);
      const r = await lib.run({ image: 'host', cmd: ['sh', '-c', 'busybox ip -6 addr show eth0'], autoRemove: true, network: name, ip6, egressRate: '10mbit' });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout ?? '', new RegExp(`inet6 ${ip6}/64`));
      await assert.rejects(lib.run({ image: 'host', cmd: ['true'], autoRemove: true, network: name, egressRate: 'lots' }),
        (e: unknown) => isEngineError(e) && /"--egress-rate" flag/.test((e as Error).message));
      await lib.networks.remove(name);
      networks.delete(name);
    } finally {
      lib.close();
    }
  });

  test('bad input: exit 125 with the field named; nothing is left', () => {
    const cases: [string[], RegExp, string][] = [
      [['network', 'create', '--label', LABEL, '--subnet', ula64(), `${TAG}-bad1`], /IPv6 subnet needs --ipv6/, `${TAG}-bad1`],
      [['network', 'create', '--label', LABEL, '-d', 'nosuchdriver', `${TAG}-bad2`], /plugin "nosuchdriver" not found/, `${TAG}-bad2`],
      [['network', 'create', '--label', LABEL, '-d', 'cni', `${TAG}-bad3`], /needs its conflist/, `${TAG}-bad3`],
      [['network', 'create', '--label', LABEL, '--ipv6', '--subnet', ula64(), '--subnet', ula64(), `${TAG}-bad4`], /at most one IPv4 and one IPv6/, `${TAG}-bad4`],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const nets = ok(cli(['network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}}'])).split('\n');
    for (const [, , name] of cases) assert.ok(!nets.includes(name), `${name} was not created`);

    for (const [flags, re] of [
      [['--egress-rate', '3 parsecs'], /"--egress-rate" flag/],
      [['--egress-rate', '10bit'], /at least/],
      [['--ip6', 'fd00::zz', '--network', 'bridge'], /"--ip6" flag/],
      [['--network', 'none', '--egress-rate', '1mbit'], /--egress-rate/],
      [['--network', `${TAG}-eg`, '--ip6', 'fd00::5'], /has no IPv6/],
    ] as [string[], RegExp][]) {
      const name = `${TAG}-badrun`;
      const r = cli(['run', '--rm', '--name', name, ...flags, 'host', 'true']);
      assert.equal(r.status, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(ok(cli(['ps', '-a', '-q', '--filter', `name=${name}`])), '', 'no container was made');
    }
  });

  test('after removal no container, network, bridge or veth of this run is left', async () => {
    for (const c of containers) cli(['rm', '-f', c]);
    for (const n of networks.keys()) ok(cli(['network', 'rm', n]), `network rm ${n}`);
    assert.equal(ok(cli(['network', 'ls', '--filter', `label=${LABEL}`, '-q'])), '');
    spawnSync('ip', ['link', 'del', CNI_BRIDGE], { stdio: 'ignore' });
    const ours = [...[...networks.values()].filter(Boolean), ...hostLinks, CNI_BRIDGE];
    let left = ours;
    for (let i = 0; i < 100 && left.length; i++) {
      left = ours.filter((l) => linkNames().includes(l));
      if (left.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(left, [], 'links left');
    networks.clear();
  });
});
