// Snapshotters on the real kernel (root): overlay (whiteouts, opaque dirs, writes to the upper
// only, creation cost flat in image size, 150 layers), vfs equivalence, btrfs on a loop image,
// quotas (loop ext4 and btrfs qgroups), and the host image.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/storage/errors.js';
import { chainIds, mountPoints } from '../../src/storage/fsutil.js';
import { FsHelper } from '../../src/storage/helper.js';
import { BtrfsSnapshotter } from '../../src/storage/snapshotters/btrfs.js';
import { OverlaySnapshotter } from '../../src/storage/snapshotters/overlay.js';
import { HOST_LOWER, type Snapshotter } from '../../src/storage/snapshotters/types.js';
import { VfsSnapshotter } from '../../src/storage/snapshotters/vfs.js';
import { readTar } from '../../src/storage/tar/reader.js';
import { unpackLayer } from '../../src/storage/unpack/index.js';
import { makeBundle, runIn } from '../helpers/bundle.js';
import { makeTar, sha256, type FixtureEntry } from '../unit/storage-fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'berth-snap-'));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e) => console.error('cleanup:', e));
  // nothing of ours may stay mounted
  for (const m of [...mountPoints()].filter((m) => m.startsWith(work + '/')).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
});

interface Image {
  tars: Buffer[];
  diffIds: string[];
  chain: string[];
}

async function image(layers: FixtureEntry[][]): Promise<Image> {
  const tars = await Promise.all(layers.map((l) => makeTar(l)));
  const diffIds = tars.map((t) => sha256(t));
  return { tars, diffIds, chain: chainIds(diffIds) };
}

async function prepare(snap: Snapshotter, img: Image): Promise<void> {
  for (let i = 0; i < img.tars.length; i++) {
    await snap.prepareLayer({ diffId: img.diffIds[i]!, chainId: img.chain[i]! }, img.chain[i - 1], async (dir, mode) => {
      await unpackLayer({ source: Readable.from([img.tars[i]!]), dest: dir, mode, expectedDiffId: img.diffIds[i]! });
    });
  }
}

