// Pull and push against a real registry (Debian's docker-registry on 127.0.0.1), with test
// images built here: round trips, chunked uploads, mounts, multi-platform indexes, resumed
// downloads, hostile answers and concurrent pulls.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileContentStore } from '../../src/image/content-store.js';
import { ImageStore } from '../../src/image/image-store.js';
import { pull, type PullOptions, type Stores } from '../../src/image/registry/pull.js';
import { push } from '../../src/image/registry/push.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import type { ProgressEvent } from '../../src/image/registry/progress.js';
import { DigestMismatchError } from '../../src/image/errors.js';
import { hostPlatform } from '../../src/image/platform.js';
import {
  buildImage, buildIndex, busyboxLayerTar, fileDigest, haveRegistry, randomLayerTar, startProxy, startRegistry,
  type TestProxy, type TestRegistry,
} from '../helpers/registry.js';

const skip = haveRegistry() ? false : 'docker-registry is not installed (scripts/setup-host.sh)';
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
let reg: TestRegistry;

const opts: PullOptions = { anonymous: true, certsDirs: [], retryBaseMs: 10, retryMaxMs: 50 };

function stores(root = mkdtempSync(join(tmpdir(), 'berth-img-'))): Stores & { root: string } {
  if (!dirs.includes(root)) dirs.push(root);
  const content = new FileContentStore(join(root, 'content'));
  return { root, content, images: new ImageStore(join(root, 'images'), content) };
}

async function proxy(rules: Parameters<typeof startProxy>[1]): Promise<TestProxy> {
  const p = await startProxy(reg, rules);
  cleanups.push(() => p.close());
  return p;
}

function assertBlobsIntact(s: Stores): void {
  for (const b of s.content.list()) assert.equal(fileDigest(s.content.path(b.digest)), b.digest, `blob ${b.digest} is what its name says`);
  assert.deepEqual(readdirSync(s.content.ingestDir), [], 'no leftovers in ingest/');
}

