import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { isNetworkError } from '../../src/network/errors.js';
import { collides, expandPorts, formatPortMapping, parsePortSpec, type PortMapping } from '../../src/network/ports.js';

test('port specs: every docker form', () => {
  assert.deepEqual(parsePortSpec('80'), { hostIp: '', host: null, container: { start: 80, end: 80 }, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('8080:80'), { hostIp: '', host: { start: 8080, end: 8080 }, container: { start: 80, end: 80 }, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), { hostIp: '127.0.0.1', host: { start: 8080, end: 8080 }, container: { start: 80, end: 80 }, proto: 'udp' });
  assert.deepEqual(parsePortSpec('127.0.0.1::80'), { hostIp: '127.0.0.1', host: null, container: { start: 80, end: 80 }, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('0.0.0.0:8080:80'), { hostIp: '', host: { start: 8080, end: 8080 }, container: { start: 80, end: 80 }, proto: 'tcp' });
  assert.deepEqual(parsePortSpec('8000-8010:9000-9010/SCTP').container, { start: 9000, end: 9010 });
  assert.equal(parsePortSpec('8000-8010:9000-9010/sctp').proto, 'sctp');
  assert.deepEqual(parsePortSpec('8000-8010:80').host, { start: 8000, end: 8010 });
});

test('port specs: bad input names the problem', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['80/icmp', /invalid protocol "icmp"/],
    ['0:80', /expected a number 1-65535/],
    ['70000:80', /expected a number 1-65535/],
    ['8080:80:90:100', /expected \[ip:\]/],
    ['300.1.1.1:80:80', /invalid host IP/],
    ['8010-8000:80', /end is before the start/],
    ['8000-8002:80-81', /host range has 3 ports and the container range 2/],
    ['[::1]:80:80', /IPv6/],
    ['http:80', /invalid port "http"/],
  ];
  for (const [s, re] of bad) assert.throws(() => parsePortSpec(s), (e) => isNetworkError(e, 'invalid') && re.test(e.message), s);
});

test('expanding: ranges pairwise, conflicts, random ports avoid taken ones', () => {
  const none = () => undefined;
  assert.deepEqual(expandPorts([parsePortSpec('8000-8002:9000-9002')], none).map((m) => `${m.hostPort}:${m.containerPort}`), ['8000:9000', '8001:9001', '8002:9002']);
  const busy = new Set([8000, 8001]);
  const taken = (m: PortMapping) => (busy.has(m.hostPort) ? 'busy' : undefined);
  assert.deepEqual(expandPorts([parsePortSpec('8000-8005:80')], taken).map((m) => m.hostPort), [8002]);
  assert.throws(() => expandPorts([parsePortSpec('8000:80')], taken), (e) => isNetworkError(e, 'conflict') && /0\.0\.0\.0:8000\/tcp: port is already allocated \(busy\)/.test(e.message));
  assert.throws(() => expandPorts([parsePortSpec('8000-8001:80')], taken), /no free host port in 8000-8001\/tcp/);
  // random: from the ephemeral range, deterministic with a fixed rand
  const r = expandPorts([parsePortSpec('80'), parsePortSpec('443')], none, { start: 40000, end: 40001 }, () => 0);
  assert.deepEqual(r.map((m) => m.hostPort), [40000, 40001]);
  // the same host port twice in one request
  assert.throws(() => expandPorts([parsePortSpec('8080:80'), parsePortSpec('8080:81')], none), /published twice/);
  // tcp and udp on one port are fine
  assert.equal(expandPorts([parsePortSpec('53:53/tcp'), parsePortSpec('53:53/udp')], none).length, 2);
});

test('collisions: any address covers specific ones; protocols are separate', () => {
  const m = (hostIp: string, hostPort: number, proto: 'tcp' | 'udp' = 'tcp') => ({ hostIp, hostPort, proto });
  assert.ok(collides(m('', 80), m('127.0.0.1', 80)));
  assert.ok(collides(m('127.0.0.1', 80), m('127.0.0.1', 80)));
  assert.ok(!collides(m('127.0.0.1', 80), m('10.0.0.1', 80)));
  assert.ok(!collides(m('', 80), m('', 80, 'udp')));
  assert.equal(formatPortMapping({ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }), '80/tcp -> 0.0.0.0:8080');
});
