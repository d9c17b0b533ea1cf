import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  contains, firstHost, formatCidr, formatIPv4, hostRange, isIPv4, last, macFromIPv4, normalizeMac, overlaps, parseCidr, parseIPv4, parseMac, size, within,
} from '../../src/network/cidr.js';
import { isNetworkError } from '../../src/network/errors.js';

test('IPv4 parse and format round-trip', () => {
  for (const s of ['0.0.0.0', '10.88.0.1', '255.255.255.255', '192.168.1.20']) assert.equal(formatIPv4(parseIPv4(s)), s);
  assert.equal(parseIPv4('10.0.0.1'), 0x0a000001);
  for (const bad of ['10.0.0', '10.0.0.256', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5', '', ' 1.2.3.4', '1..2.3']) {
    assert.equal(isIPv4(bad), false, bad);
    assert.throws(() => parseIPv4(bad), (e) => isNetworkError(e, 'invalid') && /IPv4/.test(e.message));
  }
});

test('CIDR parse: strict host bits, prefix bounds, clear errors', () => {
  assert.deepEqual(parseCidr('10.88.0.0/16'), { base: 0x0a580000, prefix: 16 });
  assert.equal(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
  assert.throws(() => parseCidr('10.88.0.1/16'), /host bits are set; did you mean 10\.88\.0\.0\/16/);
  assert.deepEqual(parseCidr('10.88.0.1/16', { strict: false }), { base: 0x0a580000, prefix: 16 });
  assert.throws(() => parseCidr('10.88.0.0/33'), /prefix length must be 0-32/);
  assert.throws(() => parseCidr('10.88.0.0'), /CIDR notation/);
  assert.throws(() => parseCidr('10.300.0.0/16'), /not an IPv4 address/);
  assert.throws(() => parseCidr('fd00::/64'), /not an IPv4 address/);
});

test('CIDR math: size, ranges, containment, overlap', () => {
  const c = parseCidr('10.89.3.0/24');
  assert.equal(size(c), 256);
  assert.equal(formatIPv4(last(c)), '10.89.3.255');
  assert.deepEqual(hostRange(c), { first: parseIPv4('10.89.3.1'), last: parseIPv4('10.89.3.254') });
  assert.equal(formatIPv4(firstHost(c)), '10.89.3.1');
  assert.deepEqual(hostRange(parseCidr('10.0.0.0/31')), { first: parseIPv4('10.0.0.0'), last: parseIPv4('10.0.0.1') });
  assert.ok(contains(c, parseIPv4('10.89.3.77')));
  assert.ok(!contains(c, parseIPv4('10.89.4.0')));
  assert.ok(within(parseCidr('10.89.3.128/25'), c));
  assert.ok(!within(c, parseCidr('10.89.3.128/25')));
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), c));
  assert.ok(overlaps(c, parseCidr('10.0.0.0/8')));
  assert.ok(!overlaps(parseCidr('10.89.2.0/24'), c));
  assert.ok(overlaps(parseCidr('0.0.0.0/0'), c));
  // the top of the address space does not wrap
  const top = parseCidr('255.255.255.0/24');
  assert.equal(formatIPv4(last(top)), '255.255.255.255');
  assert.ok(contains(top, parseIPv4('255.255.255.255')));
});

test('MACs from addresses are unicast and locally administered', () => {
  assert.equal(macFromIPv4(parseIPv4('10.88.0.2')), '02:42:0a:58:00:02');
  assert.deepEqual([...parseMac('02:42:0a:58:00:02')], [2, 0x42, 10, 0x58, 0, 2]);
  assert.throws(() => parseMac('01:00:5e:00:00:01'), /multicast/);
  assert.throws(() => parseMac('02:42:0a:58:00'), /six hex bytes/);
});

test('--mac-address: the forms docker takes, canonical out; multicast, broadcast, all-zero and malformed refused', () => {
  assert.equal(normalizeMac('92:D0:C6:0A:29:33'), '92:d0:c6:0a:29:33');
  assert.equal(normalizeMac('02-42-ac-11-00-02'), '02:42:ac:11:00:02');
  for (const [bad, re] of [
    ['01:00:5e:00:00:01', /multicast/], ['ff:ff:ff:ff:ff:ff', /multicast/], ['33:33:00:00:00:01', /multicast/],
    ['00:00:00:00:00:00', /all-zero/], ['92:d0:c6:0a:29', /six hex bytes/], ['92:d0-c6:0a:29:33', /six hex bytes/],
    ['92d0c60a2933', /six hex bytes/], ['g2:d0:c6:0a:29:33', /six hex bytes/], ['', /six hex bytes/],
  ] as [string, RegExp][]) {
    assert.throws(() => normalizeMac(bad, 'MAC address (--mac-address)'), (e) => isNetworkError(e, 'invalid') && re.test(e.message) && e.message.includes('--mac-address'), bad);
  }
});
