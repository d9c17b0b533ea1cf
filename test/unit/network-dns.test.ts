import { strict as assert } from 'node:assert';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { answer, decode, DnsFormatError, encode, ptrToIPv4, query, RCODE, recordsOf, TYPE, type Message } from '../../src/network/dns.js';
import { idleCheck, Resolver } from '../../src/network/dns-server.js';

const records = recordsOf([
  { ip: '10.89.0.2', names: ['web', 'abcdef123456', 'www'] },
  { ip: '10.89.0.3', names: ['db'] },
  { ip: '10.89.0.4', names: ['www'] },
]);

test('encode/decode round-trip of a query and a response', () => {
  const q = decode(query(0x1234, 'web.example.', TYPE.A));
  assert.deepEqual(q, { id: 0x1234, flags: 0x0100, questions: [{ name: 'web.example', type: TYPE.A, class: 1 }], answers: [] });
  const r: Message = { id: 7, flags: 0x8180, questions: q.questions, answers: [{ name: 'web.example', type: TYPE.A, ttl: 600, data: '10.89.0.2' }, { name: 'x', type: TYPE.PTR, ttl: 5, data: 'web' }] };
  assert.deepEqual(decode(encode(r)), r);
});

test('decode: compression pointers; malformed input is a format error, never a crash', () => {
  // header + question "a.b" + answer whose name is a pointer to offset 12
  const q = query(1, 'a.b');
  const ans = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
  const msg = Buffer.concat([q, ans]);
  msg.writeUInt16BE(1, 6);
  assert.deepEqual(decode(msg).answers, [{ name: 'a.b', type: 1, ttl: 60, data: '10.0.0.1' }]);
  const loop = Buffer.concat([query(1, 'a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.throws(() => decode(loop), DnsFormatError);
  assert.throws(() => decode(Buffer.alloc(5)), DnsFormatError);
  assert.throws(() => decode(query(1, 'abc').subarray(0, 15)), DnsFormatError);
  const many = query(1, 'a');
  many.writeUInt16BE(1000, 4);
  assert.throws(() => decode(many), DnsFormatError);
  // random garbage
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(Array.from({ length: 12 + (i % 40) }, () => Math.floor(Math.random() * 256)));
    try {
      decode(b);
    } catch (e) {
      assert.ok(e instanceof DnsFormatError || e instanceof RangeError, String(e));
    }
  }
});

test('answers: names, aliases, case, AAAA empty, PTR, unknown names forwarded', () => {
  const a = answer(decode(query(9, 'WEB', TYPE.A)), records) as Message;
  assert.equal(a.flags & 0xf, RCODE.NOERROR);
  assert.ok(a.flags & 0x8000 && a.flags & 0x0400 && a.flags & 0x0100, 'QR AA RD');
  assert.deepEqual(a.answers.map((x) => x.data), ['10.89.0.2']);
  assert.equal(a.answers[0]!.name, 'WEB');
  assert.deepEqual((answer(decode(query(9, 'www.', TYPE.A)), records) as Message).answers.map((x) => x.data), ['10.89.0.2', '10.89.0.4']);
  const six = answer(decode(query(9, 'db', TYPE.AAAA)), records) as Message;
  assert.equal(six.answers.length, 0);
  assert.equal(six.flags & 0xf, RCODE.NOERROR);
  assert.equal(answer(decode(query(9, 'example.com', TYPE.A)), records), 'forward');
  const ptr = answer(decode(query(9, '3.0.89.10.in-addr.arpa', TYPE.PTR)), records) as Message;
  assert.deepEqual(ptr.answers.map((x) => x.data), ['db']);
  assert.equal(answer(decode(query(9, '9.9.9.9.in-addr.arpa', TYPE.PTR)), records), 'forward');
  assert.equal(ptrToIPv4('300.0.0.1.in-addr.arpa'), undefined);
  const two = decode(query(9, 'web'));
  two.questions.push(two.questions[0]!);
  assert.equal(((answer(two, records) as Message).flags & 0xf), RCODE.FORMERR);
  const notify = decode(query(9, 'web'));
  notify.flags |= 4 << 11;
  assert.equal(((answer(notify, records) as Message).flags & 0xf), RCODE.NOTIMP);
});

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('the resolver process logic: reloads the IPAM file, forwards to upstreams, SERVFAIL when none answers', async () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-dns-'));
  dirs.push(d);
  const ipamFile = join(d, 'net.json');
  const write = (allocs: Record<string, unknown>) => writeFileSync(ipamFile, JSON.stringify({ version: 1, subnet: '10.89.0.0/24', gateway: '10.89.0.1', allocations: allocs }));
  write({ '10.89.0.2': { ip: '10.89.0.2', container: 'c1', names: ['web'], mac: '', dns: [] } });
  // a fake upstream on loopback answering everything with 1.2.3.4
  const up = createSocket('udp4');
  await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));
  up.on('message', (m, ri) => {
    const q = decode(m);
    up.send(encode({ id: q.id, flags: 0x8180, questions: q.questions, answers: [{ name: q.questions[0]!.name, type: TYPE.A, ttl: 1, data: '1.2.3.4' }] }), ri.port, ri.address);
  });
  writeFileSync(join(d, 'resolv.conf'), 'nameserver 127.0.0.1\nsearch corp.example\n');
  const r = new Resolver({ ipamFile, address: '127.0.0.2', port: 0, resolvConf: join(d, 'resolv.conf'), forward: true, upstreamPort: up.address().port });
  await r.listen();
  const ask = (name: string) => new Promise<Message>((resolve) => {
    const c = createSocket('udp4');
    c.on('message', (m) => {
      c.close();
      resolve(decode(m));
    });
    c.send(query(42, name), r.port(), '127.0.0.2');
  });
  try {
    assert.deepEqual((await ask('web')).answers.map((a) => a.data), ['10.89.0.2']);
    assert.deepEqual((await ask('web.corp.example')).answers.map((a) => a.data), ['10.89.0.2'], 'search domain stripped');
    assert.deepEqual((await ask('elsewhere.test')).answers.map((a) => a.data), ['1.2.3.4'], 'forwarded');
    write({ '10.89.0.9': { ip: '10.89.0.9', container: 'c2', names: ['db'], mac: '', dns: [] } });
    assert.deepEqual((await ask('db')).answers.map((a) => a.data), ['10.89.0.9'], 'reloaded');
    // garbage is dropped, responses are not answered
    assert.equal(await r.handle(Buffer.from('nonsense'), '127.0.0.1'), undefined);
    const other = decode((await r.handle(query(6, 'db'), '10.90.0.5'))!);
    assert.equal(other.flags & 0xf, RCODE.REFUSED, 'a client outside the network is refused');
    assert.equal(other.answers.length, 0);
    const noFwd = new Resolver({ ipamFile, address: '127.0.0.1', port: 0, resolvConf: join(d, 'resolv.conf'), forward: false });
    const sf = decode((await noFwd.handle(query(5, 'elsewhere.test'), '10.89.0.9'))!);
    assert.equal(sf.flags & 0xf, RCODE.SERVFAIL);
  } finally {
    r.close();
    up.close();
  }
});

