// Rootfs owners in a user namespace (annotation run.oci.berth.idmap-rootfs): a rootfs owned by
// host root appears owned by root inside, through an idmapped mount (plain directory), an
// overlay rebuilt from idmapped layers (overlay rootfs), or the chown-copy fallback (FUSE, or
// "copy"), which is cached per rootfs and mapping. Nothing stays mounted after delete.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import { DOCKER_DEFAULT_CAPS, HOST_ID_BASE } from '../helpers/hostile.js';
import type { Spec } from '../../src/spec/types.js';

const made: Bundle[] = [];
const mounts: string[] = [];
after(() => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  made.forEach((b) => b.cleanup());
});
const ANN = 'run.oci.berth.idmap-rootfs';
const BASE = HOST_ID_BASE + 300000; // a range no other test uses
const MAP = [{ containerID: 0, hostID: BASE, size: 65536 }];
const SCRIPT = 'id -u; stat -c %u:%g /bin/busybox /etc/passwd /; touch /made-inside && stat -c %u:%g /made-inside';

function bundle(value: string | undefined, args = ['sh', '-c', SCRIPT], edit?: (s: Spec) => void): Bundle {
  const b = makeBundle(args, (s) => {
    const lx = s.linux!;
    lx.namespaces = [...lx.namespaces!.filter((n) => n.type !== 'user'), { type: 'user' }];
    lx.uidMappings = MAP;
    lx.gidMappings = MAP;
    s.process!.capabilities = { bounding: [...DOCKER_DEFAULT_CAPS], effective: [...DOCKER_DEFAULT_CAPS], permitted: [...DOCKER_DEFAULT_CAPS] };
    if (value !== undefined) s.annotations = { [ANN]: value };
    edit?.(s);
  });
  execFileSync('chmod', ['755', b.dir]);
  made.push(b);
  return b;
}

const owner = (p: string) => {
  const st = statSync(p);
  return `${st.uid}:${st.gid}`;
};
const mountedUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
const INSIDE_OK = ['0', '0:0', '0:0', '0:0', '0:0'];

describe('idmapped rootfs of user-namespaced containers', () => {
  test('without the annotation a host-root rootfs shows as nobody inside (the problem)', () => {
    const b = bundle(undefined, ['sh', '-c', 'stat -c %u:%g /bin/busybox']);
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '65534:65534');
  });

  test('a plain directory: idmapped mount, owners right inside, writes land as on-disk root', () => {
    const b = bundle('true');
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), INSIDE_OK);
    assert.doesNotMatch(r.stderr, /copy/);
    assert.equal(owner(join(b.rootfs, 'made-inside')), '0:0');
    assert.equal(owner(join(b.rootfs, 'bin', 'busybox')), '0:0', 'the rootfs itself is not chowned');
    assert.deepEqual(mountedUnder(b.dir), []);
  });

  test('an overlay rootfs: rebuilt from idmapped lower layers, writes go to its upper as mapped ids', () => {
    const b = bundle('true', undefined, (s) => {
      s.root = { path: join('ovl', 'merged'), readonly: false };
    });
    const o = join(b.dir, 'ovl');
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(o, d), { recursive: true });
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${b.rootfs},upperdir=${o}/upper,workdir=${o}/work`, join(o, 'merged')]);
    mounts.push(join(o, 'merged'));
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), INSIDE_OK);
    assert.doesNotMatch(r.stderr, /copy/);
    assert.equal(owner(join(o, 'upper', 'made-inside')), `${BASE}:${BASE}`);
    assert.equal(owner(join(b.rootfs, 'bin', 'busybox')), '0:0');
    assert.deepEqual(mountedUnder(b.root), [], 'no idmapped layer or overlay stays mounted');
    assert.ok(!existsSync(join(b.root, '.rootfs-mounts', b.id)));
  });

  test('a FUSE rootfs cannot be idmapped: the chown-copy fallback, cached for the next container', () => {
    const b = bundle('true');
    const f = join(b.dir, 'fuse');
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(f, d), { recursive: true });
    execFileSync('fuse-overlayfs', ['-o', `lowerdir=${b.rootfs},upperdir=${f}/upper,workdir=${f}/work`, join(f, 'merged')]);
    mounts.push(join(f, 'merged'));
    b.spec.root = { path: join('fuse', 'merged'), readonly: false };
    const r1 = runIn(b);
    assert.equal(r1.status, 0, r1.stderr);
    assert.deepEqual(r1.stdout.trim().split('\n'), INSIDE_OK);
    assert.match(r1.stderr, /cannot be idmapped.*copy with owners shifted.*made now/);
    // the second container with the same rootfs and mapping reuses the copy
    const b2 = { ...b, id: `${b.id}-2` };
    const r2 = oci(b2, ['run', '--bundle', b.dir, b2.id]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /copy with owners shifted.*cached/);
    assert.deepEqual(r2.stdout.trim().split('\n'), INSIDE_OK, 'the first container\'s writes are not seen');
    assert.ok(!existsSync(join(f, 'merged', 'made-inside')), 'writes do not reach the original rootfs');
    assert.equal(readdirSync(join(b.root, '.rootfs-shift')).length, 1);
    assert.deepEqual(mountedUnder(b.root), []);
  });

  test('"copy" forces the fallback; set-id bits survive the shift', () => {
    const b = bundle('copy', ['sh', '-c', 'stat -c %u:%g:%a /bin/busybox /suid']);
    writeFileSync(join(b.rootfs, 'suid'), '');
    execFileSync('chmod', ['4755', join(b.rootfs, 'suid')]);
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /run\.oci\.berth\.idmap-rootfs=copy asks for it/);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0:755', '0:0:4755']);
    assert.deepEqual(mountedUnder(b.root), []);
  });

  test('bad input: a clear error naming the annotation, nothing left', () => {
    const cases: [string | undefined, (s: Spec) => void, RegExp][] = [
      ['yes', () => {}, /idmap-rootfs"\]: "yes" is not "true", "copy" or "false"/],
      ['true', (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'user');
        delete s.linux!.uidMappings;
        delete s.linux!.gidMappings;
      }, /idmap-rootfs"\]: needs a user namespace/],
    ];
    for (const [v, edit, want] of cases) {
      const b = bundle(v, ['true'], edit);
      const r = runIn(b);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, want);
      assert.equal(oci(b, ['list', '-q']).stdout, '');
      assert.ok(!existsSync(join(b.root, '.rootfs-mounts', b.id)));
    }
  });
});
