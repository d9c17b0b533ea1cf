// IPv6 pieces of dual-stack networks: address parsing/formatting, netlink messages byte for
// byte, IPAM (allocated, persisted, released with the v4 address), argument resolution, DNS
// AAAA answers and nft port elements.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCidr, parseIPv4 } from '../../src/network/cidr.js';
import { contains6, formatIPv6, hostRange6, ip6Bytes, overlaps6, parseCidr6, parseIPv6, ulaFor } from '../../src/network/cidr6.js';
import { answer, decode, encode, query, recordsOf, TYPE } from '../../src/network/dns.js';
import { Resolver } from '../../src/network/dns-server.js';
import { isNetworkError } from '../../src/network/errors.js';
import { portElements, skeleton } from '../../src/network/firewall.js';
import { parseRoutes6 } from '../../src/network/host6.js';
import { Ipam, type IpamFile } from '../../src/network/ipam.js';
import { vethPlan } from '../../src/network/links.js';
import { ADDR_INDEX_OFFSET, RTM, ROUTE_OIF_OFFSET } from '../../src/network/netlink.js';
import { AF_INET6, IFA_F_NODAD, msgDefaultRoute6, msgNewAddr6 } from '../../src/network/netlink6.js';
import { resolveV6 } from '../../src/network/network6.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('IPv6 addresses parse and format canonically (RFC 5952)', () => {
  for (const [i, o] of [
    ['fd00::1', 'fd00::1'], ['FD00:0:0:0:0:0:0:1', 'fd00::1'], ['::', '::'], ['::1', '::1'], ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['fd00:0:1::', 'fd00:0:1::'],
  ]) assert.equal(formatIPv6(parseIPv6(i!)), o, i);
  for (const bad of ['', 'fd00', ':::', 'fd00::1::2', 'g::1', '1:2:3:4:5:6:7:8:9', '10.0.0.1', '::ffff:1.2.3.4', 'fe80::1%eth0']) {
    assert.throws(() => parseIPv6(bad), (e) => isNetworkError(e, 'invalid'), bad);
  }
  assert.equal(ip6Bytes(parseIPv6('fd00::102')).toString('hex'), 'fd000000000000000000000000000102');
});

test('IPv6 CIDRs: host bits, containment, overlap, host range, ULA', () => {
  const c = parseCidr6('fd00:1::/64');
  assert.equal(c.prefix, 64);
  assert.throws(() => parseCidr6('fd00:1::5/64'), /host bits are set; did you mean fd00:1::\/64/);
  assert.throws(() => parseCidr6('fd00::/129'), /prefix length/);
  assert.throws(() => parseCidr6('fd00::'), /CIDR notation/);
  assert.ok(contains6(c, parseIPv6('fd00:1::ffff')));
  assert.ok(!contains6(c, parseIPv6('fd00:2::1')));
  assert.ok(overlaps6(c, parseCidr6('fd00::/16')));
  assert.ok(!overlaps6(c, parseCidr6('fd00:2::/64')));
  assert.deepEqual(hostRange6(parseCidr6('fd00::/126')), { first: parseIPv6('fd00::1'), last: parseIPv6('fd00::3') });
  const u = ulaFor('abc');
  assert.equal(u.prefix, 64);
  assert.equal(u.base >> 120n, 0xfdn);
  assert.deepEqual(ulaFor('abc'), u, 'stable');
  assert.notDeepEqual(ulaFor('abc', 1), u);
});

test('host v6 routes from /proc/net/ipv6_route skip default, link-local, host and lo routes', () => {
  const text = [
    'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
    'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0',
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0',
    '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo',
  ].join('\n');
  const r = parseRoutes6(text);
  assert.equal(r.length, 1);
  assert.equal(formatIPv6(r[0]!.dest.base), 'fd00::');
  assert.equal(r[0]!.dest.prefix, 64);
  assert.equal(r[0]!.iface, 'eth0');
});

test('netlink: a v6 address with NODAD and a v6 default route, byte for byte', () => {
  const a = msgNewAddr6(0, parseIPv6('fd00::2'), { prefix: 64 });
  assert.equal(a.readUInt16LE(4), RTM.NEWADDR);
  assert.deepEqual([...a.subarray(16, 20)], [AF_INET6, 64, IFA_F_NODAD, 0]);
  assert.equal(ADDR_INDEX_OFFSET, 20, 'ifa_index where IFINDEX patches it');
  assert.equal(a.readUInt16LE(24), 20, 'IFA_ADDRESS: 4 + 16 bytes');
  assert.equal(a.readUInt16LE(26), 1);
  assert.equal(a.subarray(28, 44).toString('hex'), 'fd000000000000000000000000000002');
  assert.equal(a.length, 44);
  const r = msgDefaultRoute6(parseIPv6('fd00::1'));
  assert.equal(r.readUInt16LE(4), RTM.NEWROUTE);
  assert.deepEqual([...r.subarray(16, 28)], [AF_INET6, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]);
  assert.equal(r.readUInt16LE(28 + 2), 4, 'RTA_OIF first');
  assert.equal(ROUTE_OIF_OFFSET, 32);
  assert.equal(r.readUInt16LE(36 + 2), 5, 'RTA_GATEWAY');
  assert.equal(r.subarray(40, 56).toString('hex'), 'fd000000000000000000000000000001');
});

