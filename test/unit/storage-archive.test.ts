import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { exportFilesystem, importRootfs, loadArchive, saveArchive, saveOciLayout, type LoadedImage } from '../../src/image/archive/index.js';
import { MEDIA, type ContentStore, type Descriptor, type ImageConfig, type ImageManifest } from '../../src/image/types.js';
import { StorageError } from '../../src/storage/errors.js';
import { readTar } from '../../src/storage/tar/reader.js';
import { dirStore, makeTar, sha256, type FixtureEntry } from './storage-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'berth-archive-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

const memStore = () => dirStore(join(work, `store-${n++}`));

interface ArchiveImage {
  tags: string[];
  layers: { entries: FixtureEntry[]; gzip?: boolean }[];
}

/** A docker-archive as docker save < 25 wrote it: <id>/layer.tar, <config>.json, manifest.json, repositories. */
async function dockerArchive(images: ArchiveImage[], tamper?: (files: FixtureEntry[], manifest: unknown[]) => void): Promise<Buffer> {
  const files: FixtureEntry[] = [];
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();
  for (const img of images) {
    const diffIds: string[] = [];
    const layerNames: string[] = [];
    for (const l of img.layers) {
      const tar = await makeTar(l.entries);
      const diffId = sha256(tar);
      diffIds.push(diffId);
      const id = diffId.slice(7);
      const name = `${id}/layer.tar`;
      layerNames.push(name);
      if (!seen.has(name)) {
        seen.add(name);
        files.push({ name: `${id}/`, type: 'directory' }, { name: `${id}/VERSION`, body: '1.0' }, { name, body: l.gzip ? gzipSync(tar) : tar });
      }
    }
    const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } };
    const cBytes = Buffer.from(JSON.stringify(config));
    const cName = `${sha256(cBytes).slice(7)}.json`;
    files.push({ name: cName, body: cBytes });
    manifest.push({ Config: cName, RepoTags: img.tags, Layers: layerNames });
    for (const t of img.tags) {
      const [repo, tag] = t.split(':');
      (repositories[repo!] ??= {})[tag!] = layerNames[layerNames.length - 1]!.split('/')[0]!;
    }
  }
  tamper?.(files, manifest);
  files.push({ name: 'manifest.json', body: JSON.stringify(manifest) }, { name: 'repositories', body: JSON.stringify(repositories) });
  return makeTar(files);
}

