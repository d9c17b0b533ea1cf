// prepareImageLayers on overlay unpacks layers side by side (worker threads) but commits each
// only above a committed parent: the result is the same chain as a serial unpack, and a bad
// lower layer leaves no upper layer behind (nothing in layers/ or tmp/). Root (overlay, mknod).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { StorageError } from '../../src/storage/errors.js';
import { prepareImageLayers } from '../../src/storage/layers.js';
import { OverlaySnapshotter } from '../../src/storage/snapshotters/overlay.js';
import { VfsSnapshotter } from '../../src/storage/snapshotters/vfs.js';
import type { ImageConfig, ImageManifest } from '../../src/image/types.js';
import { dirStore, isRoot, makeTar, sha256 } from '../unit/storage-fixtures.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-par-'));
  dirs.push(d);
  return d;
};

/** An image of n layers, layer i holding /l<i> (and a whiteout of /l<i-1>'s file); badAt: a wrong diff_id there. */
async function image(n: number, badAt?: number) {
  const store = dirStore(join(tmp(), 'content'));
  const layers: ImageManifest['layers'] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const entries = [{ name: `l${i}/`, type: 'directory' as const }, { name: `l${i}/f`, body: `layer ${i}\n`.repeat(2000) }];
    if (i > 0) entries.push({ name: `l${i - 1}/.wh.f`, body: '' });
    const tar = await makeTar(entries);
    const gz = gzipSync(tar);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: store.put(gz), size: gz.length });
    diffIds.push(i === badAt ? sha256('not this layer') : sha256(tar));
  }
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('x'), size: 1 }, layers } as ImageManifest;
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } } as ImageConfig;
  return { store, manifest, config };
}

describe('parallel layer unpacking', { skip: isRoot ? false : 'needs root (overlay whiteouts are device nodes)' }, () => {
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('overlay: parallel and serial unpacks give the same layers, committed bottom first', async () => {
    const img = await image(5);
    const par = new OverlaySnapshotter(join(tmp(), 'par'));
    const ser = new OverlaySnapshotter(join(tmp(), 'ser'));
    assert.equal(par.independentLayers, true);
    const order: number[] = [];
    const a = await prepareImageLayers(par, img.store, img.manifest, img.config, { parallel: 4, onLayer: (i) => order.push(i) });
    const b = await prepareImageLayers(ser, img.store, img.manifest, img.config, { parallel: 1 });
    assert.deepEqual(a, b);
    assert.deepEqual(order, [0, 1, 2, 3, 4], 'committed in order');
    for (let i = 0; i < a.length; i++) {
      const l = par.layer(a[i]!)!;
      assert.equal(l.parent, i ? a[i - 1] : undefined);
      assert.deepEqual(readdirSync(par.layerPath(a[i]!)).sort(), i ? [`l${i - 1}`, `l${i}`] : ['l0']);
    }
    assert.deepEqual(readdirSync(par.tmpDir), []);
  });

  it('overlay: a bad lower layer fails the image and commits none of the layers above it', async () => {
    const img = await image(4, 1);
    const snap = new OverlaySnapshotter(join(tmp(), 'bad'));
    await assert.rejects(prepareImageLayers(snap, img.store, img.manifest, img.config, { parallel: 4 }), (e: unknown) => e instanceof StorageError && e.code === 'DIGEST');
    const left = snap.layers();
    assert.ok(left.length <= 1 && left.every((l) => l.parent === undefined), `at most the good bottom layer is kept (${left.map((l) => l.chainId)})`);
    assert.deepEqual(readdirSync(snap.tmpDir), [], 'the upper layers unpacked beside it were thrown away');
  });

  it('vfs builds on its parent: serial, same result', async () => {
    const img = await image(3);
    const snap = new VfsSnapshotter(join(tmp(), 'vfs'));
    assert.equal(snap.independentLayers, false);
    const chain = await prepareImageLayers(snap, img.store, img.manifest, img.config, { parallel: 4 });
    assert.deepEqual(readdirSync(snap.layerPath(chain[2]!)).sort(), ['l0', 'l1', 'l2']);
  });
});