test('vethPlan adds the v6 address and route only for dual-stack attachments', () => {
  const base = { bridge: 'br0', hostIf: 'bv1', ifname: 'eth0', mac: '02:42:0a:00:00:02', ip: '10.0.0.2', subnet: '10.0.0.0/24', mtu: 1500, gateway: '10.0.0.1', isolated: false };
  const v4 = vethPlan(base).steps.map((s) => s.what);
  assert.ok(!v4.some((w) => w.includes(':')));
  const v6 = vethPlan({ ...base, ip6: 'fd00::2', subnet6: 'fd00::/64', gateway6: 'fd00::1' }).steps.map((s) => s.what);
  assert.ok(v6.includes('add fd00::2/64 to eth0'), v6.join('\n'));
  assert.ok(v6.includes('add default route via fd00::1'));
  const internal = vethPlan({ ...base, ip6: 'fd00::2', subnet6: 'fd00::/64' }).steps.map((s) => s.what);
  assert.ok(!internal.includes('add default route via fd00::1'));
});

test('IPAM: dual-stack allocations are persisted, sequential, static, and released together', () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-ipam6-'));
  dirs.push(d);
  const pool = { subnet: parseCidr('10.9.0.0/24'), gateway: parseIPv4('10.9.0.1'), subnet6: parseCidr6('fd09::/64'), gateway6: parseIPv6('fd09::1') };
  const ipam = new Ipam(d, 'net6', pool);
  const a = (c: string) => ({ container: c, names: [c], mac: '', dns: [] });
  assert.equal(ipam.allocate(a('c1')), '10.9.0.2');
  assert.equal(ipam.find('c1')?.ip6, 'fd09::2', 'skips the gateway');
  ipam.allocate(a('c2'));
  assert.equal(ipam.find('c2')?.ip6, 'fd09::3');
  ipam.allocate(a('c3'), undefined, 'fd09::99');
  assert.equal(ipam.find('c3')?.ip6, 'fd09::99');
  assert.throws(() => ipam.allocate(a('c4'), undefined, 'fd09::99'), (e) => isNetworkError(e, 'conflict'));
  assert.throws(() => ipam.allocate(a('c4'), undefined, 'fd09::1'), /gateway/);
  assert.throws(() => ipam.allocate(a('c4'), undefined, 'fd0a::5'), /not a host address/);
  assert.throws(() => ipam.allocate(a('c4'), undefined, 'fd09::'), /not a host address/, 'the subnet-router anycast address');
  const f = JSON.parse(readFileSync(ipam.file, 'utf8')) as IpamFile;
  assert.equal(f.subnet6, 'fd09::/64');
  assert.equal(f.last6, 'fd09::3');
  assert.equal(ipam.release('c1'), '10.9.0.2');
  assert.ok(!ipam.list().some((x) => x.ip6 === 'fd09::2'), 'the v6 address went with the v4 one');
  ipam.allocate(a('c5'));
  assert.equal(ipam.find('c5')?.ip6, 'fd09::4', 'round robin: a released address is not reused at once');
  // v4-only networks: no v6 address, and --ip6 is refused with a hint
  const v4 = new Ipam(d, 'net4', { subnet: parseCidr('10.8.0.0/24'), gateway: parseIPv4('10.8.0.1') });
  v4.allocate(a('x'));
  assert.equal(v4.find('x')?.ip6, undefined);
  assert.throws(() => v4.allocate(a('y'), undefined, 'fd00::5'), /--ipv6/);
});

