import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { parseCidr, parseIPv4 } from '../../src/network/cidr.js';
import { isNetworkError } from '../../src/network/errors.js';
import { Ipam, type IpamFile } from '../../src/network/ipam.js';
import { ownerAlive, tryLock, unlock, withLockSync } from '../../src/network/lock.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-ipam-'));
  dirs.push(d);
  return d;
}
const pool = (subnet: string, gateway: string, range?: string) => ({
  subnet: parseCidr(subnet), gateway: parseIPv4(gateway), ...(range ? { range: parseCidr(range) } : {}),
});
const owner = (c: string) => ({ container: c, names: [c], mac: '', dns: [] });

test('allocation skips the gateway, goes round-robin, and releases', () => {
  const ipam = new Ipam(tmp(), 'n1', pool('10.50.0.0/29', '10.50.0.1'));
  assert.deepEqual(['a', 'b', 'c'].map((c) => ipam.allocate(owner(c))), ['10.50.0.2', '10.50.0.3', '10.50.0.4']);
  assert.equal(ipam.release('b'), '10.50.0.3');
  assert.equal(ipam.release('b'), undefined);
  // a just-released address is not handed out again at once
  assert.equal(ipam.allocate(owner('d')), '10.50.0.5');
  assert.equal(ipam.allocate(owner('e')), '10.50.0.6');
  assert.equal(ipam.allocate(owner('f')), '10.50.0.3');
  assert.throws(() => ipam.allocate(owner('g')), /no free address left in 10\.50\.0\.0\/29/);
  assert.throws(() => ipam.allocate(owner('a')), (e) => isNetworkError(e, 'conflict') && /already has 10\.50\.0\.2/.test(e.message));
  const f = JSON.parse(readFileSync(ipam.file, 'utf8')) as IpamFile;
  assert.equal(f.allocations['10.50.0.2']!.mac, '02:42:0a:32:00:02');
  assert.equal(Object.keys(f.allocations).length, 5);
});

test('a gateway in the middle, --ip-range, static --ip', () => {
  const ipam = new Ipam(tmp(), 'n2', pool('10.51.0.0/24', '10.51.0.130', '10.51.0.128/30'));
  // every address of the range is usable except the gateway (.130)
  assert.deepEqual(['a', 'b', 'c'].map((c) => ipam.allocate(owner(c))), ['10.51.0.128', '10.51.0.129', '10.51.0.131']);
  assert.throws(() => ipam.allocate(owner('d')), /no free address left in 10\.51\.0\.128\/30/);
  // static addresses may be outside the range but must be in the subnet
  assert.equal(ipam.allocate(owner('s'), '10.51.0.7'), '10.51.0.7');
  assert.throws(() => ipam.allocate(owner('t'), '10.51.0.7'), (e) => isNetworkError(e, 'conflict') && /already in use by container s/.test(e.message));
  assert.throws(() => ipam.allocate(owner('t'), '10.51.0.130'), /it is the network's gateway/);
  assert.throws(() => ipam.allocate(owner('t'), '10.52.0.7'), /not in the network's subnet 10\.51\.0\.0\/24/);
  assert.throws(() => ipam.allocate(owner('t'), '10.51.0.255'), /network or broadcast address/);
  assert.throws(() => ipam.allocate(owner('t'), '10.51.0'), /invalid IP address/);
  assert.deepEqual(ipam.releaseExcept(new Set(['a'])).map((a) => a.container).sort(), ['b', 'c', 's']);
  assert.deepEqual(ipam.list().map((a) => a.container), ['a']);
});

test('a MAC is one container alone on a network: --mac-address, and the derived MACs around it', () => {
  const ipam = new Ipam(tmp(), 'n1', pool('10.50.0.0/29', '10.50.0.1'));
  // a takes the MAC that 10.50.0.3 would derive
  assert.equal(ipam.allocate({ ...owner('a'), mac: '02:42:0a:32:00:03' }), '10.50.0.2');
  assert.equal(ipam.find('a')?.mac, '02:42:0a:32:00:03');
  assert.throws(() => ipam.allocate({ ...owner('b'), mac: '02:42:0a:32:00:03' }), (e) => isNetworkError(e, 'conflict') && /MAC address 02:42:0a:32:00:03 is already in use by container a/.test(e.message));
  // the automatic address skips 10.50.0.3; a static one there is refused
  assert.equal(ipam.allocate(owner('c')), '10.50.0.4');
  assert.throws(() => ipam.allocate(owner('d'), '10.50.0.3'), (e) => isNetworkError(e, 'conflict') && /its MAC address 02:42:0a:32:00:03 is in use/.test(e.message));
  assert.equal(ipam.list().length, 2, 'nothing half-allocated');
  ipam.release('a');
  assert.equal(ipam.allocate(owner('d'), '10.50.0.3'), '10.50.0.3');
});

test('a stale lock (dead owner) is broken; a live one is waited for', () => {
  const d = tmp();
  const ipam = new Ipam(d, 'n3', pool('10.53.0.0/24', '10.53.0.1'));
  writeFileSync(ipam.lockFile, '999999999 12345\n'); // no such pid
  assert.equal(ipam.allocate(owner('a')), '10.53.0.2');
  assert.ok(!existsSync(ipam.lockFile));
  assert.ok(ownerAlive(`${process.pid}\n`));
  assert.ok(!ownerAlive(`${process.pid} 1\n`)); // same pid, other start time: a reused pid
  assert.ok(tryLock(ipam.lockFile));
  assert.ok(!tryLock(ipam.lockFile));
  unlock(ipam.lockFile);
  const start = Date.now();
  writeFileSync(ipam.lockFile, `${process.ppid}\n`); // alive: must time out
  assert.throws(() => withLockSync(ipam.lockFile, () => 1, 100), /timed out after 100 ms waiting for the lock/);
  assert.ok(Date.now() - start >= 90);
  unlock(ipam.lockFile);
});

test('20 processes allocating at once get 20 distinct addresses', async () => {
  const d = tmp();
  const mod = fileURLToPath(new URL('../../src/network/ipam.js', import.meta.url));
  const lib = fileURLToPath(new URL('../../src/network/cidr.js', import.meta.url));
  const script = `
    import { Ipam } from ${JSON.stringify(mod)};
    import { parseCidr, parseIPv4 } from ${JSON.stringify(lib)};
    const ipam = new Ipam(${JSON.stringify(d)}, 'par', { subnet: parseCidr('10.60.0.0/24'), gateway: parseIPv4('10.60.0.1') });
    const ips = [];
    for (let i = 0; i < 3; i++) ips.push(ipam.allocate({ container: process.pid + '-' + i, names: [], mac: '', dns: [] }));
    process.stdout.write(ips.join(' '));
  `;
  const run = () => new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (err += b));
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
  const outs = await Promise.all(Array.from({ length: 20 }, run));
  const ips = outs.flatMap((o) => o.split(' '));
  assert.equal(ips.length, 60);
  assert.equal(new Set(ips).size, 60, 'duplicate addresses');
  const f = JSON.parse(readFileSync(join(d, 'par.json'), 'utf8')) as IpamFile;
  assert.equal(Object.keys(f.allocations).length, 60);
  assert.ok(!existsSync(join(d, 'par.lock')));
});
