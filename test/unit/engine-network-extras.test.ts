// The engine side of the newer network options, without root or the host: --ip6/--egress-rate
// into HostConfig.NetworkEndpoint (networking-options.ts), docker's repeated --subnet/--gateway
// split by address family (network-families.ts), the create-time fit of a container's flags to
// its network (network-fit.ts) and the v6 fields of network inspect/ls (networks.ts).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { splitFamilies } from '../../src/engine/network-families.js';
import { checkEndpointFits } from '../../src/engine/network-fit.js';
import { normalizeNetwork } from '../../src/engine/networking-options.js';
import { inspectNetwork, networkRow } from '../../src/engine/networks.js';
import type { Network } from '../../src/network/manager.js';

test('--ip6 and --egress-rate land in NetworkEndpoint; bad values name the flag', () => {
  const hc = normalizeNetwork({ network: 'app', ip6: 'fd00:1::9', egressRate: '1mibps' }, 'bridge').hostConfig;
  assert.deepEqual(hc.NetworkEndpoint, { Aliases: [], IPv4Address: '', IPv6Address: 'fd00:1::9', EgressRate: 1048576 });
  // the default network takes a rate limit, not an --ip6
  assert.equal(normalizeNetwork({ egressRate: 125000 }, 'bridge').hostConfig.NetworkEndpoint?.EgressRate, 125000);
  assert.throws(() => normalizeNetwork({ ip6: 'fd00::1' }, 'bridge'), /user defined networks only/);
  assert.throws(() => normalizeNetwork({ network: 'app', ip6: '10.0.0.1' }, 'bridge'), /"--ip6" flag/);
  assert.throws(() => normalizeNetwork({ network: 'app', egressRate: 'fast' }, 'bridge'), /"--egress-rate" flag: expected/);
  assert.throws(() => normalizeNetwork({ network: 'app', egressRate: '1bit' }, 'bridge'), /"--egress-rate" flag: at least/);
  assert.throws(() => normalizeNetwork({ network: 'host', egressRate: '1mbit' }, 'bridge'), /bridge networks only/);
  assert.equal(normalizeNetwork({ network: 'app' }, 'bridge').hostConfig.NetworkEndpoint?.EgressRate, undefined);
});

test('--subnet/--gateway: one per address family, v6 only with --ipv6', () => {
  assert.deepEqual(splitFamilies({ subnet: ['10.1.0.0/24', 'fd00:2::/64'], gateway: ['fd00:2::fe', '10.1.0.254'], ipv6: true }),
    { subnet: '10.1.0.0/24', gateway: '10.1.0.254', subnet6: 'fd00:2::/64', gateway6: 'fd00:2::fe' });
  assert.deepEqual(splitFamilies({ subnet: '10.1.0.0/24' }), { subnet: '10.1.0.0/24' });
  assert.deepEqual(splitFamilies({ ipv6: true }), {});
  assert.throws(() => splitFamilies({ subnet: 'fd00:2::/64' }), /needs --ipv6/);
  assert.throws(() => splitFamilies({ subnet: ['10.1.0.0/24', '10.2.0.0/24'] }), /at most one IPv4 and one IPv6/);
  assert.throws(() => splitFamilies({ subnet: ['10.1.0.0/24'], gateway: ['fd00::1'], ipv6: true }), /IPv6 gateway needs an IPv6 --subnet/);
  assert.throws(() => splitFamilies({ gateway: '10.1.0.1' }), /IPv4 gateway needs an IPv4 --subnet/);
});

const base: Network = {
  id: 'a'.repeat(64), name: 'n6', driver: 'bridge', bridge: 'br-x', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, mtu: 1500,
  isolate: false, dns: true, labels: {}, options: {}, created: '2026-01-01T00:00:00.000Z', builtin: false,
};

test('create-time fit: --ip6 needs an --ipv6 network; a CNI network refuses --ip, --ip6, -p and --egress-rate', () => {
  const hc = (o: object) => normalizeNetwork({ network: 'n6', ...o }, 'bridge').hostConfig as never;
  assert.throws(() => checkEndpointFits(base, hc({ ip6: 'fd00::5' })), /has no IPv6 \(create it with --ipv6\)/);
  checkEndpointFits({ ...base, ipv6: true, subnet6: 'fd00::/64', gateway6: 'fd00::1' }, hc({ ip6: 'fd00::5' }));
  const cni: Network = { ...base, driver: 'cni', bridge: '', gateway: '' };
  assert.throws(() => checkEndpointFits(cni, hc({ egressRate: '1mbit', publish: ['80'] })), /CNI network: --egress-rate, -p\/-P/);
  checkEndpointFits(cni, hc({ networkAliases: ['x'] }));
});

test('network inspect and ls: EnableIPv6, the v6 IPAM entry, containers\' IPv6Address, the IPv6 column', () => {
  const n = { ...base, ipv6: true, subnet6: 'fd00:3::/64', gateway6: 'fd00:3::1', containers: [{ container: 'b'.repeat(64), name: 'c', ip: '10.9.0.2', mac: 'm', ip6: 'fd00:3::2' }] };
  const ins = inspectNetwork(n) as any;
  assert.equal(ins.EnableIPv6, true);
  assert.deepEqual(ins.IPAM.Config, [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' }, { Subnet: 'fd00:3::/64', Gateway: 'fd00:3::1' }]);
  assert.equal(ins.Containers['b'.repeat(64)].IPv6Address, 'fd00:3::2/64');
  assert.equal(networkRow(n).IPv6, 'true');
  assert.equal(networkRow(base).IPv6, 'false');
  assert.equal((inspectNetwork({ ...base, containers: [] }) as any).EnableIPv6, false);
});
