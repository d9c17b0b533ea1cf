// Egress rate limits: rate parsing (tc's units), tbf sizes, and the RTM_NEWQDISC message byte
// for byte (what `tc qdisc replace dev X root handle 1: tbf ...` sends).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { isNetworkError } from '../../src/network/errors.js';
import { vethPlan } from '../../src/network/links.js';
import { NLM_F } from '../../src/network/netlink.js';
import { MIN_RATE, msgTbf, parseRate, QDISC_INDEX_OFFSET, RTM_NEWQDISC, tbfSizes } from '../../src/network/tc.js';

test('parseRate: bytes per second as numbers, tc units in strings, clear errors', () => {
  assert.equal(parseRate(1048576), 1048576);
  assert.equal(parseRate('10mbit'), 1_250_000);
  assert.equal(parseRate('8kbit'), 1000, 'SI: 8000 bits');
  assert.equal(parseRate('1mibps'), 1048576);
  assert.equal(parseRate('1MiBps'), 1048576, 'case-insensitive');
  assert.equal(parseRate('512kibit'), 65536);
  assert.equal(parseRate('1.5mbps'), 1_500_000);
  assert.equal(parseRate('1gbit'), 125_000_000);
  for (const bad of ['', 'fast', '10', '10 parsecs', '-1mbit', '1e6bps', 'mbit']) {
    assert.throws(() => parseRate(bad), (e) => isNetworkError(e, 'invalid') && /egressRate/.test((e as Error).message) && /10mbit/.test((e as Error).message), bad);
  }
  assert.throws(() => parseRate(MIN_RATE - 1), /at least 1000 bytes per second/);
  assert.throws(() => parseRate(Number.NaN), /invalid egressRate/);
  assert.throws(() => parseRate('2tibps'), /1 TiB/);
});

test('tbfSizes: a bucket of 10 ms but at least two frames, a queue of ~100 ms', () => {
  assert.deepEqual(tbfSizes(1048576, 1500), { burst: 10486, limit: 104858 + 10486 });
  const slow = tbfSizes(8000, 1500);
  assert.equal(slow.burst, 3028, 'two full frames even when 10 ms is less');
  assert.equal(slow.limit, 2 * 3028 + 3028);
});

test('msgTbf: tcmsg, kind, tc_tbf_qopt with linklayer ethernet, burst; RATE64 over 4 GiB/s', () => {
  const m = msgTbf(7, { rate: 1048576, burst: 10486, limit: 115344 });
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), RTM_NEWQDISC);
  assert.equal(m.readUInt16LE(6), NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE);
  assert.equal(QDISC_INDEX_OFFSET, 20);
  assert.equal(m.readInt32LE(QDISC_INDEX_OFFSET), 7, 'tcm_ifindex');
  assert.equal(m.readUInt32LE(24), 0x10000, 'handle 1:');
  assert.equal(m.readUInt32LE(28), 0xffffffff, 'parent TC_H_ROOT');
  // TCA_KIND "tbf\0"
  assert.equal(m.readUInt16LE(36), 8);
  assert.equal(m.readUInt16LE(38), 1);
  assert.equal(m.subarray(40, 44).toString('latin1'), 'tbf\0');
  // TCA_OPTIONS { TCA_TBF_PARMS (36 bytes), TCA_TBF_BURST }
  assert.equal(m.readUInt16LE(46), 2);
  assert.equal(m.readUInt16LE(48), 40);
  assert.equal(m.readUInt16LE(50), 1, 'TCA_TBF_PARMS');
  const q = m.subarray(52, 88);
  assert.equal(q[1], 1, 'rate.linklayer = ethernet: the kernel needs no rate table');
  assert.equal(q.readUInt32LE(8), 1048576, 'rate in bytes/s');
  assert.equal(q.readUInt32LE(20), 0, 'no peak rate');
  assert.equal(q.readUInt32LE(24), 115344, 'limit');
  assert.equal(m.readUInt16LE(88), 8);
  assert.equal(m.readUInt16LE(90), 6, 'TCA_TBF_BURST');
  assert.equal(m.readUInt32LE(92), 10486);
  assert.equal(m.length, 96);
  const fast = msgTbf(1, { rate: 2 ** 33, burst: 1 << 20, limit: 1 << 24 });
  assert.equal(fast.subarray(52, 88).readUInt32LE(8), 0xffffffff);
  assert.equal(fast.readUInt16LE(98), 4, 'TCA_TBF_RATE64');
  assert.equal(fast.readBigUInt64LE(100), 2n ** 33n);
});

test('vethPlan installs the qdisc on the container interface, after it is up', () => {
  const base = { bridge: 'br0', hostIf: 'bv1', ifname: 'eth0', mac: '02:42:0a:00:00:02', ip: '10.0.0.2', subnet: '10.0.0.0/24', mtu: 1500, isolated: false };
  assert.ok(!vethPlan(base).steps.some((s) => s.what.includes('tbf')));
  const steps = vethPlan({ ...base, egressRate: 125000 }).steps.map((s) => s.what);
  const i = steps.indexOf('limit eth0 to 125000 bytes/s (tbf)');
  assert.ok(i > steps.indexOf('enter the container netns') && i > steps.indexOf('set eth0 up'), steps.join('\n'));
});
