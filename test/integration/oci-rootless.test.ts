// Rootless: berth-oci run by an unprivileged user (a real user made for this test, with its own
// /etc/subuid and /etc/subgid ranges), a bundle from `berth-oci spec --rootless`, and --root in a
// directory the user owns. One id mapped directly, several through newuidmap/newgidmap; cgroups
// are not delegated here, so the container runs without one and says so.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BERTH_OCI, makeBundle, type Bundle } from '../helpers/bundle.js';
import { canBuildStatic, installHostile } from '../helpers/hostile.js';
import type { Spec } from '../../src/spec/types.js';

const USER = `berthrl${process.pid % 100000}`;
const SUB_START = 600000;
const SUB_COUNT = 65536;
let uid = -1;
let gid = -1;

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function unprivilegedUserns(): boolean {
  try {
    if (readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim() === '0') return false;
    if (existsSync('/proc/sys/kernel/unprivileged_userns_clone')) return readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim() !== '0';
  } catch {
    /* assume yes */
  }
  return true;
}

const missing = ['useradd', 'userdel', 'usermod', 'setpriv', 'newuidmap', 'newgidmap'].filter((c) => !which(c));
const skip = process.getuid?.() !== 0
  ? 'needs root to create the test user'
  : missing.length
    ? `needs ${missing.join(', ')} (packages passwd, util-linux, uidmap)`
    : !unprivilegedUserns()
      ? 'unprivileged user namespaces are disabled on this host'
      : false;

function removeUser(): void {
  spawnSync('userdel', [USER], { stdio: 'ignore' });
  // userdel drops the user's subordinate ranges; make sure of it
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const kept = text.split('\n').filter((l) => !l.startsWith(`${USER}:`)).join('\n');
    if (kept !== text) writeFileSync(f, kept);
  }
}

const made: Bundle[] = [];

