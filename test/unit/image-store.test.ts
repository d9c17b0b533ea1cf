import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileContentStore } from '../../src/image/content-store.js';
import { ImageStore } from '../../src/image/image-store.js';
import { collectGarbage } from '../../src/image/gc.js';
import { formatImageTable, humanDuration, humanSize } from '../../src/image/format.js';
import { ImageConflictError, ImageNotFoundError } from '../../src/image/errors.js';
import { MEDIA, type Descriptor } from '../../src/image/types.js';
import { digestOf } from '../../src/image/digest.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function stores(): { content: FileContentStore; images: ImageStore; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-is-'));
  dirs.push(root);
  const content = new FileContentStore(join(root, 'content'));
  return { content, images: new ImageStore(join(root, 'images'), content), root };
}

/** A small image in the content store; returns its manifest descriptor. */
function makeImage(content: FileContentStore, seed: string, opts: { arch?: string; created?: string } = {}): Descriptor {
  const layers = [`base-layer`, `layer-${seed}`].map((s) => ({ mediaType: MEDIA.ociLayerGzip, digest: content.put(s), size: s.length }));
  const config = JSON.stringify({
    architecture: opts.arch ?? 'amd64', os: 'linux', created: opts.created ?? '2024-05-01T10:00:00Z',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { seed } },
    rootfs: { type: 'layers', diff_ids: [digestOf('d1'), digestOf(`d-${seed}`)] },
    history: [
      { created: '2024-05-01T09:00:00Z', created_by: 'ADD base /' },
      { created: '2024-05-01T09:30:00Z', created_by: 'ENV x=1', empty_layer: true },
      { created: '2024-05-01T10:00:00Z', created_by: `RUN ${seed}`, comment: 'c' },
    ],
  });
  const cd = content.put(config);
  const m = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: cd, size: config.length }, layers });
  return { mediaType: MEDIA.ociManifest, digest: content.put(m), size: m.length };
}

