// Archives against real tools and the kernel (root): a docker-archive built here is loaded,
// unpacked into overlay snapshots and run; podman's docker-archive and oci-archive and skopeo's
// OCI layout load; what berth saves, podman loads.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { loadArchive, saveArchive, type LoadedImage } from '../../src/image/archive/index.js';
import type { ContentStore, Descriptor, ImageConfig, ImageManifest } from '../../src/image/types.js';
import { mountPoints } from '../../src/storage/fsutil.js';
import { prepareImageLayers } from '../../src/storage/layers.js';
import { OverlaySnapshotter } from '../../src/storage/snapshotters/overlay.js';
import { dirStore, makeTar, sha256 } from '../unit/storage-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'berth-archive-it-'));
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e) => console.error('cleanup:', e));
  for (const m of [...mountPoints()].filter((m) => m.startsWith(work + '/')).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
});

const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

async function loadInto(store: ContentStore, source: string | Readable): Promise<{ images: LoadedImage[]; named: [string | undefined, Descriptor][] }> {
  const named: [string | undefined, Descriptor][] = [];
  const images = await loadArchive(source, store, (r, d) => void named.push([r, d]));
  return { images, named };
}

function imageOf(store: ContentStore, d: Descriptor): { manifest: ImageManifest; config: ImageConfig } {
  const manifest = store.readJSON<ImageManifest>(d.digest);
  return { manifest, config: store.readJSON<ImageConfig>(manifest.config.digest) };
}

async function busyboxLayers(): Promise<Buffer[]> {
  const bb = readFileSync('/bin/busybox');
  return Promise.all([
    makeTar([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', body: bb, mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/cat', type: 'symlink', linkname: 'busybox' },
      { name: 'etc/message', body: 'from layer 1\n' },
      { name: 'etc/removed', body: 'gone\n' },
    ]),
    makeTar([{ name: 'etc/message', body: 'from layer 2\n' }, { name: 'etc/.wh.removed', body: '' }]),
    makeTar([{ name: 'app/hello', body: 'hello from the archive\n' }]),
  ]);
}

describe('archives, end to end', () => {
  it('loads a docker-archive built here, unpacks it into overlay snapshots and runs it; save/load round trip', async () => {
    const tars = await busyboxLayers();
    const diffIds = tars.map((t) => sha256(t));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const cname = `${sha256(config).slice(7)}.json`;
    const archive = await makeTar([
      ...tars.map((t, i) => ({ name: `${diffIds[i]!.slice(7)}/layer.tar`, body: t })),
      { name: cname, body: config },
      { name: 'manifest.json', body: JSON.stringify([{ Config: cname, RepoTags: ['berth/test:1', 'berth/test:latest'], Layers: diffIds.map((d) => `${d.slice(7)}/layer.tar`) }]) },
      { name: 'repositories', body: JSON.stringify({ 'berth/test': { '1': diffIds[2]!.slice(7), latest: diffIds[2]!.slice(7) } }) },
    ]);
    const store = dirStore(join(work, 'store'));
    const { images, named } = await loadInto(store, Readable.from([archive]));
    assert.deepEqual(named.map(([r]) => r), ['berth/test:1', 'berth/test:latest']);
    const { manifest, config: cfg } = imageOf(store, images[0]!.manifest);
    const snap = new OverlaySnapshotter(join(work, 'overlay'));
    const chain = await prepareImageLayers(snap, store, manifest, cfg);
    assert.equal(chain.length, 3);
    const m = await snap.prepareContainer('run', chain);
    cleanups.push(() => snap.removeContainer('run'));
    const p = spawnSync('chroot', [m.path, '/bin/sh', '-c', 'cat /etc/message /app/hello; test -e /etc/removed || echo removed'], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout, 'from layer 2\nhello from the archive\nremoved\n');
    // save and load again: same layers (by diff id), same tags
    const file = join(work, 'saved.tar');
    await pipeline(saveArchive([{ manifest: images[0]!.manifest, refs: ['berth/test:1'] }], store, 'docker-archive'), createWriteStream(file));
    const again = await loadInto(dirStore(join(work, 'store2')), file);
    assert.deepEqual(again.named.map(([r]) => r), ['berth/test:1']);
    const s2 = dirStore(join(work, 'store2'));
    assert.deepEqual(imageOf(s2, again.images[0]!.manifest).config.rootfs.diff_ids, diffIds);
    // podman loads what berth saves
    if (has('podman')) {
      const r = spawnSync('podman', ['load', '-i', file], { encoding: 'utf8' });
      cleanups.push(() => spawnSync('podman', ['rmi', '-f', 'localhost/berth/test:1']));
      assert.equal(r.status, 0, r.stderr);
      const out = spawnSync('podman', ['--runtime', 'runc', 'run', '--rm', '--network=none', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768', 'localhost/berth/test:1', '/bin/cat', '/app/hello'], { encoding: 'utf8' });
      assert.equal(out.stdout, 'hello from the archive\n', out.stderr);
    }
  });

  it('loads the docker-archive and oci-archive podman writes, and the OCI layout skopeo writes', { skip: !has('podman') && 'podman is not installed' }, async () => {
    const root = join(work, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
    execFileSync('tar', ['-C', root, '-cf', join(work, 'rootfs.tar'), '.']);
    const name = `localhost/berth-storage-it:${process.pid}`;
    execFileSync('podman', ['import', join(work, 'rootfs.tar'), name], { stdio: 'ignore' });
    cleanups.push(() => spawnSync('podman', ['rmi', '-f', name]));
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const file = join(work, `podman-${format}.tar`);
      execFileSync('podman', ['save', '--format', format, '-o', file, name], { stdio: 'ignore' });
      const store = dirStore(join(work, `store-${format}`));
      const { images, named } = await loadInto(store, file);
      assert.equal(images.length, 1, format);
      assert.equal(named[0]![0]!.includes('berth-storage-it'), true, `${format}: ${String(named[0]![0])}`);
      const { manifest, config } = imageOf(store, images[0]!.manifest);
      assert.equal(manifest.layers.length, 1);
      assert.equal(config.rootfs.diff_ids.length, 1);
    }
    if (has('skopeo')) {
      const dir = join(work, 'skopeo-layout');
      execFileSync('skopeo', ['copy', '-q', `docker-archive:${join(work, 'podman-docker-archive.tar')}`, `oci:${dir}:v1`], { stdio: 'ignore' });
      const store = dirStore(join(work, 'store-skopeo'));
      const { images, named } = await loadInto(store, dir);
      assert.deepEqual(named.map(([r]) => r), ['v1']);
      assert.ok(existsSync(store.path(imageOf(store, images[0]!.manifest).manifest.layers[0]!.digest)));
    }
  });
});
