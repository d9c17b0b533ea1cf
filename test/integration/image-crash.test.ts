// Crash safety and concurrency of `berth pull` (download + unpack) against a real registry:
// kill -9 in the middle of a layer download and in the middle of a layer unpack, then pull
// again: the store must be consistent (every blob what its name says, no half layer in layers/,
// no leftovers in ingest/ or tmp/) and the image must run. Two `berth pull`s of one image at
// once fetch each blob once (counted at a proxy in front of the registry).
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/bundle.js';
import {
  buildImage, busyboxLayerTar, fileDigest, haveRegistry, randomLayerTar, startProxy, startRegistry,
  type BuiltImage, type TestProxy, type TestRegistry,
} from '../helpers/registry.js';
import { FileContentStore } from '../../src/image/content-store.js';
import { ImageStore } from '../../src/image/image-store.js';
import { push } from '../../src/image/registry/push.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-crash-'));
const stateRoot = `/run/berth-cr${process.pid}`;
const skip = haveRegistry() ? false : 'docker-registry is not installed (scripts/setup-host.sh)';
const FILES = 4000;

/** A layer of many small files: its unpack takes long enough to be killed in the middle. */
function manyFilesTar(): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'berth-many-'));
  try {
    mkdirSync(join(d, 'many'));
    for (let i = 0; i < FILES; i++) writeFileSync(join(d, 'many', `f${i}`), randomBytes(512));
    return spawnSync('tar', ['-C', d, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', 'many'], { maxBuffer: 1 << 28 }).stdout;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function berthSync(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', input: '', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function pullAsync(root: string, ref: string): { child: ChildProcess; done: Promise<{ status: number | null; stderr: string }> } {
  const child = spawn(BERTH, ['--root', root, '--state-root', stateRoot, 'pull', '-q', ref], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ status: number | null; stderr: string }>((res) => child.on('exit', (status) => res({ status, stderr })));
  return { child, done };
}

/** Polls cond every 5 ms until it holds (true) or the child exits or 60 s pass (false). */
async function waitFor(cond: () => boolean, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return cond();
}

const ls = (p: string) => (existsSync(p) ? readdirSync(p) : []);

/** The store under root is consistent and complete for img. */
function assertConsistent(root: string, img: BuiltImage): void {
  const blobs = join(root, 'content', 'blobs', 'sha256');
  for (const hex of ls(blobs)) assert.equal(fileDigest(join(blobs, hex)), `sha256:${hex}`, `blob ${hex} is what its name says`);
  for (const d of [img.manifest, img.config, ...img.layers]) assert.ok(existsSync(join(blobs, d.digest.slice(7))), `${d.digest} stored`);
  assert.deepEqual(ls(join(root, 'content', 'ingest')), [], 'no leftovers in ingest/');
  assert.deepEqual(ls(join(root, 'storage', 'tmp')), [], 'no leftovers in storage/tmp/');
  const layers = ls(join(root, 'storage', 'layers'));
  assert.equal(layers.length, img.layers.length, 'every layer unpacked once');
  for (const l of layers) assert.ok(existsSync(join(root, 'storage', 'layers', l, 'meta.json')), `layer ${l} is complete`);
}

describe('berth pull: kill -9 and concurrency', { skip, concurrency: false }, () => {
  let reg: TestRegistry;
  let img: BuiltImage;
  let name: string;
  const proxies: TestProxy[] = [];

  before(async () => {
    reg = await startRegistry();
    const content = new FileContentStore(join(dir, 'src', 'content'));
    const images = new ImageStore(join(dir, 'src', 'images'), content);
    img = buildImage(content, [busyboxLayerTar(), randomLayerTar('big', 6 * 1024 * 1024), manyFilesTar()]);
    name = `crash/img:${process.pid}`;
    await images.set(`${reg.host}/${name}`, img.manifest);
    await push(`${reg.host}/${name}`, { content, images }, { anonymous: true });
  });

  after(async () => {
    for (const p of proxies) await p.close();
    await reg?.stop();
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateRoot, { recursive: true, force: true });
    assert.deepEqual(mounts, []);
  });

  test('kill -9 in the middle of a download: the next pull resumes it and the store verifies', async () => {
    const root = join(dir, 'dl');
    const big = img.layers[1]!;
    const stall = await startProxy(reg, [{ match: (r) => r.method === 'GET' && r.url!.endsWith(`/blobs/${big.digest}`), stallAfter: 1024 * 1024 }]);
    proxies.push(stall);
    const p = pullAsync(root, `${stall.host}/${name}`);
    const partial = join(root, 'content', 'ingest', `sha256-${big.digest.slice(7)}`);
    const seen = await waitFor(() => existsSync(partial) && statSync(partial).size >= 1024 * 1024, p.child);
    assert.ok(seen, `the download of the big layer started (pull: ${(await Promise.race([p.done, Promise.resolve({ stderr: 'running' })])).stderr})`);
    p.child.kill('SIGKILL');
    assert.equal((await p.done).status, null);
    assert.ok(!existsSync(join(root, 'content', 'blobs', 'sha256', big.digest.slice(7))), 'the cut blob is not in blobs/');
    assert.equal(berthSync(root, ['image', 'inspect', `${stall.host}/${name}`]).status, 1, 'no image was named');

    const clean = await startProxy(reg, []);
    proxies.push(clean);
    const again = await pullAsync(root, `${clean.host}/${name}`).done; // async: the proxy runs in this process
    assert.equal(again.status, 0, again.stderr);
    const gets = clean.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${big.digest}`));
    assert.equal(gets.length, 1);
    assert.match(gets[0]!.range ?? '', /^bytes=\d+-$/, 'the second pull resumed the cut download');
    assertConsistent(root, img);
    const run = berthSync(root, ['run', '--rm', `${clean.host}/${name}`, 'sh', '-c', 'ls /many | wc -l; wc -c < /data/big']);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.split(/\s+/).filter(Boolean), [String(FILES), String(6 * 1024 * 1024)]);
  });

  test('kill -9 in the middle of an unpack: the half layer is never used, the next pull clears it', async () => {
    const root = join(dir, 'unpack');
    const tmp = join(root, 'storage', 'tmp');
    const p = pullAsync(root, `${reg.host}/${name}`);
    // a layer of the many small files half written in tmp/
    const half = () => ls(tmp).some((t) => ls(join(tmp, t, 'diff', 'many')).length > 50);
    const seen = await waitFor(half, p.child);
    assert.ok(seen, 'caught a layer in the middle of its unpack');
    p.child.kill('SIGKILL');
    assert.equal((await p.done).status, null);
    const left = ls(tmp);
    assert.ok(left.length > 0, 'the killed unpack left its work in tmp/');
    for (const l of ls(join(root, 'storage', 'layers'))) assert.ok(existsSync(join(root, 'storage', 'layers', l, 'meta.json')), 'only complete layers in layers/');

    const again = berthSync(root, ['pull', '-q', `${reg.host}/${name}`]);
    assert.equal(again.status, 0, again.stderr);
    assertConsistent(root, img);
    const run = berthSync(root, ['run', '--rm', `${reg.host}/${name}`, 'sh', '-c', 'ls /many | wc -l']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), String(FILES));
  });

  test('two berth pulls of one image at once download each blob once and unpack it into one store', async () => {
    const root = join(dir, 'two');
    const counting = await startProxy(reg, []);
    proxies.push(counting);
    const ref = `${counting.host}/${name}`;
    const [a, b] = [pullAsync(root, ref), pullAsync(root, ref)];
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.status, 0, ra.stderr);
    assert.equal(rb.status, 0, rb.stderr);
    for (const d of [img.config, ...img.layers]) {
      assert.equal(counting.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${d.digest}`)).length, 1, `${d.digest} fetched once`);
    }
    assertConsistent(root, img);
    assert.deepEqual(ls(join(root, 'content', 'leases')), [], 'leases released');
  });
});
