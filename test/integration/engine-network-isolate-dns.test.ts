// Issue 7 through the `berth` CLI (root, real traffic that stays on this machine):
// - `network create -o isolate=true`: two containers of the network cannot reach each other,
//   while both reach the gateway and "the outside" (a netns this test makes, behind a veth);
//   on a network without the option the same pair can talk (so the blocked check can fail);
// - the embedded resolver answers container names itself and forwards every other name to the
//   container's `--dns` server: a stand-in DNS server (python3, UDP) in the outside netns.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBusyboxRootfs } from '../helpers/bundle.js';
import { ok, testBerth } from '../helpers/berth-cli.js';
import { makeOutside, subnetPicker } from '../helpers/network.js';
import { vethOf } from '../helpers/cli-procs.js';
import { formatIPv4, parseCidr } from '../../src/network/cidr.js';

const t = testBerth('netiso');
const rootfs = join(t.dir, 'rootfs');
const TAG = `ni${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const OUT_NS = `${TAG}-out`;
const OUT_LINK = `bo${TAG}`.slice(0, 15);
const freeSubnet = subnetPicker(210, 20);
const networks: string[] = [];
const servers: ChildProcess[] = [];
let outside: { hostIp: string; outIp: string };

// A DNS server for one name: A records of NAME get ADDR, anything else NXDOMAIN; each question
// is appended to LOG (so the test sees that the query came through the resolver).
const DNS_STANDIN = `
import socket, struct, sys
bind, name, addr, log = sys.argv[1], sys.argv[2].lower(), socket.inet_aton(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((bind, 53))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
        i += 1 + q[i]
    qname, qtype = '.'.join(labels).lower(), struct.unpack('>H', q[i + 1:i + 3])[0]
    with open(log, 'a') as f:
        f.write('%s %d\\n' % (qname, qtype))
    question = q[12:i + 5]
    hit = qname == name and qtype == 1
    flags = 0x8180 if qname == name else 0x8183
    head = q[:2] + struct.pack('>HHHHH', flags, 1, 1 if hit else 0, 0, 0)
    answer = b'\\xc0\\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + addr if hit else b''
    s.sendto(head + question + answer, peer)
`;

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  const out = parseCidr(freeSubnet(30));
  outside = { hostIp: formatIPv4(out.base + 1), outIp: formatIPv4(out.base + 2) };
  servers.push(makeOutside({ ns: OUT_NS, link: OUT_LINK, hostAddr: outside.hostIp, outAddr: outside.outIp, prefix: 30, www: join(t.dir, 'out-www'), body: 'hello from outside\n' }));
});

after(() => {
  for (const s of servers) s.kill('SIGKILL');
  const ids = t.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
  if (ids.length) t.run(['rm', '-f', ...ids]);
  for (const n of networks) t.run(['network', 'rm', n]);
  spawnSync('ip', ['link', 'del', OUT_LINK], { stdio: 'ignore' });
  spawnSync('ip', ['netns', 'del', OUT_NS], { stdio: 'ignore' });
  t.cleanup();
});

const run = (args: string[]) => {
  const r = t.run(args);
  ok(r, args.join(' '));
  return r.stdout;
};

function network(name: string, ...opts: string[]): { subnet: string; gateway: string } {
  const subnet = freeSubnet();
  run(['network', 'create', '--subnet', subnet, ...opts, name]);
  networks.push(name);
  return { subnet, gateway: formatIPv4(parseCidr(subnet).base + 1) };
}

/** A detached container on `net` serving "NAME" on :80; its address there. */
function web(name: string, net: string): string {
  run(['run', '-d', '--name', name, '--network', net, '--rootfs', rootfs, 'sh', '-c', `mkdir -p /tmp/w && echo ${name} > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w`]);
  return ipOn(name, net);
}

/** The container's address on network `net` (from inspect). */
function ipOn(name: string, net: string): string {
  const ip = JSON.parse(run(['inspect', name]))[0].NetworkSettings.Networks[net]?.IPAddress as string | undefined;
  assert.ok(ip, `${name} has an address on ${net}`);
  return ip;
}

/** From a new container on `net`: the body of http://HOST:PORT/ or FAIL (retried; busybox-static wget -T crashes here, hence timeout). */
function fetchFrom(net: string, host: string, port = 80, tries = 20): string {
  return run(['run', '--rm', '--network', net, '--rootfs', rootfs, 'sh', '-c',
    `for i in $(seq ${tries}); do timeout 2 wget -q -O - http://${host}:${port}/ 2>/dev/null && exit 0; sleep 0.5; done; echo FAIL`]).trim();
}

