import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMountinfo, parseProcCgroup } from '../../src/cgroups/detect.js';
import { CgroupError } from '../../src/cgroups/errors.js';
import { cgroupPathIn, hostDir, parseCgroupsPath } from '../../src/cgroups/path.js';

const HYBRID = `22 1 0:21 / /proc rw - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const V1 = `25 20 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
`;

const V2 = `24 18 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
50 24 0:21 / /tmp/other\\040place rw - cgroup2 cgroup2 rw
`;

describe('parseMountinfo', () => {
  it('detects a hybrid host (v1 controllers + /sys/fs/cgroup/unified)', () => {
    const h = parseMountinfo(HYBRID);
    assert.equal(h.layout, 'hybrid');
    assert.deepEqual(h.unified, { mountpoint: '/sys/fs/cgroup/unified', root: '/' });
    assert.deepEqual(h.v1.map((x) => x.subsystems.join(',')), ['cpu', 'cpuacct', 'cpuset', 'memory', 'name=systemd']);
  });

  it('detects v1 with co-mounted controllers and ignores mount flags', () => {
    const h = parseMountinfo(V1);
    assert.equal(h.layout, 'v1');
    assert.equal(h.unified, null);
    const cpu = h.v1.find((x) => x.subsystems.includes('cpuacct'))!;
    assert.deepEqual(cpu.subsystems, ['cpu', 'cpuacct']);
    assert.equal(cpu.mountpoint, '/sys/fs/cgroup/cpu,cpuacct');
    assert.deepEqual(h.v1[0]!.subsystems, ['name=systemd']);
    assert.deepEqual(h.v1.find((x) => x.subsystems.includes('net_prio'))!.subsystems, ['net_cls', 'net_prio']);
  });

  it('detects v2 and prefers /sys/fs/cgroup over other cgroup2 mounts', () => {
    const h = parseMountinfo(V2.split('\n').reverse().join('\n'));
    assert.equal(h.layout, 'v2');
    assert.deepEqual(h.unified, { mountpoint: '/sys/fs/cgroup', root: '/' });
    assert.deepEqual(h.v1, []);
  });

  it('decodes octal escapes and keeps the mount root of a container view', () => {
    const h = parseMountinfo('60 50 0:30 /docker/abc /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory\n61 50 0:30 / /host/mem rw - cgroup cgroup rw,memory\n');
    assert.equal(h.layout, 'v1');
    assert.equal(h.v1.length, 1);
    assert.deepEqual(h.v1[0], { subsystems: ['memory'], mountpoint: '/host/mem', root: '/' });
    const only = parseMountinfo('60 50 0:30 /docker/abc /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory\n');
    assert.deepEqual(only.v1[0], { subsystems: ['memory'], mountpoint: '/sys/fs/cgroup/my mem', root: '/docker/abc' });
  });

  it('fails clearly when no cgroup fs is mounted', () => {
    assert.throws(() => parseMountinfo('22 1 0:21 / /proc rw - proc proc rw\n'), (e: unknown) => e instanceof CgroupError && /no cgroup file system/.test(e.message));
  });
});

describe('parseProcCgroup', () => {
  it('maps each controller and the v2 entry', () => {
    const m = parseProcCgroup('9:name=systemd:/\n4:memory:/process_api/55\n2:cpu,cpuacct:/a\n0::/x/y\n');
    assert.equal(m.get('memory'), '/process_api/55');
    assert.equal(m.get('cpuacct'), '/a');
    assert.equal(m.get('name=systemd'), '/');
    assert.equal(m.get(''), '/x/y');
  });
});

describe('cgroupsPath', () => {
  it('defaults to /berth/<id>', () => {
    assert.deepEqual(parseCgroupsPath(undefined, 'abc'), { path: '/berth/abc', relative: false });
    assert.deepEqual(parseCgroupsPath('', 'abc'), { path: '/berth/abc', relative: false });
  });

  it('normalizes absolute and relative paths', () => {
    assert.deepEqual(parseCgroupsPath('//a/./b/', 'x'), { path: '/a/b', relative: false });
    assert.deepEqual(parseCgroupsPath('a/b', 'x'), { path: '/a/b', relative: true });
  });

  it('rejects ".." with an error naming linux.cgroupsPath', () => {
    assert.throws(() => parseCgroupsPath('/a/../../etc', 'x'), (e: unknown) => e instanceof CgroupError && e.field === 'linux.cgroupsPath' && /\.\./.test(e.message));
    assert.throws(() => parseCgroupsPath('../x', 'x'), /linux\.cgroupsPath/);
  });

  it('rejects the root cgroup and ids that cannot name a cgroup', () => {
    assert.throws(() => parseCgroupsPath('/', 'x'), /root cgroup/);
    assert.throws(() => parseCgroupsPath(undefined, 'a/b'), /linux\.cgroupsPath/);
    assert.throws(() => parseCgroupsPath(undefined, '..'), /linux\.cgroupsPath/);
  });

  it('resolves relative paths below the own cgroup and strips a mount root', () => {
    assert.equal(cgroupPathIn({ path: '/c', relative: true }, '/user/s1'), '/user/s1/c');
    assert.equal(cgroupPathIn({ path: '/c', relative: true }, '/'), '/c');
    assert.equal(cgroupPathIn({ path: '/c', relative: false }, '/user/s1'), '/c');
    assert.equal(hostDir('/sys/fs/cgroup/memory', '/', '/berth/x'), '/sys/fs/cgroup/memory/berth/x');
    assert.equal(hostDir('/sys/fs/cgroup/memory', '/docker/abc', '/docker/abc/x'), '/sys/fs/cgroup/memory/x');
  });
});
