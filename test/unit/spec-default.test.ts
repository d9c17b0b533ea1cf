import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, defaultSpec, toRootless } from '../../src/spec/default-spec.js';
import { OCI_VERSION } from '../../src/spec/types.js';
import { parseSpec } from '../../src/spec/validate.js';

describe('defaultSpec (berth-oci spec)', () => {
  it('matches runc spec', () => {
    const s = defaultSpec({ cgroupNamespace: false });
    assert.equal(s.ociVersion, OCI_VERSION);
    assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
    const p = s.process!;
    assert.equal(p.terminal, true);
    assert.deepEqual(p.user, { uid: 0, gid: 0 });
    assert.deepEqual(p.args, ['sh']);
    assert.deepEqual(p.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
    assert.equal(p.cwd, '/');
    assert.equal(p.noNewPrivileges, true);
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    assert.deepEqual(p.capabilities, { bounding: caps, effective: caps, permitted: caps });
    assert.deepEqual(p.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
    assert.deepEqual(
      s.mounts!.map((m) => [m.destination, m.type, m.source]),
      [
        ['/proc', 'proc', 'proc'],
        ['/dev', 'tmpfs', 'tmpfs'],
        ['/dev/pts', 'devpts', 'devpts'],
        ['/dev/shm', 'tmpfs', 'shm'],
        ['/dev/mqueue', 'mqueue', 'mqueue'],
        ['/sys', 'sysfs', 'sysfs'],
        ['/sys/fs/cgroup', 'cgroup', 'cgroup'],
      ],
    );
    assert.deepEqual(s.mounts![2]!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    assert.deepEqual(s.mounts![5]!.options, ['nosuid', 'noexec', 'nodev', 'ro']);
    assert.deepEqual(s.mounts![6]!.options, ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']);
    assert.deepEqual(s.linux!.namespaces!.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
    assert.deepEqual(s.linux!.maskedPaths, DEFAULT_MASKED_PATHS);
    assert.deepEqual(s.linux!.readonlyPaths, DEFAULT_READONLY_PATHS);
    assert.ok(s.linux!.maskedPaths!.includes('/proc/kcore') && s.linux!.maskedPaths!.includes('/sys/firmware'));
    assert.deepEqual(s.linux!.resources, { devices: [{ allow: false, access: 'rwm' }] });
    assert.equal(s.linux!.uidMappings, undefined);
  });

  it('adds a cgroup namespace on cgroup v2 hosts, and takes args', () => {
    const s = defaultSpec({ cgroupNamespace: true, args: ['/bin/echo', 'hi'] });
    assert.deepEqual(s.linux!.namespaces!.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    assert.deepEqual(s.process!.args, ['/bin/echo', 'hi']);
    assert.deepEqual(defaultSpec({ args: [] }).process!.args, ['sh']);
  });

  it('returns fresh objects each call', () => {
    const a = defaultSpec({ cgroupNamespace: true });
    a.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
    a.linux!.maskedPaths!.pop();
    const b = defaultSpec({ cgroupNamespace: true });
    assert.equal(b.process!.capabilities!.bounding!.length, 3);
    assert.equal(b.linux!.maskedPaths!.length, DEFAULT_MASKED_PATHS.length);
  });

  it('rootless matches runc spec --rootless', () => {
    const s = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1001, cgroupNamespace: true });
    assert.deepEqual(s.linux!.namespaces!.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
    assert.deepEqual(s.linux!.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
    assert.deepEqual(s.linux!.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
    assert.equal(s.linux!.resources, undefined);
    const sys = s.mounts!.find((m) => m.destination === '/sys')!;
    assert.deepEqual(sys, { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    assert.equal(s.mounts!.some((m) => m.type === 'cgroup'), false);
    assert.equal(s.mounts!.some((m) => m.options?.some((o) => o.startsWith('gid=') || o.startsWith('uid='))), false);
    assert.deepEqual(s.mounts!.find((m) => m.destination === '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
    assert.deepEqual(s.mounts!.find((m) => m.destination === '/dev/mqueue')!.options, ['nosuid', 'noexec', 'nodev']);
    assert.deepEqual(parseSpec(JSON.stringify(s)), s);
  });

  it('rootless defaults to the effective uid/gid', () => {
    const s = defaultSpec({ rootless: true });
    assert.equal(s.linux!.uidMappings![0]!.hostID, process.geteuid!());
    assert.equal(s.linux!.gidMappings![0]!.hostID, process.getegid!());
  });

  it('toRootless is idempotent', () => {
    const once = defaultSpec({ rootless: true, hostUid: 5, hostGid: 5, cgroupNamespace: false });
    const twice = toRootless(structuredClone(once), { hostUid: 5, hostGid: 5 });
    assert.deepEqual(twice, once);
  });
});