describe('networking of issue 7 through the CLI: isolated networks, DNS forwarding', () => {
  test('-o isolate=true: containers of the network cannot reach each other; both reach the gateway and the outside', () => {
    const open = `${TAG}-open`;
    const iso = `${TAG}-iso`;
    network(open);
    const { gateway } = network(iso, '-o', 'isolate=true');
    assert.equal(JSON.parse(run(['network', 'inspect', iso]))[0].Options.isolate, 'true');
    // control: on an ordinary network a container reaches its neighbour
    const openIp = web(`${TAG}-w1`, open);
    assert.equal(fetchFrom(open, openIp), `${TAG}-w1`);
    // isolated: the neighbour's httpd and its ICMP are out of reach (bridge port isolation)...
    const isoIp = web(`${TAG}-w2`, iso);
    assert.equal(fetchFrom(iso, isoIp, 80, 4), 'FAIL', 'a container of an isolated network reached its neighbour');
    const other = run(['run', '--rm', '--network', iso, '--rootfs', rootfs, 'sh', '-c',
      `ping -c 2 -W 1 ${isoIp} >/dev/null 2>&1 && echo PEER; ping -c 1 -W 3 ${gateway} >/dev/null 2>&1 && echo GATEWAY; ` +
      `timeout 5 wget -q -O - http://${outside.outIp}:8080/ || echo NO-OUTSIDE`]);
    assert.equal(other, 'GATEWAY\nhello from outside\n');
    // ...and the serving container itself still reaches the gateway and the outside
    const self = run(['exec', `${TAG}-w2`, 'sh', '-c', `ping -c 1 -W 3 ${gateway} >/dev/null 2>&1 && echo GATEWAY; timeout 5 wget -q -O - http://${outside.outIp}:8080/ || echo NO-OUTSIDE`]);
    assert.equal(self, 'GATEWAY\nhello from outside\n');
    // the port flag is on the container's bridge port (what the kernel enforces)
    const w2 = JSON.parse(run(['inspect', `${TAG}-w2`]))[0].Id as string;
    const port = vethOf(JSON.parse(run(['network', 'inspect', iso]))[0].Id, w2);
    assert.match(spawnSync('bridge', ['-d', 'link', 'show', 'dev', port], { encoding: 'utf8' }).stdout, /isolated on/, `bridge port ${port}`);
    run(['rm', '-f', `${TAG}-w1`, `${TAG}-w2`]);
  });

  test('the embedded resolver answers container names itself and forwards the rest to --dns (a stand-in server)', async () => {
    const net = `${TAG}-dns`;
    const { gateway } = network(net);
    const log = join(t.dir, 'dns.log');
    writeFileSync(log, '');
    const script = join(t.dir, 'dns-standin.py');
    writeFileSync(script, DNS_STANDIN);
    const probe = `probe-${TAG}.example`;
    const dns = spawn('ip', ['netns', 'exec', OUT_NS, '/usr/bin/python3', script, outside.outIp, probe, '192.0.2.77', log], { stdio: ['ignore', 'ignore', 'pipe'] });
    servers.push(dns);
    let dnsErr = '';
    dns.stderr!.setEncoding('utf8').on('data', (d: string) => (dnsErr += d));
    // bound? (the script logs nothing before the first question: probe from the host)
    for (let i = 0; i < 100 && !spawnSync('ip', ['netns', 'exec', OUT_NS, 'ss', '-Hlun', `sport = :53`], { encoding: 'utf8' }).stdout.includes(outside.outIp); i++) {
      assert.equal(dns.exitCode, null, `the stand-in DNS server: ${dnsErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    run(['run', '-d', '--name', `${TAG}-named`, '--network', net, '--rootfs', rootfs, 'sleep', '600']);
    const namedIp = ipOn(`${TAG}-named`, net);
    const out = run(['run', '--rm', '--network', net, '--dns', outside.outIp, '--rootfs', rootfs, 'sh', '-c',
      `grep nameserver /etc/resolv.conf; echo ---; nslookup ${probe}; echo ---; nslookup ${TAG}-named; echo ---; nslookup nx-${TAG}.example || echo NXDOMAIN`]);
    const [resolv, fwd, local, nx] = out.split('---\n');
    // the container asks the network's resolver (on the gateway), not the --dns server directly
    assert.equal(resolv, `nameserver ${gateway}\n`);
    assert.match(fwd!, /Address:\s+192\.0\.2\.77\b/, `forwarded answer: ${fwd}`);
    assert.match(local!, new RegExp(`Address:\\s+${namedIp.replace(/\./g, '\\.')}\\b`), `container name: ${local}`);
    assert.match(nx!, /NXDOMAIN|can't find/i);
    const asked = readFileSync(log, 'utf8');
    assert.match(asked, new RegExp(`^${probe.replace(/\./g, '\\.')} 1$`, 'm'), 'the stand-in was asked for the name');
    assert.match(asked, new RegExp(`^nx-${TAG}\\.example `, 'm'));
    assert.doesNotMatch(asked, new RegExp(`^${TAG}-named\\b`, 'm'), 'a container name is answered by the resolver, not forwarded');
    run(['rm', '-f', `${TAG}-named`]);
  });
});
