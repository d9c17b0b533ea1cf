// Rootless overlay storage at the library level: a real unprivileged user (made for this test)
// runs the overlay snapshotter inside a user namespace it owns (`unshare -Urm`): layers with a
// whiteout and an opaque directory are unpacked (whiteouts as 0/0 character devices, the opaque
// marker as user.overlay.opaque), a container's overlay is mounted with `userxattr`, the lower
// files are hidden as the layers say, writes land in the upper directory, and diff() turns a
// deletion back into a docker whiteout.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../helpers/bundle.js';

const USER = `bsr${process.pid % 100000}`;
const which = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0;
const missing = ['useradd', 'userdel', 'setpriv', 'unshare', 'tar'].filter((c) => !which(c));
const skip = process.getuid?.() !== 0 ? 'needs root to create the test user' : missing.length ? `needs ${missing.join(', ')}` : false;

/** A layer tarball from a list of (path, content | 'dir'). */
function layerTar(dir: string, name: string, entries: [string, string][]): { path: string; diffId: string } {
  const src = join(dir, `src-${name}`);
  mkdirSync(src);
  for (const [p, c] of entries) {
    if (c === 'dir') mkdirSync(join(src, p), { recursive: true });
    else writeFileSync(join(src, p), c);
  }
  const path = join(dir, `${name}.tar`);
  execFileSync('tar', ['-C', src, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-cf', path, '.']);
  return { path, diffId: `sha256:${createHash('sha256').update(execFileSync('cat', [path])).digest('hex')}` };
}

// Runs inside `unshare -Urm` as the test user: prints one JSON line of what it saw.
const SCRIPT = `
import { existsSync, lstatSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
const [dist, root, layersJson] = process.argv.slice(2);
const { createSnapshotter } = await import(join(dist, 'src/storage/snapshotters/index.js'));
const { unpackLayer } = await import(join(dist, 'src/storage/unpack/index.js'));
const { chainIds } = await import(join(dist, 'src/storage/fsutil.js'));
const { sharedHelper } = await import(join(dist, 'src/storage/helper.js'));
const layers = JSON.parse(layersJson);
const snap = createSnapshotter('overlay', root);
const chain = chainIds(layers.map((l) => l.diffId));
for (let i = 0; i < layers.length; i++) {
  await snap.prepareLayer({ diffId: layers[i].diffId, chainId: chain[i] }, chain[i - 1], (dir, mode) => unpackLayer({ source: layers[i].path, dest: dir, mode, expectedDiffId: layers[i].diffId }));
}
const top = join(snap.layerDir(chain[1]), 'diff');
const wh = lstatSync(join(top, 'a', 'gone'));
const opq = await sharedHelper().getXattrs(join(top, 'd'));
const m = await snap.prepareContainer('rootless1', chain);
const r = m.path;
const seen = { kept: readFileSync(join(r, 'a', 'kept'), 'utf8'), gone: existsSync(join(r, 'a', 'gone')), old: existsSync(join(r, 'd', 'old')), fresh: readFileSync(join(r, 'd', 'new'), 'utf8') };
writeFileSync(join(r, 'written'), 'w');
unlinkSync(join(r, 'a', 'kept'));
const upperHas = existsSync(join(m.overlay.upperdir, 'written'));
const chunks = [];
for await (const c of snap.diff('rootless1')) chunks.push(c);
const diffTar = Buffer.concat(chunks).toString('latin1');
await snap.removeContainer('rootless1');
console.log(JSON.stringify({
  options: m.overlay.options, whiteout: { char: wh.isCharacterDevice(), rdev: wh.rdev }, opaque: opq.get('user.overlay.opaque')?.toString() ?? null,
  trusted: opq.has('trusted.overlay.opaque'), seen, upperHas, diffWhiteout: diffTar.includes('a/.wh.kept'), diffWritten: diffTar.includes('written'),
  left: snap.containers(),
}));
sharedHelper().close?.();
`;

describe('rootless overlay storage (unprivileged user in its own user namespace)', { skip }, () => {
  let dir = '';
  before(() => {
    spawnSync('userdel', [USER], { stdio: 'ignore' });
    execFileSync('useradd', ['-M', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', USER]);
    dir = mkdtempSync(join(tmpdir(), 'berth-srl-'));
    chmodSync(dir, 0o755); // the user reads the script and the layer tarballs here
  });
  after(() => {
    spawnSync('userdel', [USER], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  test('unpack with user.overlay.* markers, mount with userxattr, write, diff, remove', () => {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    const base = layerTar(dir, 'base', [['a', 'dir'], ['a/kept', 'k'], ['a/gone', 'g'], ['d', 'dir'], ['d/old', 'o']]);
    const top = layerTar(dir, 'top', [['a', 'dir'], ['a/.wh.gone', ''], ['d', 'dir'], ['d/.wh..wh..opq', ''], ['d/new', 'n']]);
    const root = join(dir, 'storage');
    mkdirSync(root);
    chownSync(root, uid, gid);
    writeFileSync(join(dir, 'script.mjs'), SCRIPT);
    const r = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', 'unshare', '-Urm', process.execPath, join(dir, 'script.mjs'), join(REPO, 'dist'), root, JSON.stringify([base, top])], {
      encoding: 'utf8', timeout: 60000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(out.options.includes('userxattr'), `mounted with userxattr (${out.options})`);
    assert.deepEqual(out.whiteout, { char: true, rdev: 0 }, 'the whiteout is a 0/0 character device');
    assert.equal(out.opaque, 'y', 'the opaque directory is marked with user.overlay.opaque');
    assert.equal(out.trusted, false);
    assert.deepEqual(out.seen, { kept: 'k', gone: false, old: false, fresh: 'n' }, 'the overlay applies the whiteout and the opaque directory');
    assert.equal(out.upperHas, true, 'a write lands in the upper directory');
    assert.equal(out.diffWhiteout, true, 'diff() turns the deletion into a docker whiteout');
    assert.equal(out.diffWritten, true);
    assert.deepEqual(out.left, []);
  });
});