test('an idle resolver exits only after the idle time, with the network lock, and removes its pid file', () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-dns-idle-'));
  dirs.push(d);
  const o = { ipamFile: join(d, 'n.json'), lockFile: join(d, 'n.lock'), pidFile: join(d, 'n.pid'), idleMs: 1000 };
  const write = (n: number) => writeFileSync(o.ipamFile, JSON.stringify({ version: 1, subnet: '', gateway: '', allocations: n ? { '10.0.0.2': {} } : {} }));
  writeFileSync(o.pidFile, `${process.pid} 0\n`);
  write(1);
  const st: { idleSince?: number } = {};
  assert.equal(idleCheck(o, st, 0), 'stay');
  write(0);
  assert.equal(idleCheck(o, st, 100), 'stay');
  assert.equal(st.idleSince, 100);
  write(1);
  assert.equal(idleCheck(o, st, 5000), 'stay', 'busy again: the idle clock restarts');
  write(0);
  assert.equal(idleCheck(o, st, 6000), 'stay');
  writeFileSync(o.lockFile, `${process.pid}\n`); // an attach holds the network lock
  assert.equal(idleCheck(o, st, 8000), 'stay');
  rmSync(o.lockFile);
  assert.equal(idleCheck(o, st, 8000), 'exit');
  assert.throws(() => readFileSync(o.pidFile), /ENOENT/);
  rmSync(o.ipamFile);
  assert.equal(idleCheck(o, {}, 0), 'exit', 'the network is gone');
});