const threeLayers: FixtureEntry[][] = [
  [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'etc/hosts', body: 'one\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 12, gid: 34 },
    { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
    { name: 'bin/sh', type: 'symlink', linkname: 'tool' },
    { name: 'data/keep', body: 'kept' },
  ],
  [
    { name: 'etc/hosts', body: 'two\n' },
    { name: 'opt/dir/', type: 'directory', mode: 0o750 },
    { name: 'opt/dir/x', body: 'x' },
    { name: 'opt/dir/y', body: 'y' },
    { name: 'data/gone-later', body: 'g' },
  ],
  [
    { name: 'etc/.wh.passwd', body: '' },
    { name: 'opt/dir/', type: 'directory', mode: 0o750 },
    { name: 'opt/dir/.wh..wh..opq', body: '' },
    { name: 'opt/dir/z', body: 'z' },
    { name: 'data/.wh.gone-later', body: '' },
    { name: 'new', body: 'layer three', pax: { 'SCHILY.xattr.user.mark': '3' } },
  ],
];

/** The visible tree: names, kinds, modes, owners, contents, link targets (no nlink: overlay and copies differ). */
function visible(dir: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = lstatSync(p);
    let s = `${rel} ${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isFile()) s += ` ${readFileSync(p, 'utf8')}`;
    if (st.isSymbolicLink()) s += ` -> ${readlinkSync(p)}`;
    out.push(s);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), `${rel}/${n}`);
  };
  walk(dir, '.');
  return out.join('\n');
}

async function diffEntries(snap: Snapshotter, id: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { header, body } of readTar(snap.diff(id))) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.set(header.name.replace(/\/$/, ''), header.type === 'file' ? Buffer.concat(parts).toString() : header.type);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('overlay snapshotter', () => {
  let snap: OverlaySnapshotter;
  let img: Image;
  before(async () => {
    snap = new OverlaySnapshotter(join(work, 'overlay'));
    img = await image(threeLayers);
    await prepare(snap, img);
  });

  it('shares layers: a prepared chain id is not unpacked again, concurrent callers share one unpack', async () => {
    let calls = 0;
    const again = await snap.prepareLayer({ diffId: img.diffIds[0]!, chainId: img.chain[0]! }, undefined, async () => void calls++);
    assert.equal(calls, 0);
    assert.equal(again.chainId, img.chain[0]);
    const t = await makeTar([{ name: 'shared', body: 's' }]);
    const ref = { diffId: sha256(t), chainId: chainIds([img.diffIds[0]!, sha256(t)])[1]! };
    const unpack = async (dir: string, mode: 'overlay' | 'apply') => {
      calls++;
      await unpackLayer({ source: Readable.from([t]), dest: dir, mode });
    };
    const [a, b] = await Promise.all([snap.prepareLayer(ref, img.chain[0], unpack), snap.prepareLayer(ref, img.chain[0], unpack)]);
    assert.equal(calls, 1);
    assert.deepEqual(a, b);
    await assert.rejects(snap.prepareLayer({ diffId: ref.diffId, chainId: img.chain[2]! }, img.chain[0], unpack), (e: unknown) => e instanceof StorageError && e.code === 'FORMAT');
    assert.equal(statSync(snap.layerDir(img.chain[0]!)).mode & 0o777, 0o700, 'layer directories are private');
  });

  it('mounts the image: whiteouts delete, opaque directories hide lower contents', async () => {
    const m = await snap.prepareContainer('c1', img.chain);
    cleanups.push(() => snap.removeContainer('c1'));
    assert.equal(m.kind, 'overlay');
    const r = m.path;
    assert.ok(mountPoints().has(r));
    assert.ok(!existsSync(join(r, 'etc/passwd')), 'deleted in layer 3');
    assert.equal(readFileSync(join(r, 'etc/hosts'), 'utf8'), 'two\n');
    assert.deepEqual(readdirSync(join(r, 'opt/dir')), ['z'], 'opaque dir hides x and y');
    assert.deepEqual(readdirSync(join(r, 'data')), ['keep']);
    const tool = statSync(join(r, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.uid, 12);
    assert.equal(statSync(join(r, 'bin/alias')).ino, tool.ino);
    assert.equal(readFileSync(join(r, 'new'), 'utf8'), 'layer three');
  });

  it('sends container writes to the upper only, and diff() reports them with whiteouts', async () => {
    const r = (await snap.mountContainer('c1')).path;
    const layersBefore = img.chain.map((c) => visible(snap.layerPath(c)));
    writeFileSync(join(r, 'etc/hosts'), 'container\n');
    writeFileSync(join(r, 'written'), 'w');
    unlinkSync(join(r, 'data/keep'));
    rmSync(join(r, 'opt'), { recursive: true });
    mkdirSync(join(r, 'opt'));
    writeFileSync(join(r, 'opt/fresh'), 'f');
    assert.deepEqual(img.chain.map((c) => visible(snap.layerPath(c))), layersBefore, 'layers unchanged');
    const upper = (snap.containerMeta('c1')!.mount.overlay!).upperdir;
    assert.equal(readFileSync(join(upper, 'written'), 'utf8'), 'w');
    const d = await diffEntries(snap, 'c1');
    assert.equal(d.get('etc/hosts'), 'container\n');
    assert.equal(d.get('written'), 'w');
    assert.equal(d.get('data/.wh.keep'), '');
    assert.equal(d.get('opt/.wh..wh..opq'), '', 'a directory replaced after rm -rf is opaque');
    assert.equal(d.get('opt/fresh'), 'f');
    // a second container does not see the first one's writes
    const m2 = await snap.prepareContainer('c2', img.chain);
    cleanups.push(() => snap.removeContainer('c2'));
    assert.equal(readFileSync(join(m2.path, 'etc/hosts'), 'utf8'), 'two\n');
    assert.ok(!existsSync(join(m2.path, 'written')));
  });

  it('refuses to remove a layer in use, and removes containers completely', async () => {
    await assert.rejects(snap.remove(img.chain[2]!), (e: unknown) => e instanceof StorageError && e.code === 'IN_USE');
    await assert.rejects(snap.remove(img.chain[0]!), (e: unknown) => e instanceof StorageError && e.code === 'IN_USE');
    const m = await snap.prepareContainer('gone', img.chain);
    await snap.removeContainer('gone');
    assert.ok(!mountPoints().has(m.path));
    assert.ok(!existsSync(snap.containerDir('gone')));
    await snap.removeContainer('gone'); // idempotent
    await assert.rejects(snap.prepareContainer('c1', img.chain), (e: unknown) => e instanceof StorageError && e.code === 'EXISTS');
    const u = await snap.usage();
    assert.equal(u.layers.length >= 3, true);
    assert.ok(u.containers.some((c) => c.id === 'c1'));
  });

  it('repairs what a crash leaves: temporary layers, half-made containers (even mounted), layers without metadata', async () => {
    const r = new OverlaySnapshotter(join(work, 'repair'));
    mkdirSync(join(r.tmpDir, 'layer-0123456789abcdef', 'diff'), { recursive: true });
    writeFileSync(join(r.tmpDir, 'layer-0123456789abcdef', 'diff', 'half'), 'x');
    const half = join(r.layersDir, 'f'.repeat(64));
    mkdirSync(join(half, 'diff'), { recursive: true });
    // a container whose overlay was mounted when berth died, before its meta.json
    const m = await r.prepareContainer('crashed', []);
    unlinkSync(join(r.containerDir('crashed'), 'meta.json'));
    assert.deepEqual(r.containers(), []);
    await r.repair();
    assert.deepEqual(readdirSync(r.tmpDir), []);
    assert.ok(!existsSync(half));
    assert.ok(!mountPoints().has(m.path));
    assert.ok(!existsSync(r.containerDir('crashed')));
  });

  it('creates containers in time independent of the image size (1 file vs 5000 files)', async () => {
    const small = await image([[{ name: 'one', body: '1' }]]);
    const bigLayer: FixtureEntry[] = [];
    for (let d = 0; d < 50; d++) {
      bigLayer.push({ name: `d${d}/`, type: 'directory' });
      for (let f = 0; f < 100; f++) bigLayer.push({ name: `d${d}/f${f}`, body: `file ${d}/${f}\n`.repeat(20) });
    }
    const big = await image([bigLayer]);
    await prepare(snap, small);
    await prepare(snap, big);
    const times: Record<string, number[]> = { small: [], big: [] };
    for (let i = 0; i < 5; i++) {
      for (const [name, im] of [['small', small], ['big', big]] as const) {
        const id = `t-${name}-${i}`;
        const t0 = process.hrtime.bigint();
        await snap.prepareContainer(id, im.chain);
        times[name]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await snap.removeContainer(id);
      }
    }
    const s = median(times.small!);
    const b = median(times.big!);
    console.log(`# prepareContainer median: 1-file image ${s.toFixed(2)} ms, 5000-file image ${b.toFixed(2)} ms`);
    assert.ok(b < s * 5 + 5, `5000-file image ${b} ms vs 1-file ${s} ms`);
  });

  it('mounts an image of 150 layers (new mount API, lowerdir+)', async () => {
    const layers: FixtureEntry[][] = [];
    for (let i = 0; i < 150; i++) layers.push([{ name: `layer${i}`, body: String(i) }, { name: 'top', body: String(i) }]);
    const img150 = await image(layers);
    await prepare(snap, img150);
    const m = await snap.prepareContainer('many', img150.chain);
    cleanups.push(() => snap.removeContainer('many'));
    assert.equal(readdirSync(m.path).filter((n) => n.startsWith('layer')).length, 150);
    assert.equal(readFileSync(join(m.path, 'top'), 'utf8'), '149', 'the top layer wins');
    assert.equal(m.overlay!.lowerdirs.length, 150);
  });
});