test('resolveV6: docker spellings, validation before anything is made, free subnet choice', () => {
  assert.equal(resolveV6({ subnet: '10.1.0.0/24' }).enabled, false);
  assert.throws(() => resolveV6({ subnet: 'fd00:1::/64' }), /without --ipv6/);
  assert.throws(() => resolveV6({ ipv6: true, subnet6: 'fd00:1::/130' }), /prefix length/);
  assert.throws(() => resolveV6({ ipv6: true, subnet6: 'fd00:1::/124' }), /too small/);
  assert.throws(() => resolveV6({ ipv6: true, subnet6: 'fd00:1::/64', gateway6: 'fd00:2::1' }), /not a host address/);
  assert.throws(() => resolveV6({ ipv6: true, gateway6: 'fd00:2::1' }), /needs an IPv6 --subnet/);
  const p = resolveV6({ ipv6: true, subnet: 'fd00:77::/64', gateway: 'fd00:77::fe' });
  assert.equal(p.subnet4, undefined);
  assert.equal(p.gateway4, undefined);
  assert.deepEqual(p.choose('id', []), { subnet6: 'fd00:77::/64', gateway6: 'fd00:77::fe' });
  assert.throws(() => p.choose('id', [{ name: 'other', subnet6: 'fd00:77::/64' }]), (e) => isNetworkError(e, 'conflict') && /network other/.test((e as Error).message));
  const auto = resolveV6({ ipv6: true, subnet: '10.1.0.0/24' });
  assert.equal(auto.subnet4, '10.1.0.0/24');
  const first = auto.choose('netid', []);
  assert.match(first.subnet6, /^fd[0-9a-f]{2}:.*::\/64$/);
  assert.equal(first.gateway6, formatIPv6(parseCidr6(first.subnet6).base + 1n));
  const second = auto.choose('netid', [{ name: 'x', subnet6: first.subnet6 }]);
  assert.notEqual(second.subnet6, first.subnet6, 'a taken ULA is skipped');
});

test('DNS: AAAA answers for dual-stack endpoints, empty NOERROR for v4-only names', () => {
  const r = recordsOf([{ ip: '10.0.0.2', ip6: 'fd00::2', names: ['web', 'www'] }, { ip: '10.0.0.3', names: ['db'] }]);
  const ask = (name: string, type: number) => {
    const out = answer(decode(query(7, name, type)), r);
    assert.notEqual(out, 'forward');
    return decode(encode(out as Exclude<typeof out, 'forward'>)).answers;
  };
  assert.deepEqual(ask('www', TYPE.AAAA), [{ name: 'www', type: TYPE.AAAA, ttl: 600, data: 'fd00::2' }]);
  assert.deepEqual(ask('web', TYPE.A).map((a) => a.data), ['10.0.0.2']);
  assert.deepEqual(ask('web', TYPE.ANY).map((a) => a.data), ['10.0.0.2', 'fd00::2']);
  assert.deepEqual(ask('db', TYPE.AAAA), []);
  const wire = encode({ id: 1, flags: 0x8180, questions: [], answers: [{ name: 'a', type: TYPE.AAAA, ttl: 1, data: 'fd00::2' }] });
  assert.equal(wire.subarray(wire.length - 16).toString('hex'), 'fd000000000000000000000000000002');
});

test('nft: v6 port map and DNAT rules; a dual-stack container publishes on v4 and v6', () => {
  const sk = skeleton('t');
  assert.match(sk, /add map inet t pub_any6 \{ type inet_proto \. inet_service : ipv6_addr \. inet_service; \}/);
  assert.match(sk, /prerouting fib daddr type local dnat ip6 to meta l4proto \. th dport map @pub_any6/);
  const ports = [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' as const }, { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80, proto: 'tcp' as const }];
  const add = portElements('t', 'create', 'cid', '10.0.0.2', ports, 'fd00::2');
  assert.equal(add, [
    'create element inet t pub_any4 { tcp . 8080 comment "cid" : 10.0.0.2 . 80 }',
    'create element inet t pub_any6 { tcp . 8080 comment "cid" : fd00::2 . 80 }',
    'create element inet t pub_ip4 { 127.0.0.1 . tcp . 8081 comment "cid" : 10.0.0.2 . 80 }',
    '',
  ].join('\n'));
  const del = portElements('t', 'delete', 'cid', '10.0.0.2', ports, 'fd00::2');
  assert.match(del, /delete element inet t pub_any6 \{ tcp \. 8080 \}/);
  assert.doesNotMatch(portElements('t', 'create', 'cid', '10.0.0.2', ports), /pub_any6/);
});

test('the resolver answers AAAA from the IPAM file, also through a search domain', async () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-dns6-'));
  dirs.push(d);
  const ipamFile = join(d, 'net.json');
  writeFileSync(ipamFile, JSON.stringify({ version: 1, subnet: '10.89.0.0/24', gateway: '10.89.0.1', subnet6: 'fd89::/64', allocations: { '10.89.0.2': { ip: '10.89.0.2', ip6: 'fd89::2', container: 'c1', names: ['web'], mac: '', dns: [] } } }));
  writeFileSync(join(d, 'resolv.conf'), 'search corp.example\n');
  const r = new Resolver({ ipamFile, address: '127.0.0.2', port: 0, resolvConf: join(d, 'resolv.conf'), forward: false });
  const ask = async (name: string, type: number) => decode((await r.handle(query(9, name, type), '10.89.0.7'))!).answers.map((a) => a.data);
  assert.deepEqual(await ask('web', TYPE.AAAA), ['fd89::2']);
  assert.deepEqual(await ask('web.corp.example', TYPE.AAAA), ['fd89::2'], 'search domain stripped');
  assert.deepEqual(await ask('web', TYPE.A), ['10.89.0.2']);
});
