import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { bridgeElements, checkTableName, deleteElements, portElements, skeleton } from '../../src/network/firewall.js';

test('the skeleton: own table only, idempotent (chains flushed before their rules), no ruleset flush', () => {
  const s = skeleton('berth');
  assert.ok(!/flush ruleset/.test(s));
  assert.ok(s.split('\n').filter(Boolean).every((l) => / inet berth( |$)/.test(l)), 'every line names inet berth');
  for (const chain of ['forward', 'prerouting', 'output', 'postrouting']) {
    const flush = s.indexOf(`flush chain inet berth ${chain}`);
    const rule = s.indexOf(`add rule inet berth ${chain} `);
    assert.ok(flush >= 0 && flush < rule, `${chain} is flushed before its rules`);
  }
  // isolation between networks, internal networks, only replies/DNAT into a bridge
  const fwd = s.split('\n').filter((l) => l.startsWith('add rule inet berth forward ')).map((l) => l.slice('add rule inet berth forward '.length));
  assert.deepEqual(fwd, [
    'iifname . oifname @same accept',
    'iifname @internal drop',
    'oifname @internal drop',
    'oifname @bridges ct status dnat accept',
    'iifname @bridges oifname @bridges drop',
    'oifname @bridges ct state established,related accept',
    'oifname @bridges drop',
  ]);
  // publishing in prerouting and output; 127.0.0.1 masquerade; egress masquerade
  assert.match(s, /prerouting fib daddr type local dnat ip to meta l4proto \. th dport map @pub_any4/);
  assert.match(s, /output dnat ip to ip daddr \. meta l4proto \. th dport map @pub_ip4/);
  assert.match(s, /postrouting ip saddr 127\.0\.0\.0\/8 oifname @bridges masquerade/);
  assert.match(s, /postrouting iifname @bridges oifname != @bridges masquerade/);
});

test('network and port elements', () => {
  assert.equal(bridgeElements('berth', 'add', { bridge: 'berth0', internal: false }),
    'add element inet berth bridges { "berth0" }\nadd element inet berth same { "berth0" . "berth0" }\n');
  assert.match(bridgeElements('t', 'delete', { bridge: 'berth-1', internal: true }), /delete element inet t internal \{ "berth-1" \}/);
  const ports = [
    { hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' as const },
    { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, proto: 'udp' as const },
  ];
  assert.equal(portElements('berth', 'create', 'c1', '10.88.0.2', ports),
    'create element inet berth pub_any4 { tcp . 8080 comment "c1" : 10.88.0.2 . 80 }\n' +
    'create element inet berth pub_ip4 { 127.0.0.1 . udp . 5353 comment "c1" : 10.88.0.2 . 53 }\n');
  assert.equal(portElements('berth', 'delete', 'c1', '10.88.0.2', ports),
    'delete element inet berth pub_any4 { tcp . 8080 }\ndelete element inet berth pub_ip4 { 127.0.0.1 . udp . 5353 }\n');
  assert.equal(deleteElements('berth', [{ map: 'pub_any4', key: 'tcp . 8080' }]), 'delete element inet berth pub_any4 { tcp . 8080 }\n');
});

test('names that could inject nft syntax are refused', () => {
  assert.throws(() => checkTableName('berth; flush ruleset'), /invalid nft table name/);
  assert.throws(() => bridgeElements('berth', 'add', { bridge: 'x" }; flush ruleset; #', internal: false }), /refusing/);
  assert.throws(() => portElements('berth', 'create', 'c"1', '10.0.0.1', [{ hostIp: '', hostPort: 1, containerPort: 1, proto: 'tcp' }]), /refusing/);
});