const base: FixtureEntry[] = [{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', body: 'shell', mode: 0o755 }, { name: 'etc/os-release', body: 'ID=test\n' }];
const app: FixtureEntry[] = [{ name: 'app/run', body: 'app', mode: 0o755 }];
const other: FixtureEntry[] = [{ name: 'other', body: 'x' }];

async function load(source: string | Readable | Buffer, store = memStore(), opts = {}) {
  const named: [string | undefined, Descriptor][] = [];
  const src = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const images = await loadArchive(src, store, (ref, d) => void named.push([ref, d]), opts);
  return { images, named, store };
}

const diffIdsOf = (store: ContentStore, img: LoadedImage) => {
  const m = store.readJSON<ImageManifest>(img.manifest.digest);
  return store.readJSON<ImageConfig>(m.config.digest).rootfs.diff_ids;
};

describe('docker-archive', () => {
  it('loads several images and tags, with shared and gzip layers', async () => {
    const tar = await dockerArchive([
      { tags: ['busybox:latest', 'busybox:1.36'], layers: [{ entries: base }, { entries: app, gzip: true }] },
      { tags: ['example.com/team/other:v1'], layers: [{ entries: base }, { entries: other }] },
    ]);
    const { images, named, store } = await load(tar);
    assert.equal(images.length, 2);
    assert.deepEqual(named.map(([r]) => r), ['busybox:latest', 'busybox:1.36', 'example.com/team/other:v1']);
    const m = store.readJSON<ImageManifest>(images[0]!.manifest.digest);
    assert.equal(images[0]!.manifest.mediaType, MEDIA.ociManifest);
    assert.deepEqual(m.layers.map((l) => l.mediaType), [MEDIA.ociLayer, MEDIA.ociLayerGzip]);
    for (const l of m.layers) assert.ok(store.has(l.digest));
    const m2 = store.readJSON<ImageManifest>(images[1]!.manifest.digest);
    assert.equal(m2.layers[0]!.digest, m.layers[0]!.digest, 'the shared layer is one blob');
    assert.deepEqual(store.readJSON<ImageConfig>(m.config.digest).config?.Cmd, ['/bin/sh']);
  });

  it('round-trips through save (docker-archive) and load', async () => {
    const tar = await dockerArchive([{ tags: ['busybox:latest'], layers: [{ entries: base }, { entries: app, gzip: true }] }]);
    const first = await load(tar);
    const saved = saveArchive([{ manifest: first.images[0]!.manifest, refs: ['busybox:latest', 'mine:1'] }], first.store, 'docker-archive');
    const parts: Buffer[] = [];
    for await (const c of saved) parts.push(c as Buffer);
    const archive = Buffer.concat(parts);
    const names: string[] = [];
    for await (const { header } of readTar(Readable.from([archive]))) names.push(header.name);
    assert.ok(names.includes('manifest.json') && names.includes('repositories'));
    const second = await load(archive);
    assert.deepEqual(second.named.map(([r]) => r), ['busybox:latest', 'mine:1']);
    assert.deepEqual(diffIdsOf(second.store, second.images[0]!), diffIdsOf(first.store, first.images[0]!));
    // the layers are saved uncompressed, so their blobs are the diff ids
    const m = second.store.readJSON<ImageManifest>(second.images[0]!.manifest.digest);
    assert.deepEqual(m.layers.map((l) => l.digest), diffIdsOf(second.store, second.images[0]!));
  });

  it('rejects hostile or broken archives with nothing imported', async () => {
    const cases: [string, () => Promise<Buffer>, StorageError['code'], object?][] = [
      ['a huge manifest.json', () => makeTar([{ name: 'manifest.json', body: Buffer.alloc(64 << 10, 0x20) }]), 'LIMIT', { limits: { maxJsonBytes: 32 << 10 } }],
      ['a config path that climbs out', () => dockerArchive([{ tags: ['a:b'], layers: [{ entries: base }] }], (_f, m) => ((m[0] as { Config: string }).Config = '../../etc/passwd')), 'HOSTILE'],
      ['a missing layer', () => dockerArchive([{ tags: ['a:b'], layers: [{ entries: base }] }], (f) => f.splice(f.findIndex((e) => e.name.endsWith('layer.tar')), 1)), 'NOT_FOUND'],
      ['a tampered layer', () => dockerArchive([{ tags: ['a:b'], layers: [{ entries: base }, { entries: app }] }], (f) => {
        const l = f.filter((e) => e.name.endsWith('layer.tar'))[1]!;
        l.body = Buffer.concat([l.body as Buffer, Buffer.alloc(512)]);
      }), 'DIGEST'],
      ['entries that climb out', () => makeTar([{ name: '../../escape', body: 'x' }]), 'HOSTILE'],
      ['a symlink loop', () => makeTar([{ name: 'manifest.json', type: 'symlink', linkname: 'a' }, { name: 'a', type: 'symlink', linkname: 'manifest.json' }]), 'FORMAT'],
      ['no manifest', () => makeTar([{ name: 'hello', body: 'x' }]), 'FORMAT'],
      ['bad JSON', () => makeTar([{ name: 'manifest.json', body: '[{' }]), 'FORMAT'],
    ];
    for (const [what, make, code, opts] of cases) {
      const store = memStore();
      const named: unknown[] = [];
      await assert.rejects(loadArchive(Readable.from([await make()]), store, (r) => void named.push(r), opts ?? {}), (e: unknown) => {
        assert.ok(e instanceof StorageError, `${what}: ${String(e)}`);
        assert.equal(e.code, code, `${what}: ${e.message}`);
        return true;
      });
      assert.deepEqual(store.digests(), [], `${what}: nothing imported`);
      assert.deepEqual(named, [], `${what}: no names`);
    }
    assert.ok(!existsSync(join(tmpdir(), 'escape')) && !existsSync('/escape'));
  });
});

describe('OCI layouts', () => {
  it('round-trips through oci-archive and an OCI layout directory, keeping digests', async () => {
    const first = await load(await dockerArchive([{ tags: ['busybox:latest'], layers: [{ entries: base, gzip: true }] }]));
    const img = first.images[0]!;
    const parts: Buffer[] = [];
    for await (const c of saveArchive([{ manifest: img.manifest, refs: ['docker.io/library/busybox:latest'] }], first.store, 'oci-archive')) parts.push(c as Buffer);
    const second = await load(Buffer.concat(parts));
    assert.equal(second.images[0]!.manifest.digest, img.manifest.digest, 'blobs are saved as stored');
    assert.deepEqual(second.named.map(([r]) => r), ['docker.io/library/busybox:latest']);
    assert.equal(second.images[0]!.format, 'oci');
    const dir = join(work, 'layout');
    saveOciLayout(dir, [{ manifest: img.manifest, refs: ['busybox:1'] }], first.store);
    const third = await load(dir);
    assert.equal(third.images[0]!.manifest.digest, img.manifest.digest);
    assert.deepEqual(third.named.map(([r]) => r), ['busybox:1']);
    // a tampered blob in the directory
    const m = first.store.readJSON<ImageManifest>(img.manifest.digest);
    writeFileSync(join(dir, 'blobs/sha256', m.layers[0]!.digest.slice(7)), 'tampered');
    const store = memStore();
    await assert.rejects(loadArchive(dir, store, () => {}), (e: unknown) => e instanceof StorageError && e.code === 'DIGEST');
    assert.deepEqual(store.digests(), []);
    rmSync(join(dir, 'blobs/sha256', m.layers[0]!.digest.slice(7)));
    await assert.rejects(loadArchive(dir, store, () => {}), (e: unknown) => e instanceof StorageError && e.code === 'NOT_FOUND' && /missing/.test(e.message));
  });
});

describe('import and export', () => {
  it('imports a rootfs tarball as a one-layer image', async () => {
    const store = memStore();
    const tar = await makeTar(base);
    const named: [string | undefined, Descriptor][] = [];
    const r = await importRootfs(Readable.from([gzipSync(tar)]), store, { ref: 'imported:latest', onImage: (ref, d) => void named.push([ref, d]), config: { Cmd: ['/bin/sh'] } });
    assert.equal(r.diffId, sha256(tar));
    const m = store.readJSON<ImageManifest>(r.manifest.digest);
    assert.equal(m.layers.length, 1);
    assert.equal(m.layers[0]!.mediaType, MEDIA.ociLayerGzip);
    const cfg = store.readJSON<ImageConfig>(m.config.digest);
    assert.deepEqual(cfg.rootfs.diff_ids, [sha256(tar)]);
    assert.deepEqual(cfg.config?.Cmd, ['/bin/sh']);
    assert.deepEqual(named, [['imported:latest', r.manifest]]);
    await assert.rejects(importRootfs(Readable.from([Buffer.from('this is not a tar archive, just text that is long enough '.repeat(20))]), memStore()), (e: unknown) => e instanceof StorageError && e.code === 'FORMAT');
  });

  it('exports a file system tree as a tar stream', async () => {
    const dir = join(work, 'tree');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc/hostname'), 'box\n');
    const got = new Map<string, string>();
    for await (const { header, body } of readTar(exportFilesystem(dir))) {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c);
      got.set(header.name, Buffer.concat(parts).toString());
    }
    assert.deepEqual([...got.keys()], ['etc/', 'etc/hostname']);
    assert.equal(got.get('etc/hostname'), 'box\n');
  });
});