describe('image store', () => {
  it('names point at manifests; the image ID is the config digest', async () => {
    const { content, images } = stores();
    const m = makeImage(content, 'a');
    const rec = await images.set('busybox', m);
    assert.equal(rec.name, 'docker.io/library/busybox:latest');
    assert.equal(rec.manifest.digest, m.digest);
    assert.equal(images.get('busybox:latest')?.config.digest, rec.config.digest);
    assert.equal(images.resolve(rec.config.digest).id, rec.config.digest);
    assert.equal(images.resolve(rec.config.digest.slice(7, 19)).id, rec.config.digest);
    assert.equal(images.resolve(`sha256:${rec.config.digest.slice(7, 12)}`).id, rec.config.digest);
    assert.equal(images.resolve(`busybox@${m.digest}`).id, rec.config.digest, 'a repo digest finds an image pulled by tag');
    assert.throws(() => images.resolve('nothere'), ImageNotFoundError);
    assert.throws(() => images.resolve(`sha256:${'0'.repeat(64)}`), ImageNotFoundError);
    assert.ok(readFileSync(images.file, 'utf8').includes('docker.io/library/busybox:latest'));
  });

  it('resolves an index to this platform\'s manifest', async () => {
    const { content, images } = stores();
    const amd = makeImage(content, 'amd', { arch: 'amd64' });
    const arm = makeImage(content, 'arm', { arch: 'arm64' });
    const idx = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [
      { ...amd, platform: { os: 'linux', architecture: 'amd64' } }, { ...arm, platform: { os: 'linux', architecture: 'arm64' } }] });
    const target = { mediaType: MEDIA.ociIndex, digest: content.put(idx), size: idx.length };
    const rec = await images.set('multi:1', target, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(rec.target.digest, target.digest);
    assert.equal(rec.manifest.digest, arm.digest);
    assert.equal(images.inspect('multi:1').Architecture, 'arm64');
    assert.deepEqual(images.inspect('multi:1').RepoDigests, [`multi@${target.digest}`]);
  });

  it('tag, list, inspect, history like docker', async () => {
    const { content, images } = stores();
    const a = await images.set('localhost:5000/app:1', makeImage(content, 'a'));
    await images.tag('localhost:5000/app:1', 'app:latest');
    await images.tag(a.config.digest, 'app:also');
    const b = await images.set('other', makeImage(content, 'b', { created: '2024-06-01T00:00:00Z' }));
    const list = images.list();
    assert.equal(list.length, 2);
    assert.equal(list[0]!.Id, b.config.digest, 'newest first');
    assert.deepEqual(list[1]!.RepoTags, ['app:also', 'app:latest', 'localhost:5000/app:1']);
    assert.equal(list[1]!.Created, Date.parse('2024-05-01T10:00:00Z') / 1000);
    assert.ok(list[1]!.Size > 0);
    assert.deepEqual(images.list({ reference: 'app' }).map((x) => x.Id), [a.config.digest]);
    assert.deepEqual(images.list({ reference: 'localhost:5000/*' }).map((x) => x.Id), [a.config.digest]);

    const ins = images.inspect('app:latest');
    assert.equal(ins.Id, a.config.digest);
    assert.equal(ins.Os, 'linux');
    assert.equal(ins.Architecture, 'amd64');
    assert.equal(ins.Created, '2024-05-01T10:00:00Z');
    assert.deepEqual(ins.RootFS, { Type: 'layers', Layers: [digestOf('d1'), digestOf('d-a')] });
    assert.deepEqual((ins.Config as { Cmd: string[] }).Cmd, ['sh']);
    assert.deepEqual((ins.Config as { Labels: unknown }).Labels, { seed: 'a' });
    assert.equal(ins.RepoTags.length, 3);

    const h = images.history('app:latest');
    assert.deepEqual(h.map((x) => x.CreatedBy), ['RUN a', 'ENV x=1', 'ADD base /']);
    assert.equal(h[0]!.Id, a.config.digest);
    assert.equal(h[1]!.Id, '<missing>');
    assert.deepEqual(h.map((x) => x.Size), ['layer-a'.length, 0, 'base-layer'.length]);
    assert.equal(h[0]!.Comment, 'c');

    const table = formatImageTable(images.list(), Date.parse('2024-06-01T02:00:00Z'));
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(lines[1]!, new RegExp(`^other\\s+latest\\s+${b.config.digest.slice(7, 19)}\\s+2 hours ago\\s+\\d+B$`));
    assert.match(table, /localhost:5000\/app\s+1\s+/);
    assert.match(table, /4 weeks ago/);
  });

  it('rmi: a name untags; the last name deletes; an ID with several repositories needs force; in-use images stay', async () => {
    const { content, images } = stores();
    const a = await images.set('app:1', makeImage(content, 'a'));
    await images.tag('app:1', 'app:2');
    await images.tag('app:1', 'other:1');
    assert.deepEqual(await images.remove('app:2'), [{ Untagged: 'app:2' }]);
    await assert.rejects(images.remove(a.config.digest), (e: unknown) => e instanceof ImageConflictError && /must be forced/.test(e.message));
    let user: string | undefined = 'c0ffee';
    images.inUse = (id) => (id === a.config.digest ? user : undefined);
    assert.deepEqual(await images.remove('other:1'), [{ Untagged: 'other:1' }], 'not the last name: allowed');
    await assert.rejects(images.remove('app:1'), /container c0ffee is using its referenced image/);
    await assert.rejects(images.remove(a.config.digest, { force: true }), /being used by container c0ffee/);
    user = undefined;
    await images.tag('app:1', 'other:1');
    assert.deepEqual(await images.remove(a.config.digest, { force: true }), [
      { Untagged: 'app:1' }, { Untagged: 'other:1' }, { Deleted: a.config.digest },
    ]);
    assert.equal(images.records().length, 0);
    assert.equal(await images.untag('app:1'), false);
  });

  it('garbage collection keeps what names reach and removes the rest', async () => {
    const { content, images } = stores();
    const a = await images.set('a', makeImage(content, 'a'));
    const b = await images.set('b', makeImage(content, 'b'));
    const before = content.list().length;
    await images.remove('b');
    const r = await collectGarbage(images, content);
    assert.equal(r.removed.length, 3, 'b\'s manifest, config and own layer; the shared layer stays');
    assert.equal(content.list().length, before - 3);
    assert.ok(!content.has(b.manifest.digest));
    for (const d of content.reachable(images.roots())) assert.ok(content.has(d), `${d} kept`);
    assert.ok(content.has(a.config.digest));
  });

  it('concurrent writers through two store instances lose no update', async () => {
    const { content, images, root } = stores();
    const other = new ImageStore(join(root, 'images'), content);
    const m = makeImage(content, 'x');
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? images : other).set(`img${i}`, m)));
    assert.equal(images.records().length, 20);
    assert.deepEqual(readdirSync(join(root, 'images')), ['images.json']);
  });

  it('removes temp files of a writer that died before its rename', async () => {
    const { content, images, root } = stores();
    await images.set('a', makeImage(content, 'a'));
    writeFileSync(join(root, 'images', '.images.json.999999.abcd.tmp'), '{"half":');
    const again = new ImageStore(join(root, 'images'), content);
    assert.deepEqual(readdirSync(join(root, 'images')), ['images.json']);
    assert.equal(again.records().length, 1);
  });

  it('reports a corrupt store file clearly', () => {
    const { images } = stores();
    writeFileSync(images.file, '{"version":1,"images":');
    assert.throws(() => images.records(), /images\.json is corrupt/);
  });
});

describe('docker-style formatting', () => {
  it('sizes', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(4261550), '4.26MB');
    assert.equal(humanSize(1000), '1kB');
    assert.equal(humanSize(77_800_000), '77.8MB');
    assert.equal(humanSize(1.5e9), '1.5GB');
  });
  it('durations', () => {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(5 * 3_600_000), '5 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
    assert.equal(humanDuration(20 * 86_400_000), '2 weeks');
    assert.equal(humanDuration(100 * 86_400_000), '3 months');
    assert.equal(humanDuration(800 * 86_400_000), '2 years');
  });
});