describe('registry: pull and push', { skip }, () => {
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await reg?.stop();
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('pushes a busybox image and pulls it back by tag and by digest, digests equal', async () => {
    const a = stores();
    const img = buildImage(a.content, [busyboxLayerTar(), randomLayerTar('one', 200_000)]);
    const name = `${reg.host}/test/busybox:1`;
    await a.images.set(name, img.manifest);
    const events: ProgressEvent[] = [];
    const pushed = await push(name, a, { ...opts, onProgress: (e) => events.push(e) });
    assert.equal(pushed.digest, img.manifest.digest);
    assert.equal(pushed.uploaded, 3);
    assert.ok(events.some((e) => e.kind === 'layer' && e.status === 'pushed'));
    assert.ok(events.some((e) => e.kind === 'message' && e.text === `1: digest: ${img.manifest.digest} size: ${img.manifest.size}`));

    const b = stores();
    const pe: ProgressEvent[] = [];
    const pulled = await pull(name, b, { ...opts, onProgress: (e) => pe.push(e) });
    assert.equal(pulled.digest, img.manifest.digest);
    assert.equal(pulled.name, name);
    assert.equal(pulled.downloaded, 4);
    assert.match(pulled.status, /^Downloaded newer image for 127\.0\.0\.1:\d+\/test\/busybox:1$/);
    for (const d of [img.manifest, img.config, ...img.layers]) assert.ok(b.content.has(d.digest), `${d.digest} pulled`);
    assertBlobsIntact(b);
    assert.equal(b.images.inspect(name).Id, img.config.digest);
    for (const l of img.layers) {
      const mine = pe.filter((e) => e.kind === 'layer' && e.digest === l.digest).map((e) => (e.kind === 'layer' ? e.status : ''));
      assert.equal(mine[0], 'waiting');
      assert.ok(mine.includes('downloading'));
      assert.equal(mine.at(-1), 'done');
    }
    assert.ok(pe.some((e) => e.kind === 'message' && e.text === `Digest: ${img.manifest.digest}`));

    const again = await pull(name, b, opts);
    assert.equal(again.downloaded, 0);
    assert.match(again.status, /^Image is up to date/);
    const byDigest = await pull(`${reg.host}/test/busybox@${img.manifest.digest}`, b, opts);
    assert.equal(byDigest.downloaded, 0);
    assert.equal(byDigest.name, `${reg.host}/test/busybox@${img.manifest.digest}`);
    assert.deepEqual(b.images.inspect(name).RepoDigests, [`${reg.host}/test/busybox@${img.manifest.digest}`]);
  });

  it('mounts blobs across repositories, skips existing ones, uploads in chunks', async () => {
    const a = stores();
    const img = buildImage(a.content, [randomLayerTar('chunky', 700_000)]);
    await a.images.set(`${reg.host}/test/chunked:1`, img.manifest);
    const chunked = await push(`${reg.host}/test/chunked:1`, a, { ...opts, chunkSize: 256 * 1024 });
    assert.equal(chunked.uploaded, 2);
    const again = await push(`${reg.host}/test/chunked:1`, a, opts);
    assert.deepEqual([again.uploaded, again.mounted, again.existing], [0, 0, 2]);
    await a.images.tag(`${reg.host}/test/chunked:1`, `${reg.host}/other/copy:2`);
    const events: ProgressEvent[] = [];
    const mounted = await push(`${reg.host}/other/copy:2`, a, { ...opts, onProgress: (e) => events.push(e) });
    assert.deepEqual([mounted.uploaded, mounted.mounted], [0, 2]);
    assert.ok(events.some((e) => e.kind === 'layer' && e.status === 'mounted' && e.detail === 'test/chunked'));
    const b = stores();
    const r = await pull(`${reg.host}/other/copy:2`, b, opts);
    assert.equal(r.digest, img.manifest.digest);
    assertBlobsIntact(b);
  });

  it('pulls Docker schema2 images', async () => {
    const a = stores();
    const img = buildImage(a.content, [randomLayerTar('d', 10_000)], { docker: true });
    await a.images.set(`${reg.host}/test/docker:v2`, img.manifest);
    await push(`${reg.host}/test/docker:v2`, a, opts);
    const b = stores();
    const r = await pull(`${reg.host}/test/docker:v2`, b, opts);
    assert.equal(r.record.target.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(b.images.inspect(`${reg.host}/test/docker:v2`).Id, img.config.digest);
  });

  it('pushes a two-platform index and pulls by platform', async () => {
    const a = stores();
    const amd = buildImage(a.content, [randomLayerTar('amd', 20_000)], { platform: { os: 'linux', architecture: 'amd64' }, label: 'amd' });
    const arm = buildImage(a.content, [randomLayerTar('arm', 20_000)], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, label: 'arm' });
    const idx = buildIndex(a.content, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const name = `${reg.host}/test/multi:1`;
    await a.images.set(name, idx, { platform: { os: 'linux', architecture: 'amd64' } });
    const pushed = await push(name, a, opts);
    assert.equal(pushed.digest, idx.digest);

    const b = stores();
    const r = await pull(name, b, { ...opts, platform: 'linux/arm64' });
    assert.equal(r.digest, idx.digest);
    assert.equal(r.record.manifest.digest, arm.manifest.digest);
    assert.ok(b.content.has(arm.layers[0]!.digest));
    assert.ok(!b.content.has(amd.layers[0]!.digest), 'only the chosen platform is downloaded');
    assert.equal(b.images.inspect(name).Architecture, 'arm64');

    if (hostPlatform().architecture === 'amd64') {
      const c = stores();
      const h = await pull(name, c, opts);
      assert.equal(h.record.manifest.digest, amd.manifest.digest);
    }
    await assert.rejects(pull(name, stores(), { ...opts, platform: 'linux/s390x' }), /no manifest for platform linux\/s390x in the index \(it has: linux\/amd64, linux\/arm64\)/);
    // a single-platform image refuses an explicit other platform
    await assert.rejects(pull(`${reg.host}/test/docker:v2`, stores(), { ...opts, platform: 'linux/arm64' }), /is for linux\/amd64, not the requested linux\/arm64/);
    // an index of which only one platform is here cannot be pushed
    await b.images.tag(name, `${reg.host}/test/partial:1`);
    await assert.rejects(push(`${reg.host}/test/partial:1`, b, opts), /not stored here \(pull every platform first\)/);
  });

  it('resumes a download cut in the middle with a Range request', async () => {
    const a = stores();
    const img = buildImage(a.content, [randomLayerTar('big', 3 * 1024 * 1024)]);
    await a.images.set(`${reg.host}/test/big:1`, img.manifest);
    await push(`${reg.host}/test/big:1`, a, opts);
    const layer = img.layers[0]!;
    const p = await proxy([{ match: (r) => r.method === 'GET' && r.url!.endsWith(`/blobs/${layer.digest}`), times: 1, cutAfter: 1024 * 1024 }]);
    const b = stores();
    const events: ProgressEvent[] = [];
    await pull(`${p.host}/test/big:1`, b, { ...opts, onProgress: (e) => events.push(e) });
    assertBlobsIntact(b);
    const gets = p.requests.filter((r) => r.path.endsWith(`/blobs/${layer.digest}`));
    assert.equal(gets.length, 2, 'one cut download, one resumed');
    assert.equal(gets[0]!.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(gets[1]!.range ?? '');
    assert.ok(m, `the second request asks for the rest (${gets[1]!.range})`);
    const from = Number(m[1]);
    assert.ok(from > 0 && from <= 1024 * 1024, `resumed from ${from}`);
    assert.equal(gets[1]!.bytes, layer.size - from, 'only the rest was sent again');
    assert.ok(events.some((e) => e.kind === 'layer' && e.status === 'retrying'));
  });

  it('rejects a registry that sends wrong content, keeping nothing', async () => {
    const a = stores();
    const img = buildImage(a.content, [randomLayerTar('evil', 100_000)]);
    const name = `test/evil:1`;
    await a.images.set(`${reg.host}/${name}`, img.manifest);
    await push(`${reg.host}/${name}`, a, opts);
    const layer = img.layers[0]!;

    const badBlob = await proxy([{ match: (r) => r.method === 'GET' && r.url!.includes(`/blobs/${layer.digest}`), corrupt: true }]);
    const b = stores();
    await assert.rejects(pull(`${badBlob.host}/${name}`, b, opts), (e: unknown) => e instanceof DigestMismatchError && e.expected === layer.digest);
    assert.ok(!b.content.has(layer.digest));
    assert.deepEqual(b.images.records(), []);
    assert.deepEqual(readdirSync(b.content.ingestDir), []);

    const badManifest = await proxy([{ match: (r) => r.method === 'GET' && r.url!.includes('/manifests/'), corrupt: true }]);
    const c = stores();
    await assert.rejects(pull(`${badManifest.host}/${name}`, c, opts), DigestMismatchError, 'by tag: the body does not match Docker-Content-Digest');
    await assert.rejects(pull(`${badManifest.host}/test/evil@${img.manifest.digest}`, c, opts), DigestMismatchError, 'by digest');
    assert.deepEqual(c.content.list(), []);

    // a registry answering a by-digest request with another (valid) manifest is refused too
    const other = buildImage(a.content, [randomLayerTar('other', 1000)]);
    const swap = await proxy([{ match: (r) => r.url!.includes(`/manifests/${img.manifest.digest}`), replaceBody: a.content.read(other.manifest.digest) }]);
    const d = stores();
    await assert.rejects(pull(`${swap.host}/test/evil@${img.manifest.digest}`, d, opts), (e: unknown) => e instanceof DigestMismatchError && e.expected === img.manifest.digest);
    assert.deepEqual(d.content.list(), []);
    const client = new RegistryClient(reg.host, opts);
    try {
      await assert.rejects(client.getManifest('test/evil', other.manifest.digest), /not found \(MANIFEST_UNKNOWN\)/);
    } finally {
      await client.close();
    }
  });

  it('retries 5xx answers with backoff', async () => {
    const a = stores();
    const img = buildImage(a.content, [randomLayerTar('flaky', 1000)]);
    await a.images.set(`${reg.host}/test/flaky:1`, img.manifest);
    await push(`${reg.host}/test/flaky:1`, a, opts);
    const p = await proxy([
      { match: (r) => r.method === 'GET' && r.url!.includes('/manifests/'), times: 2, status: 503 },
      { match: (r) => r.method === 'GET' && r.url!.includes('/blobs/'), times: 1, status: 500 },
    ]);
    const b = stores();
    await pull(`${p.host}/test/flaky:1`, b, opts);
    assert.equal(p.requests.filter((r) => r.path.includes('/manifests/')).length, 3);
    const hard = await proxy([{ match: (r) => r.url!.includes('/manifests/'), status: 503 }]);
    await assert.rejects(pull(`${hard.host}/test/flaky:1`, stores(), { ...opts, retries: 2 }), /HTTP 503/);
    assert.equal(hard.requests.filter((r) => r.path.includes('/manifests/')).length, 3, 'bounded: 1 + 2 retries');
  });

  it('two clients pulling the same image into one store download each blob once and corrupt nothing', async () => {
    const a = stores();
    const img = buildImage(a.content, [busyboxLayerTar(), randomLayerTar('p1', 1_500_000), randomLayerTar('p2', 800_000)]);
    await a.images.set(`${reg.host}/test/parallel:1`, img.manifest);
    await push(`${reg.host}/test/parallel:1`, a, opts);
    const p = await proxy([]);
    const root = mkdtempSync(join(tmpdir(), 'berth-img-'));
    const one = stores(root);
    const two = stores(root); // separate instances: only the on-disk locks coordinate them
    const [r1, r2] = await Promise.all([pull(`${p.host}/test/parallel:1`, one, opts), pull(`${p.host}/test/parallel:1`, two, opts)]);
    assert.equal(r1.digest, img.manifest.digest);
    assert.equal(r2.digest, img.manifest.digest);
    for (const d of [img.config, ...img.layers]) {
      assert.equal(p.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${d.digest}`)).length, 1, `${d.digest} downloaded once`);
    }
    assertBlobsIntact(one);
    assert.equal(one.images.records().length, 1);
    assert.deepEqual(readdirSync(one.content.leasesDir), [], 'leases released');
  });
});