describe('rootless berth-oci', { skip }, () => {
  before(() => {
    removeUser();
    execFileSync('useradd', ['-M', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', USER]);
    const r = `${SUB_START}-${SUB_START + SUB_COUNT - 1}`;
    execFileSync('usermod', ['--add-subuids', r, '--add-subgids', r, USER]);
    uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
  });
  after(() => {
    for (const b of made) {
      as(b, ['delete', '--force', b.id]);
      rmSync(b.dir, { recursive: true, force: true });
    }
    removeUser();
  });

  /** berth-oci as the test user, with --root in the bundle (owned by the user). */
  function as(b: Bundle, args: string[], opts: { stdio?: 'file' } = {}) {
    const cmd = ['--reuid', String(uid), '--regid', String(gid), '--init-groups', process.execPath, BERTH_OCI, '--root', b.root, ...args];
    if (opts.stdio === 'file') {
      // a detached container would hold a pipe open: give it a file
      const out = join(b.dir, 'out');
      const fd = openSync(out, 'w');
      const r = spawnSync('setpriv', cmd, { cwd: b.dir, stdio: ['ignore', fd, fd], timeout: 30000 });
      closeSync(fd);
      const text = readFileSync(out, 'utf8');
      return { status: r.status, stdout: text, stderr: text };
    }
    const r = spawnSync('setpriv', cmd, { cwd: b.dir, encoding: 'utf8', timeout: 30000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** A bundle owned by the user, its config.json from `berth-oci spec --rootless` run as the user. */
  function rootlessBundle(args: string[], edit?: (s: Spec) => void): Bundle {
    const b = makeBundle(args);
    made.push(b);
    if (canBuildStatic()) installHostile(b.rootfs);
    mkdirSync(join(b.dir, 'shared'));
    chmodSync(join(b.dir, 'shared'), 0o777);
    mkdirSync(b.root);
    unlinkSync(join(b.dir, 'config.json'));
    execFileSync('chown', ['-R', `${uid}:${gid}`, b.dir]);
    const r = as(b, ['spec', '--rootless']);
    assert.equal(r.status, 0, r.stderr);
    const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as Spec;
    spec.process!.terminal = false;
    spec.process!.args = args;
    spec.mounts!.push({ destination: '/shared', type: 'bind', source: join(b.dir, 'shared'), options: ['rbind'] });
    edit?.(spec);
    writeFileSync(join(b.dir, 'config.json'), JSON.stringify(spec)); // keeps the user as owner
    b.spec = spec;
    return b;
  }

  const nothingLeft = (b: Bundle) => readdirSync(b.root).filter((e) => !e.startsWith('.'));

  test('spec --rootless maps the caller to root; runs without a cgroup and says so', () => {
    const b = rootlessBundle(['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /shared/by-root']);
    assert.deepEqual(b.spec.linux!.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }]);
    const r = as(b, ['run', b.id]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines, ['0', '0', `0 ${uid} 1`, `0 ${gid} 1`, 'deny']);
    assert.match(r.stderr, /warning: cgroups are not delegated to uid \d+ .*running without a cgroup/);
    const st = statSync(join(b.dir, 'shared', 'by-root'));
    assert.deepEqual([st.uid, st.gid], [uid, gid]);
    assert.deepEqual(nothingLeft(b), []);
  });

  test('several ranges through newuidmap/newgidmap: ids inside land on the subordinate ids', { skip: canBuildStatic() ? false : 'needs the static hostile helper' }, () => {
    const maps = () => [{ containerID: 0, hostID: -1, size: 1 }, { containerID: 1, hostID: SUB_START, size: 999 }, { containerID: 1000, hostID: SUB_START + 999, size: 1000 }];
    const b = rootlessBundle(['sh', '-c', 'cat /proc/self/uid_map /proc/self/setgroups; /bin/hostile touch-as 1500 1500 /shared/by-1500; /bin/hostile touch-as 7 7 /shared/by-7; touch /shared/by-root'], (s) => {
      s.linux!.uidMappings = maps().map((m) => (m.hostID < 0 ? { ...m, hostID: uid } : m));
      s.linux!.gidMappings = maps().map((m) => (m.hostID < 0 ? { ...m, hostID: gid } : m));
      // the helper switches ids itself
      const caps = s.process!.capabilities!;
      for (const set of [caps.bounding!, caps.effective!, caps.permitted!]) set.push('CAP_SETUID', 'CAP_SETGID');
    });
    const r = as(b, ['run', b.id]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines.slice(0, 4), [`0 ${uid} 1`, `1 ${SUB_START} 999`, `1000 ${SUB_START + 999} 1000`, 'allow'], r.stdout + r.stderr);
    assert.deepEqual(lines.slice(4), ['touch-as OK', 'touch-as OK'], r.stdout + r.stderr);
    // [`0 ${uid} 1`, `1 ${SUB_START} 999`, `1000 ${SUB_START + 999} 1000`, 'allow']);
    const owner = (f: string) => {
      const st = statSync(join(b.dir, 'shared', f));
      return [st.uid, st.gid];
    };
    assert.deepEqual(owner('by-1500'), [SUB_START + 999 + 500, SUB_START + 999 + 500]);
    assert.deepEqual(owner('by-7'), [SUB_START + 6, SUB_START + 6]);
    assert.deepEqual(owner('by-root'), [uid, gid]);
  });

  test('mappings outside /etc/subuid or /etc/subgid: a clear error, nothing left', () => {
    for (const key of ['uidMappings', 'gidMappings'] as const) {
      const b = rootlessBundle(['true'], (s) => {
        s.linux![key] = [{ containerID: 0, hostID: key === 'uidMappings' ? uid : gid, size: 1 }, { containerID: 1, hostID: SUB_START + SUB_COUNT, size: 10 }];
      });
      const r = as(b, ['run', b.id]);
      assert.notEqual(r.status, 0);
      const file = key === 'uidMappings' ? '/etc/subuid' : '/etc/subgid';
      assert.match(r.stderr, new RegExp(`linux\\.${key}\\[1\\]: host ids ${SUB_START + SUB_COUNT}-${SUB_START + SUB_COUNT + 9} are not delegated to user ${USER}.*${file} gives it \\(${SUB_START}-${SUB_START + SUB_COUNT - 1}\\)`));
      assert.deepEqual(nothingLeft(b), []);
    }
    // someone else's id as root
    const b = rootlessBundle(['true'], (s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]));
    const r = as(b, ['run', b.id]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /linux\.uidMappings\[0\]: host ids 0-0 are not delegated/);
    assert.deepEqual(nothingLeft(b), []);
  });

  test('create, start, exec, ps, kill and delete as the user', async () => {
    const b = rootlessBundle(['sleep', '100']);
    const c = as(b, ['create', b.id], { stdio: 'file' });
    assert.equal(c.status, 0, c.stderr);
    const early = as(b, ['exec', b.id, 'true']);
    assert.notEqual(early.status, 0);
    assert.match(early.stderr, /before it is started when not running as root: start it first/);
    assert.equal(as(b, ['start', b.id]).status, 0);
    const e = as(b, ['exec', b.id, 'sh', '-c', 'id -u; readlink /proc/1/exe']);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(e.stdout.trim().split('\n'), ['0', '/bin/busybox']);
    const ps = as(b, ['ps', '--format', 'json', b.id]);
    assert.equal(ps.status, 0, ps.stderr);
    assert.equal((JSON.parse(ps.stdout) as number[]).length, 1);
    assert.equal(as(b, ['kill', b.id, 'KILL']).status, 0);
    for (let i = 0; i < 100 && !/"stopped"/.test(as(b, ['state', b.id]).stdout); i++) await new Promise((r) => setTimeout(r, 20));
    const d = as(b, ['delete', b.id]);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(nothingLeft(b), []);
  });
});
