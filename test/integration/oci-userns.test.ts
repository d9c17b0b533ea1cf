// User namespaces with several mapping ranges, and idmapped bind mounts (open_tree +
// mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, prepared by the shim's IDMAP_TREE/MOUNT_FD ops).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import { canBuildStatic, chownForUserns, DOCKER_DEFAULT_CAPS, HOST_ID_BASE, installHostile } from '../helpers/hostile.js';
import type { IDMapping, Spec } from '../../src/spec/types.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));
const skip = canBuildStatic() ? false : 'needs cc and static libc (libc6-dev) to build test/helpers/hostile.c';

const FULL: IDMapping[] = [{ containerID: 0, hostID: HOST_ID_BASE, size: 65536 }];

function userns(s: Spec, uid: IDMapping[] = FULL, gid: IDMapping[] = uid): void {
  const lx = s.linux!;
  lx.namespaces = [...lx.namespaces!.filter((n) => n.type !== 'user'), { type: 'user' }];
  lx.uidMappings = uid;
  lx.gidMappings = gid;
  const caps = DOCKER_DEFAULT_CAPS;
  s.process!.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

function bundle(args: string[], edit: (s: Spec) => void): Bundle {
  const b = makeBundle(args, edit);
  made.push(b);
  installHostile(b.rootfs);
  if (b.spec.linux?.uidMappings) chownForUserns(b.dir, b.rootfs);
  return b;
}

/** A host directory owned by root with f (0:0) and g (1000:1000), writable by all. */
function hostDir(b: Bundle, name: string): string {
  const d = join(b.dir, name);
  mkdirSync(d);
  chmodSync(d, 0o777);
  writeFileSync(join(d, 'f'), 'f');
  writeFileSync(join(d, 'g'), 'g');
  chownSync(join(d, 'g'), 1000, 1000);
  return d;
}

const owner = (p: string) => {
  const st = statSync(p);
  return `${st.uid}:${st.gid}`;
};

describe('user namespaces and idmapped mounts', { skip }, () => {
  test('several mapping ranges: each container id lands on its own host id', () => {
    const maps: IDMapping[] = [
      { containerID: 0, hostID: HOST_ID_BASE, size: 1 },
      { containerID: 1, hostID: HOST_ID_BASE + 10001, size: 999 },
      { containerID: 1000, hostID: HOST_ID_BASE + 30000, size: 1000 },
    ];
    const b = bundle(['sh', '-c', 'cat /proc/self/uid_map; touch /shared/root; for i in 7 1500 5000; do /bin/hostile touch-as $i $i /shared/u$i; done; true'], (s) => {
      userns(s, maps);
      s.mounts!.push({ destination: '/shared', type: 'bind', source: 'shared', options: ['rbind'] });
    });
    mkdirSync(join(b.dir, 'shared'));
    chmodSync(join(b.dir, 'shared'), 0o777);
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines, [
      `0 ${HOST_ID_BASE} 1`, `1 ${HOST_ID_BASE + 10001} 999`, `1000 ${HOST_ID_BASE + 30000} 1000`,
      'touch-as OK', 'touch-as OK', 'touch-as EINVAL', // 5000 is not mapped
    ]);
    assert.equal(owner(join(b.dir, 'shared', 'root')), `${HOST_ID_BASE}:${HOST_ID_BASE}`);
    assert.equal(owner(join(b.dir, 'shared', 'u7')), `${HOST_ID_BASE + 10007}:${HOST_ID_BASE + 10007}`);
    assert.equal(owner(join(b.dir, 'shared', 'u1500')), `${HOST_ID_BASE + 30500}:${HOST_ID_BASE + 30500}`);
  });

  test('an idmapped bind mount shows host owners unchanged inside a user namespace, and writes them back', () => {
    const b = bundle(['sh', '-c', 'stat -c %u:%g /idm/f /idm/g /plain/f /plain/g; touch /idm/by-root; /bin/hostile touch-as 1000 1000 /idm/by-1000'], (s) => {
      userns(s);
      s.mounts!.push(
        { destination: '/idm', type: 'bind', source: 'src', options: ['rbind', 'idmap'], uidMappings: FULL, gidMappings: FULL },
        { destination: '/plain', type: 'bind', source: 'src', options: ['rbind'] },
      );
    });
    const src = hostDir(b, 'src');
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    // through the idmapped mount: the host's 0 and 1000; through a plain bind: unmapped (nobody)
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0', '1000:1000', '65534:65534', '65534:65534', 'touch-as OK']);
    assert.equal(owner(join(src, 'by-root')), '0:0');
    assert.equal(owner(join(src, 'by-1000')), '1000:1000');
  });

  test('"idmap" without mount mappings takes the container\'s; without a user namespace it maps host ids', () => {
    const b = bundle(['sh', '-c', 'stat -c %u:%g /idm/f /idm/g'], (s) => {
      userns(s);
      s.mounts!.push({ destination: '/idm', type: 'bind', source: 'src', options: ['bind', 'idmap'] });
    });
    hostDir(b, 'src');
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0', '1000:1000']);

    // no user namespace: files of host uid 0 appear as 1000; root cannot write through it
    const one: IDMapping[] = [{ containerID: 0, hostID: 1000, size: 1 }];
    const c = bundle(['sh', '-c', 'stat -c %u:%g /idm/f /idm/g; touch /idm/x 2>/dev/null && echo WROTE || echo EOVERFLOW'], (s) => {
      s.mounts!.push({ destination: '/idm', type: 'bind', source: 'src', options: ['bind', 'idmap'], uidMappings: one, gidMappings: one });
    });
    hostDir(c, 'src');
    const rc = runIn(c);
    assert.equal(rc.status, 0, rc.stderr);
    assert.deepEqual(rc.stdout.trim().split('\n'), ['1000:1000', '65534:65534', 'EOVERFLOW']);
  });

  test('rbind+idmap maps the top mount only, ridmap the submounts too, bind+idmap copies no submount', () => {
    const b = bundle(['sh', '-c', 'stat -c %u:%g /a/f /a/sub/s /b/f /b/sub/s; ls /c/sub | wc -l'], (s) => {
      userns(s);
      s.mounts!.push(
        { destination: '/a', type: 'bind', source: 'src', options: ['rbind', 'idmap'], uidMappings: FULL, gidMappings: FULL },
        { destination: '/b', type: 'bind', source: 'src', options: ['rbind', 'ridmap'], uidMappings: FULL, gidMappings: FULL },
        { destination: '/c', type: 'bind', source: 'src', options: ['bind', 'idmap'], uidMappings: FULL, gidMappings: FULL },
      );
    });
    const src = hostDir(b, 'src');
    mkdirSync(join(src, 'sub'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'berth-test', join(src, 'sub')]);
    try {
      writeFileSync(join(src, 'sub', 's'), 's');
      const r = runIn(b);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['0:0', '65534:65534', '0:0', '0:0', '0']);
    } finally {
      execFileSync('umount', [join(src, 'sub')]);
    }
  });

  test('sysfs in a user namespace without its own network namespace falls back to a read-only bind of /sys', () => {
    // every mount at or under /sys, the host's submounts the bind brings along included, is read-only
    const b = bundle(['sh', '-c', 'grep " /sys" /proc/self/mountinfo | cut -d" " -f6 | grep -vc "^ro," ; ls /sys/kernel >/dev/null && echo SYS'], (s) => {
      userns(s);
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network');
    });
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', 'SYS']);
  });

  test('bad idmap input: clear errors, nothing left', () => {
    const cases: [string, (s: Spec) => void, RegExp][] = [
      ['mappings on a tmpfs', (s) => s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', uidMappings: FULL, gidMappings: FULL }), /mounts\[\d+\].*(bind|idmap)/],
      ['idmap without mappings or user namespace', (s) => s.mounts!.push({ destination: '/t', type: 'bind', source: '/tmp', options: ['bind', 'idmap'] }), /mounts\[\d+\]\.options.*uidMappings/],
      ['only uidMappings', (s) => s.mounts!.push({ destination: '/t', type: 'bind', source: '/tmp', options: ['bind', 'idmap'], uidMappings: FULL }), /gidMappings/],
    ];
    for (const [name, edit, want] of cases) {
      const b = bundle(['true'], edit);
      const r = runIn(b);
      assert.notEqual(r.status, 0, name);
      assert.match(r.stderr, want, name);
      assert.doesNotMatch(r.stderr, /TypeError|at .*\.js:\d+/, name);
      assert.equal(oci(b, ['list', '-q']).stdout, '', name);
    }
  });
});
