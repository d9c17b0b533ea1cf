// The network flags of run/create (src/engine/networking-options.ts, src/engine/networking.ts):
// validated where they enter into docker's HostConfig shape; nothing needs root or the host.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { normalizeNetwork, networkKind } from '../../src/engine/networking-options.js';
import { portSpecs } from '../../src/engine/networking.js';
import { normalizeCreate } from '../../src/engine/options.js';
import type { ContainerRecord } from '../../src/engine/types.js';

test('modes: bridge by default, none, host, a user network, container:NAME, a netns path', () => {
  assert.equal(normalizeNetwork({}, 'bridge').hostConfig.NetworkMode, 'bridge');
  assert.equal(normalizeNetwork({ network: 'default' }, 'bridge').hostConfig.NetworkMode, 'bridge');
  assert.equal(networkKind('none'), 'none');
  assert.equal(networkKind('host'), 'host');
  assert.equal(networkKind('app'), 'bridge');
  assert.equal(networkKind('container:web'), 'container');
  assert.equal(networkKind('/run/netns/x'), 'path');
  assert.equal(networkKind('ns:/run/netns/x'), 'path');
  assert.throws(() => normalizeNetwork({ network: 'container:' }, 'bridge'), /invalid --network/);
  assert.throws(() => normalizeNetwork({ network: 'a b' }, 'bridge'), /invalid --network/);
});

test('-p into docker PortBindings, ranges, -P and --expose into ExposedPorts', () => {
  const n = normalizeNetwork({ publish: ['8080:80', '127.0.0.1::53/udp', '9000-9001:90-91', '7000-7010:70'], expose: ['443', '600-601/udp'] }, 'bridge');
  assert.deepEqual(n.hostConfig.PortBindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    '90/tcp': [{ HostIp: '', HostPort: '9000' }],
    '91/tcp': [{ HostIp: '', HostPort: '9001' }],
    '70/tcp': [{ HostIp: '', HostPort: '7000-7010' }],
  });
  assert.deepEqual(n.exposed, ['80/tcp', '53/udp', '90/tcp', '91/tcp', '70/tcp', '443/tcp', '600/udp', '601/udp']);
  const c = normalizeCreate({ image: 'host', publish: ['8080:80'], expose: ['443'], publishAll: true, network: 'app' });
  assert.deepEqual(Object.keys(c.config.ExposedPorts ?? {}), ['80/tcp', '443/tcp']);
  const rec = { config: c.config, hostConfig: c.hostConfig } as ContainerRecord;
  assert.deepEqual(portSpecs(rec), [':8080:80/tcp', '::443/tcp'], '-P adds the exposed ports not published by -p');
});

test('bad input names the flag and the fix', () => {
  assert.throws(() => normalizeNetwork({ publish: ['abc:80'] }, 'bridge'), /"-p, --publish" flag/);
  assert.throws(() => normalizeNetwork({ publish: ['80/icmp'] }, 'bridge'), /protocol "icmp"/);
  assert.throws(() => normalizeNetwork({ publish: ['1-3:1-2'] }, 'bridge'), /must match/);
  assert.throws(() => normalizeNetwork({ expose: ['x'] }, 'bridge'), /--expose/);
  assert.throws(() => normalizeNetwork({ ip: '10.0.0.300', network: 'app' }, 'bridge'), /--ip/);
  assert.throws(() => normalizeNetwork({ ip: '10.0.0.3' }, 'bridge'), /user defined networks only/);
  assert.throws(() => normalizeNetwork({ networkAliases: ['x'] }, 'bridge'), /user defined networks/);
  assert.throws(() => normalizeNetwork({ publish: ['80'], network: 'none' }, 'bridge'), /port publishing/);
  assert.throws(() => normalizeNetwork({ publishAll: true, network: 'container:x' }, 'bridge'), /port publishing/);
  assert.throws(() => normalizeNetwork({ dns: ['8.8.8.x'] }, 'bridge'), /--dns/);
  assert.throws(() => normalizeNetwork({ addHosts: ['nohost'] }, 'bridge'), /--add-host/);
  assert.throws(() => normalizeNetwork({ dns: ['1.1.1.1'], network: 'container:x' }, 'bridge'), /conflicting options/);
});

test('user networks keep --ip and --network-alias; host drops -p like docker', () => {
  const n = normalizeNetwork({ network: 'app', ip: '10.9.0.7', networkAliases: ['db'], dns: ['1.1.1.1'], addHosts: ['gw:host-gateway'] }, 'bridge');
  assert.deepEqual(n.hostConfig.NetworkEndpoint, { Aliases: ['db'], IPv4Address: '10.9.0.7' });
  assert.deepEqual(n.hostConfig.Dns, ['1.1.1.1']);
  assert.deepEqual(n.hostConfig.ExtraHosts, ['gw:host-gateway']);
  const h = normalizeNetwork({ network: 'host', publish: ['80:80'] }, 'bridge');
  assert.deepEqual(h.hostConfig.PortBindings, {});
});

test('--mac-address: canonical in NetworkEndpoint on bridge networks (default or user); refused elsewhere, named', () => {
  assert.deepEqual(normalizeNetwork({ macAddress: '92-D0-C6-0A-29-33' }, 'bridge').hostConfig.NetworkEndpoint, { Aliases: [], IPv4Address: '', MacAddress: '92:d0:c6:0a:29:33' });
  assert.equal(normalizeNetwork({ network: 'app', macAddress: '02:00:00:00:00:01' }, 'bridge').hostConfig.NetworkEndpoint?.MacAddress, '02:00:00:00:00:01');
  assert.equal(normalizeNetwork({}, 'bridge').hostConfig.NetworkEndpoint, undefined);
  assert.throws(() => normalizeNetwork({ macAddress: '01:00:5e:00:00:01' }, 'bridge'), /invalid argument "01:00:5e:00:00:01" for "--mac-address" flag: a multicast address/);
  for (const network of ['none', 'host', 'container:web', '/run/netns/x']) {
    assert.throws(() => normalizeNetwork({ network, macAddress: '02:00:00:00:00:01' }, 'bridge'), /conflicting options: --mac-address and the network mode/, network);
  }
});
