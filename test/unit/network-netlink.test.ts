import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseCidr, parseIPv4, parseMac } from '../../src/network/cidr.js';
import {
  ADDR_INDEX_OFFSET, IFLA, NLM_F, OP, Plan, ROUTE_OIF_OFFSET, RTM, VETH_MASTER_OFFSET, attr, cstr, msgBridgePort, msgDefaultRoute, msgDelLink,
  msgLoopbackUp, msgNewAddr, msgNewBridge, msgNewVeth,
} from '../../src/network/netlink.js';
import { bridgePlan, vethName, vethPlan } from '../../src/network/links.js';

/** Walks rtattrs: [type, payload][] */
function attrs(b: Buffer, off = 0, end = b.length): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    out.push([b.readUInt16LE(off + 2), b.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}
const hdr = (m: Buffer) => ({ len: m.readUInt32LE(0), type: m.readUInt16LE(4), flags: m.readUInt16LE(6) });

test('rtattr: length excludes padding, payload padded to 4', () => {
  const a = attr(IFLA.IFNAME, cstr('eth0'));
  assert.deepEqual([...a], [9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0]);
});

test('veth message: host end on the bridge and up; peer named, addressed, in the netns fd', () => {
  const m = msgNewVeth('bv0123456789abc', 'eth0', { mtu: 1400, peerMac: parseMac('02:42:0a:58:00:02'), peerNsFd: 3 });
  const h = hdr(m);
  assert.equal(h.len, m.length);
  assert.equal(h.type, RTM.NEWLINK);
  assert.equal(h.flags, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  assert.equal(m.readUInt32LE(16 + 8), 1, 'IFF_UP');
  const top = attrs(m, 32);
  assert.equal(top[0]![0], IFLA.MASTER);
  assert.equal(VETH_MASTER_OFFSET, 32 + 4, 'the master value sits where IFINDEX patches it');
  assert.equal(top[1]![1].toString(), 'bv0123456789abc\0');
  assert.equal(top[2]![1].readUInt32LE(0), 1400);
  const linkinfo = attrs(top[3]![1]);
  assert.equal(linkinfo[0]![1].toString(), 'veth\0');
  const peer = attrs(linkinfo[1]![1])[0]![1];
  const peerAttrs = new Map(attrs(peer, 16));
  assert.equal(peerAttrs.get(IFLA.IFNAME)!.toString(), 'eth0\0');
  assert.equal(peerAttrs.get(IFLA.ADDRESS)!.toString('hex'), '02420a580002');
  assert.equal(peerAttrs.get(IFLA.NET_NS_FD)!.readUInt32LE(0), 3);
});

test('address, route, lo, delete, bridge and bridge-port messages', () => {
  const a = msgNewAddr(0, parseIPv4('10.88.0.2'), parseCidr('10.88.0.0/16'));
  assert.equal(hdr(a).type, RTM.NEWADDR);
  assert.equal(a[16], 2, 'AF_INET');
  assert.equal(a[17], 16, 'prefix');
  assert.equal(ADDR_INDEX_OFFSET, 20);
  const aa = new Map(attrs(a, 24));
  assert.equal(aa.get(2)!.toString('hex'), '0a580002', 'IFA_LOCAL in network order');
  assert.equal(aa.get(4)!.toString('hex'), '0a58ffff', 'IFA_BROADCAST');
  const r = msgDefaultRoute(parseIPv4('10.88.0.1'));
  assert.equal(hdr(r).type, RTM.NEWROUTE);
  assert.equal(r.length, 16 + 12 + 8 + 8, 'struct rtmsg is 12 bytes');
  assert.deepEqual([...r.subarray(16, 28)], [2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]);
  assert.equal(ROUTE_OIF_OFFSET, 32);
  assert.equal(new Map(attrs(r, 28)).get(5)!.toString('hex'), '0a580001');
  const lo = msgLoopbackUp();
  assert.equal(lo.readInt32LE(20), 1);
  assert.equal(hdr(msgDelLink('x')).type, RTM.DELLINK);
  const br = msgNewBridge('berth0', { mtu: 1500 });
  assert.ok(br.includes(Buffer.from('bridge\0')));
  const port = msgBridgePort('bvx', { isolated: true });
  const li = attrs(new Map(attrs(port, 32)).get(IFLA.LINKINFO)!);
  assert.equal(li[0]![1].toString(), 'bridge\0');
  assert.deepEqual(attrs(li[1]![1]), [[33, Buffer.from([1])]]);
  assert.throws(() => msgDelLink('a-name-that-is-too-long'), /invalid interface name/);
  assert.throws(() => msgDelLink('../x'), /invalid interface name/);
});

test('plans: the order of steps, and their wire encoding', () => {
  const p = vethPlan({ bridge: 'berth0', hostIf: 'bv1', ifname: 'eth0', mac: '02:42:0a:58:00:02', ip: '10.88.0.2', subnet: '10.88.0.0/16', mtu: 1500, gateway: '10.88.0.1', isolated: true });
  assert.deepEqual(p.steps.map((s) => s.what), [
    'find bridge berth0', 'create veth bv1 -> eth0', 'isolate bridge port bv1', 'enter the container netns', 'set lo up',
    'find eth0', 'add 10.88.0.2 to eth0', 'set eth0 up', 'find eth0', 'add default route via 10.88.0.1',
  ]);
  const enc = p.encode();
  assert.equal(enc.readUInt32LE(0), OP.IFINDEX);
  assert.equal(enc.readUInt32LE(8), VETH_MASTER_OFFSET);
  assert.equal(enc.subarray(12, 12 + enc.readUInt32LE(4) - 4).toString(), 'berth0');
  const internal = vethPlan({ bridge: 'b', hostIf: 'bv1', ifname: 'eth1', mac: '02:42:0a:58:00:02', ip: '10.88.0.2', subnet: '10.88.0.0/16', mtu: 1500, isolated: false });
  assert.ok(!internal.steps.some((s) => /route|isolate/.test(s.what)));
  assert.deepEqual(bridgePlan({ name: 'berth0', gateway: '10.88.0.1', subnet: '10.88.0.0/16', mtu: 1500, localnet: true }).steps.map((s) => s.op), [OP.SEND, OP.IFINDEX, OP.SEND]);
  const ign = new Plan().sendIgnoring(msgDelLink('x'), 'ENODEV', 'del');
  assert.equal(ign.steps[0]!.payload.readInt32LE(0), 19);
  assert.equal(vethName('bv', 'net', 'ctr').length, 15);
  assert.notEqual(vethName('bv', 'net', 'ctr'), vethName('bv', 'net2', 'ctr'));
});