describe('vfs snapshotter', () => {
  it('gives the same tree as overlay, and a diff with whiteouts', async () => {
    const vfs = new VfsSnapshotter(join(work, 'vfs'));
    const ovl = new OverlaySnapshotter(join(work, 'overlay-eq'));
    const img = await image(threeLayers);
    await prepare(vfs, img);
    await prepare(ovl, img);
    const a = await vfs.prepareContainer('v', img.chain);
    const b = await ovl.prepareContainer('o', img.chain);
    cleanups.push(() => vfs.removeContainer('v'), () => ovl.removeContainer('o'));
    assert.equal(a.kind, 'directory');
    assert.equal(visible(a.path), visible(b.path));
    writeFileSync(join(a.path, 'etc/hosts'), 'changed\n');
    unlinkSync(join(a.path, 'data/keep'));
    writeFileSync(join(a.path, 'added'), 'a');
    const d = await diffEntries(vfs, 'v');
    assert.deepEqual([...d.keys()].sort(), ['added', 'data', 'data/.wh.keep', 'etc', 'etc/hosts']);
    assert.equal(d.get('etc/hosts'), 'changed\n');
    assert.ok(!existsSync(join(vfs.layerPath(img.chain[2]!), 'added')));
  });
});

describe('quotas', () => {
  it('stops writes at the size limit with a loop-mounted ext4 upper (ENOSPC), host untouched', async () => {
    const snap = new OverlaySnapshotter(join(work, 'quota'));
    const img = await image([[{ name: 'base', body: 'b' }]]);
    await prepare(snap, img);
    const m = await snap.prepareContainer('q', img.chain, { sizeLimit: 16 << 20 });
    cleanups.push(() => snap.removeContainer('q'));
    assert.deepEqual(m.quota, { kind: 'loop', bytes: 16 << 20 });
    const r = spawnSync('dd', ['if=/dev/zero', `of=${join(m.path, 'big')}`, 'bs=1M', 'count=32'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /No space left on device/);
    const written = statSync(join(m.path, 'big')).size;
    assert.ok(written >= 12 << 20 && written <= 17 << 20, `wrote ${written} bytes`);
    assert.deepEqual(readdirSync(snap.layerPath(img.chain[0]!)), ['base'], 'the layer is untouched');
    const meta = snap.containerMeta('q')!;
    await snap.removeContainer('q');
    assert.ok(!mountPoints().has(m.path));
    assert.equal(meta.quota?.kind, 'loop');
    if (meta.quota?.kind === 'loop') assert.equal(execFileSync('losetup', ['-j', meta.quota.image], { encoding: 'utf8' }).trim(), '', 'loop device released');
  });
});

describe('btrfs (loop-mounted image)', () => {
  let mnt: string;
  before(() => {
    const img = join(work, 'btrfs.img');
    mnt = join(work, 'btrfs');
    mkdirSync(mnt);
    execFileSync('truncate', ['-s', '512M', img]);
    execFileSync('mkfs.btrfs', ['-q', img], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', img, mnt]);
    cleanups.push(() => {
      spawnSync('umount', [mnt]);
    });
  });

  it('snapshots layers and containers, applies whiteouts, diffs, and limits size with qgroups (EDQUOT)', async () => {
    const snap = new BtrfsSnapshotter(join(mnt, 'store'));
    const img = await image(threeLayers);
    await prepare(snap, img);
    const m = await snap.prepareContainer('b', img.chain, { sizeLimit: 16 << 20 });
    cleanups.push(() => snap.removeContainer('b'));
    assert.equal(m.quota?.kind, 'btrfs');
    assert.ok(!existsSync(join(m.path, 'etc/passwd')));
    assert.deepEqual(readdirSync(join(m.path, 'opt/dir')), ['z']);
    // the same tree as overlay
    const ovl = new OverlaySnapshotter(join(work, 'overlay-eq2'));
    await prepare(ovl, img);
    const o = await ovl.prepareContainer('o', img.chain);
    cleanups.push(() => ovl.removeContainer('o'));
    assert.equal(visible(m.path), visible(o.path));
    // layers are read-only snapshots
    assert.throws(() => writeFileSync(join(snap.layerPath(img.chain[2]!), 'x'), 'x'), /EROFS|read-only/);
    const r = spawnSync('dd', ['if=/dev/urandom', `of=${join(m.path, 'big')}`, 'bs=1M', 'count=40', 'conv=fsync'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Disk quota exceeded|No space left/);
    unlinkSync(join(m.path, 'big'));
    writeFileSync(join(m.path, 'small'), 's');
    const d = await diffEntries(snap, 'b');
    assert.ok(d.has('small'));
    await snap.removeContainer('b');
    assert.ok(!existsSync(m.path));
    // an overlay on btrfs takes its quota from a qgroup, too
    const ob = new OverlaySnapshotter(join(mnt, 'overlay'));
    await prepare(ob, img);
    const q = await ob.prepareContainer('oq', img.chain, { sizeLimit: 8 << 20 });
    cleanups.push(() => ob.removeContainer('oq'));
    assert.equal(q.quota?.kind, 'btrfs');
    const r2 = spawnSync('dd', ['if=/dev/urandom', `of=${join(q.path, 'big')}`, 'bs=1M', 'count=24', 'conv=fsync'], { encoding: 'utf8' });
    assert.notEqual(r2.status, 0);
    await ob.removeContainer('oq');
    for (const l of [...img.chain].reverse()) await snap.remove(l);
    assert.deepEqual(snap.layers(), []);
  });
});

describe('host image', () => {
  it('shows the host root read-only under a private upper; hides /tmp, /proc and the storage root', async () => {
    const snap = new OverlaySnapshotter(join(work, 'host'));
    const m = await snap.prepareContainer('h', [HOST_LOWER]);
    cleanups.push(() => snap.removeContainer('h'));
    const r = m.path;
    assert.deepEqual(readdirSync(join(r, 'usr/bin')).sort(), readdirSync('/usr/bin').sort());
    assert.deepEqual(readdirSync(join(r, 'tmp')), [], '/tmp hidden');
    assert.deepEqual(readdirSync(join(r, 'proc')), []);
    assert.equal(statSync(join(r, 'tmp')).mode & 0o7777, statSync('/tmp').mode & 0o7777);
    assert.ok(!existsSync(join(r, snap.root, 'layers')), 'the storage root is hidden');
    // a container (berth-oci) on it sees the host's programs; its writes stay in the container
    const b = makeBundle(['/bin/sh', '-c', 'ls /usr/bin | wc -l; echo container > /etc/berth-host-image-test && cat /etc/berth-host-image-test'], (s) => {
      s.root = { path: r, readonly: false };
    });
    cleanups.push(() => b.cleanup());
    const p = runIn(b);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout, `${readdirSync('/usr/bin').length}\ncontainer\n`);
    assert.ok(!existsSync('/etc/berth-host-image-test'), 'the host is untouched');
    const d = await diffEntries(snap, 'h');
    assert.equal(d.get('etc/berth-host-image-test'), 'container\n');
    await snap.removeContainer('h');
    assert.ok(!mountPoints().has(r));
    const vfs = new VfsSnapshotter(join(work, 'vfs-host'));
    await assert.rejects(vfs.prepareContainer('h', [HOST_LOWER]), (e: unknown) => e instanceof StorageError && e.code === 'UNSUPPORTED');
    new FsHelper().close();
  });
});
