// Per-container egress rate limit (attach's egressRate): a busybox container (berth-oci) sends
// 4 MiB to a TCP sink the test runs on its network's gateway address; under a 1 MiB/s limit the
// transfer's rate lands within ±25%, and the same transfer without the limit is several times
// faster (so the limit, not the machine, is what held it back). Unique names; nothing is left.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BERTH_OCI, makeBundle, type Bundle } from '../helpers/bundle.js';
import { addNetns, subnetPicker } from '../helpers/network.js';
import { isNetworkError } from '../../src/network/errors.js';
import { NetworkManager, type Network } from '../../src/network/index.js';

const run36 = (process.pid % 1296).toString(36).padStart(2, '0');
const TAG = `t${run36}${Date.now().toString(36).slice(-3)}`;
const VETH = `bx${run36}`;
const TABLE = `berth_testtc_${TAG}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-nettc-'));
const netnses: string[] = [];
const bundles: Bundle[] = [];
let m: NetworkManager;
let net: Network;
let sink: Server;
let sinkPort: number;
const SIZE = 4 * 1024 * 1024;
/** Per source address: when its connection came and when the SIZE-th byte arrived. */
interface Transfer { start: number; end?: number; bytes: number; done: Promise<void>; resolve: () => void }
const transfers = new Map<string, Transfer>();

const freeSubnet = subnetPicker(200, 50);

const netns = (name: string): string => addNetns(name, netnses);

function expect(ip: string) {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const t: Transfer = { start: 0, bytes: 0, done, resolve };
  transfers.set(ip, t);
  return t;
}

/** A container on `net` (with `egressRate` when given) sends SIZE bytes to the sink; seconds taken. */
async function send(name: string, egressRate?: string | number): Promise<{ seconds: number; ip: string; qdisc: string }> {
  const id = `${TAG}-${name}`;
  const path = netns(id);
  const a = await m.attach(id, path, { network: net.name, ...(egressRate !== undefined ? { egressRate } : {}) });
  try {
    const qdisc = execFileSync('tc', ['-n', id, 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    const t = expect(a.ip);
    const b = makeBundle(['sh', '-c', `dd if=/dev/zero bs=65536 count=${SIZE / 65536} 2>/dev/null | nc -w 30 ${net.gateway} ${sinkPort}; true`], (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network').concat({ type: 'network', path });
    });
    bundles.push(b);
    // asynchronously: the sink runs in this process and must keep reading meanwhile
    b.write();
    const child = spawn(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '--bundle', b.dir, b.id], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([t.done, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`transfer did not finish: ${t.bytes} bytes; ${stderr}`)), 60000)))]);
    } finally {
      clearTimeout(timer);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    }
    return { seconds: (t.end! - t.start) / 1000, ip: a.ip, qdisc };
  } finally {
    await m.detach(id);
  }
}

before(async () => {
  m = new NetworkManager({
    configDir: join(dir, 'config'), runDir: join(dir, 'run'), table: TABLE, defaultBridge: `bt${TAG}`,
    defaultSubnet: freeSubnet(), subnetPool: '10.252.0.0/16', vethPrefix: VETH, bridgePrefix: `b${TAG}`,
    resolvConf: join(dir, 'resolv.conf'),
  });
  writeFileSync(join(dir, 'resolv.conf'), '# none\n');
  net = await m.create({ name: `${TAG}-n`, subnet: freeSubnet(), options: { dns: 'false' } });
  // The sink counts bytes per sender and closes at SIZE (busybox nc does not half-close).
  sink = createServer((c) => {
    const t = transfers.get((c.remoteAddress ?? '').replace(/^::ffff:/, ''));
    if (!t) return c.destroy();
    t.start = performance.now();
    c.on('data', (d: Buffer) => {
      t.bytes += d.length;
      if (t.bytes >= SIZE && t.end === undefined) {
        t.end = performance.now();
        c.destroy();
        t.resolve();
      }
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => sink.listen(0, net.gateway, r));
  sinkPort = (sink.address() as { port: number }).port;
});

after(async () => {
  sink?.close();
  for (const b of bundles) b.cleanup();
  await m?.destroyAll().catch(() => {});
  for (const n of netnses) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

describe('egress rate limit (tbf)', () => {
  test('a 1 MiB/s limit holds a 4 MiB transfer to 1 MiB/s ±25%; without it the transfer is much faster', async () => {
    const limited = await send('lim', '1mibps');
    assert.match(limited.qdisc, /qdisc tbf 1: root .*rate 8388Kbit/, limited.qdisc);
    const rate = SIZE / limited.seconds;
    console.log(`# egress limit 1 MiB/s: measured ${(rate / 1048576).toFixed(3)} MiB/s (${limited.seconds.toFixed(2)} s for 4 MiB)`);
    assert.ok(rate > 0.75 * 1048576 && rate < 1.25 * 1048576, `rate ${(rate / 1048576).toFixed(3)} MiB/s outside 1 MiB/s ±25%`);
    const free = await send('free');
    assert.match(free.qdisc, /noqueue/, 'no limit asked, no qdisc');
    console.log(`# no limit: ${(SIZE / free.seconds / 1048576).toFixed(1)} MiB/s`);
    assert.ok(free.seconds * 4 < limited.seconds, `unlimited ${free.seconds.toFixed(2)} s vs limited ${limited.seconds.toFixed(2)} s`);
  });

  test('bytes per second as a number; bad rates are refused before anything is made', async () => {
    const id = `${TAG}-num`;
    const path = netns(id);
    await m.attach(id, path, { network: net.name, egressRate: 2_000_000 });
    try {
      assert.match(execFileSync('tc', ['-n', id, 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' }), /tbf .*rate 16Mbit/);
    } finally {
      await m.detach(id);
    }
    for (const bad of ['fast', '10', '10 parsecs', '-1mbit', 10]) {
      await assert.rejects(m.attach(`${TAG}-bad`, path, { network: net.name, egressRate: bad }), (e) => isNetworkError(e, 'invalid') && /egressRate/.test((e as Error).message), String(bad));
    }
    assert.equal(m.inspect(net.name).containers.length, 0, 'nothing half-made');
  });
});
