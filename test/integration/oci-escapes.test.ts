// Regression tests for the known classes of container escapes through the runtime itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BERTH_OCI, makeBundle, oci, runIn, type Bundle } from '../helpers/bundle.js';
import { canBuildStatic, chownForUserns, harden, installHostile, results } from '../helpers/hostile.js';
import type { Spec } from '../../src/spec/types.js';
import { SHIM_PATH } from '../../src/runtime/launch.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));
const skip = canBuildStatic() ? false : 'needs cc and static libc (libc6-dev) to build test/helpers/hostile.c';

function bundle(args: string[], edit?: (s: Spec) => void, opts: { hostile?: boolean } = {}): Bundle {
  const b = makeBundle(args, edit);
  made.push(b);
  if (opts.hostile !== false) installHostile(b.rootfs);
  if (b.spec.linux?.uidMappings) chownForUserns(b.dir, b.rootfs);
  return b;
}

/** run --detach with the container's stdio on a file (a pipe would be held open by it). */
function detach(b: Bundle): void {
  const fd = openSync(join(b.dir, 'detached.out'), 'w');
  const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '-d', '--bundle', b.dir, b.id], { stdio: ['ignore', fd, fd], timeout: 30000 });
  closeSync(fd);
  assert.equal(r.status, 0, readFileSync(join(b.dir, 'detached.out'), 'utf8'));
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The host's view of a runtime binary: its content (not its mtime: a parallel build may rewrite
 * dist/berth-shim with the same bytes; the probes' own writes are counted in the container). */
function fingerprint(p: string): string {
  return `${sha(p)} ${statSync(p).size}`;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function exeOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

const CONFIGS: [string, (s: Spec) => void][] = [
  ['default spec (host root, no user namespace)', () => {}],
  ['hardened (user namespace, seccomp)', (s) => harden(s)],
  // CAP_SYS_PTRACE passes the non-dumpable barrier: the shim's exe (a sealed copy) and fds are
  // reachable, and must still give nothing
  ['host root with CAP_SYS_PTRACE, no seccomp', (s) => harden(s, { userns: false, seccomp: false, caps: ['CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE', 'CAP_KILL'] })],
];

describe('escape classes', { skip }, () => {
  for (const [name, edit] of CONFIGS) {
    test(`CVE-2019-5736 class: the runtime binary cannot be reached or rewritten from inside; ${name}`, async () => {
      const before = fingerprint(SHIM_PATH);
      const nodeBefore = fingerprint(process.execPath);
      const b = bundle(['/bin/hostile', 'exe-watch', '60'], edit);
      // "#!/proc/self/exe": exec'ing this makes the kernel run the exec'ing binary (the shim) again
      writeFileSync(join(b.rootfs, 'evil'), '#!/proc/self/exe\n');
      chmodSync(join(b.rootfs, 'evil'), 0o755);
      b.write();
      const run = spawn(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '--bundle', b.dir, b.id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      run.stdout.on('data', (d) => (out += d));
      run.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((res) => run.on('exit', (c) => res(c)));
      for (let i = 0; i < 500 && !out.includes('watching'); i++) await sleep(10);
      assert.match(out, /watching/, err);
      // the shim supervising this run executes a sealed copy of itself, not dist/berth-shim
      const shimExe = childrenOf(run.pid!).map((pid) => exeOf(pid)).filter((e) => e !== null);
      assert.deepEqual(shimExe, ['/memfd:berth-shim (deleted)']);
      const exes: string[] = [];
      const until = Date.now() + 20000;
      let n = 0;
      // at least 10 execs, and on until the watcher has seen one of them join (a loaded machine
      // may let the first ones slip between two scans of /proc)
      while ((n < 10 || !out.includes('saw-joining')) && Date.now() < until) {
        // a process joining via exec: its own /proc/self/exe must be the container's binary
        const r = oci(b, ['exec', b.id, 'readlink', '/proc/self/exe']);
        if (r.status === 0) exes.push(r.stdout.trim());
        oci(b, ['exec', b.id, '/evil']);
        n++;
        await sleep(5);
      }
      writeFileSync(join(b.rootfs, 'tmp', 'stop-watch'), '');
      assert.equal(await exited, 0, err);
      const res = results(out);
      assert.ok(n >= 5, `only ${n} execs ran`);
      assert.ok(exes.length > 0 && exes.every((e) => e === '/bin/busybox'), `exe links: ${exes.join(', ')}`);
      assert.ok(Number(res.get('unreachable')) + Number(res.get('seen')) > 0, `the watcher never saw a joining process: ${out}`);
      assert.equal(res.get('write_ok'), '0', out);
      assert.equal(res.get('fd_outside'), '0', out);
      assert.equal(fingerprint(SHIM_PATH), before, 'dist/berth-shim changed');
      assert.equal(fingerprint(process.execPath), nodeBefore, 'node changed');
    });
  }

  test('no host file descriptor reaches the container (run and exec); --preserve-fds passes exactly N', () => {
    const b = bundle(['sh', '-c', '/bin/hostile fds; sleep 100'], (s) => harden(s));
    // run in the foreground: only stdio
    const fg = bundle(['/bin/hostile', 'fds'], (s) => harden(s));
    const r = runIn(fg);
    assert.equal(r.status, 0, r.stderr);
    const fds = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('fd '));
    assert.deepEqual(fds(r.stdout).map((l) => l.split(' ')[1]), ['0', '1', '2'], r.stdout);
    assert.ok(fds(r.stdout).every((l) => l.endsWith(' other')), r.stdout);
    // detached run, then exec
    detach(b);
    const e = oci(b, ['exec', b.id, '/bin/hostile', 'fds']);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(fds(e.stdout).map((l) => l.split(' ')[1]), ['0', '1', '2'], e.stdout);
    assert.ok(fds(e.stdout).every((l) => l.endsWith(' other')), e.stdout);
    // exec with one preserved fd: a host file we opened on purpose
    const extra = join(b.dir, 'passed');
    writeFileSync(extra, 'x');
    const fd = openSync(extra, 'r');
    try {
      const p = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'exec', '--preserve-fds', '1', b.id, '/bin/hostile', 'fds'], {
        encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe', fd],
      });
      assert.equal(p.status, 0, p.stderr);
      assert.deepEqual(fds(p.stdout).map((l) => l.split(' ')[1]), ['0', '1', '2', '3'], p.stdout);
    } finally {
      closeSync(fd);
    }
  });

  test('CVE-2024-21626 class: a working directory through /proc/self/fd/N never leaves the rootfs', () => {
    // walking up from the cwd must end at the container's own root
    const check = 'stat -c %d:%i ../../../../../../../../../.. /';
    const inside = (out: string) => {
      const [up, root] = out.trim().split('\n');
      return up !== undefined && up === root;
    };
    const b = bundle(['sleep', '100'], (s) => harden(s));
    detach(b);
    const escaped: string[] = [];
    for (let n = 3; n <= 15; n++) {
      const r = oci(b, ['exec', '--cwd', `/proc/self/fd/${n}`, b.id, 'sh', '-c', check]);
      if (r.status === 0 && !inside(r.stdout)) escaped.push(`exec --cwd /proc/self/fd/${n}: ${r.stdout.trim()}`);
    }
    // the same as process.cwd of a new container (an image's WORKDIR)
    for (let n = 3; n <= 10; n++) {
      const c = bundle(['sh', '-c', check], (s) => {
        harden(s);
        s.process!.cwd = `/proc/self/fd/${n}`;
      }, { hostile: false });
      const r = runIn(c);
      if (r.status === 0 && !inside(r.stdout)) escaped.push(`run with cwd /proc/self/fd/${n}: ${r.stdout.trim()}`);
      assert.equal(oci(c, ['list', '-q']).stdout, '', 'a failed create leaves nothing');
    }
    assert.deepEqual(escaped, []);
    // other magic links are refused too, with an error naming the cwd
    const r = oci(b, ['exec', '--cwd', '/proc/1/root', b.id, 'true']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cwd.*\/proc\/1\/root/);
  });

  test('CVE-2021-30465 class: symlinked mount destinations stay inside the rootfs', () => {
    const b = bundle(['sh', '-c', 'for d in /e1 /e2 /e3/sub; do echo x > $d/made-inside; done; cat /e1/marker /e2/marker 2>/dev/null; true'], undefined, { hostile: false });
    const hostDir = join(b.dir, 'hostdir');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'marker'), 'host');
    symlinkSync(hostDir, join(b.rootfs, 'e1'));
    symlinkSync('../'.repeat(12) + hostDir.slice(1), join(b.rootfs, 'e2'));
    symlinkSync('e2', join(b.rootfs, 'e3'));
    b.spec.mounts!.push(
      { destination: '/e1', type: 'tmpfs', source: 'tmpfs', options: [] },
      { destination: '/e2', type: 'bind', source: join(b.dir, 'volume'), options: ['rbind'] },
      { destination: '/e3/sub', type: 'tmpfs', source: 'tmpfs', options: [] },
    );
    mkdirSync(join(b.dir, 'volume'));
    const r = runIn(b);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /host/);
    assert.deepEqual(readdirSync(hostDir), ['marker']);
    assert.equal(readFileSync(join(hostDir, 'marker'), 'utf8'), 'host');
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(hostDir));
  });

  test('CVE-2021-30465 class: swapping a directory for a symlink while containers start', async () => {
    const b = bundle(['sh', '-c', 'echo x > /race/sub/made-inside 2>/dev/null; cat /race/sub/marker /race/marker 2>/dev/null; true'], undefined, { hostile: false });
    const hostDir = join(b.dir, 'hostdir');
    mkdirSync(join(hostDir, 'sub'), { recursive: true });
    writeFileSync(join(hostDir, 'marker'), 'host');
    writeFileSync(join(hostDir, 'sub', 'marker'), 'host');
    mkdirSync(join(b.rootfs, 'race.d', 'sub'), { recursive: true });
    symlinkSync(hostDir, join(b.rootfs, 'race.l'));
    b.spec.mounts!.push({ destination: '/race/sub', type: 'tmpfs', source: 'tmpfs', options: [] });
    b.write();
    // the swapper: race is a directory, then a symlink to the host directory, and again
    const swapper = spawn('sh', ['-c', 'while :; do mv -T race.d race; mv -T race race.d; mv -T race.l race; mv -T race race.l; done 2>/dev/null'], {
      cwd: b.rootfs, stdio: 'ignore',
    });
    let outputs = '';
    let ok = 0;
    try {
      for (let i = 0; i < 25; i++) {
        const r = oci(b, ['run', '--bundle', b.dir, `${b.id}-${i}`]);
        outputs += r.stdout;
        if (r.status === 0) ok++;
        else assert.doesNotMatch(r.stderr, /TypeError|RangeError|at .*\.js:\d+/, r.stderr);
      }
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((res) => swapper.on('exit', res));
    }
    assert.ok(ok > 0, 'no container started at all');
    assert.doesNotMatch(outputs, /host/);
    assert.deepEqual(readdirSync(hostDir).sort(), ['marker', 'sub']);
    assert.deepEqual(readdirSync(join(hostDir, 'sub')), ['marker']);
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(hostDir));
    assert.equal(oci(b, ['list', '-q']).stdout, '', 'every container was removed');
  });

  test('masked /proc and /sys paths cannot be unmasked by unmounting or mounting proc again', () => {
    const script = [
      'umount /proc/keys 2>/dev/null && echo UMOUNT_KEYS || echo no-umount-keys',
      'umount -l /sys/firmware 2>/dev/null && echo UMOUNT_FIRMWARE || echo no-umount-firmware',
      'mkdir -p /tmp/p; mount -t proc proc /tmp/p 2>/dev/null && echo MOUNT_PROC || echo no-mount-proc',
      'mount -o remount,rw /proc/sys 2>/dev/null && echo REMOUNT_SYS || echo no-remount-sys',
      'wc -c < /proc/keys; ls /sys/firmware | wc -l',
    ].join('; ');
    for (const edit of [(s: Spec) => harden(s), (s: Spec) => harden(s, { seccomp: false }), () => {}]) {
      const b = bundle(['sh', '-c', script], edit, { hostile: false });
      const r = runIn(b);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim()), ['no-umount-keys', 'no-umount-firmware', 'no-mount-proc', 'no-remount-sys', '0', '0']);
    }
  });

  test('devices are deny-by-default: a node that is not listed cannot be made or opened', () => {
    const script = 'mknod /tmp/mem c 1 1 2>/dev/null && echo MKNOD || echo no-mknod; ' +
      'mknod /tmp/kmsg c 1 11 2>/dev/null; (head -c1 /tmp/mem >/dev/null) 2>/dev/null && echo OPEN || echo no-open; ' +
      '(head -c1 /tmp/kmsg >/dev/null) 2>/dev/null && echo OPEN || echo no-open; ls /dev/mem 2>/dev/null || echo no-dev-mem';
    // host root with CAP_MKNOD (Docker's default caps): the node is made, the devices cgroup refuses it
    const plain = runIn(bundle(['sh', '-c', script], (s) => harden(s, { userns: false }), { hostile: false }));
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(plain.stdout.trim().split('\n'), ['MKNOD', 'no-open', 'no-open', 'no-dev-mem']);
    // in a user namespace mknod itself fails
    const userns = runIn(bundle(['sh', '-c', script], (s) => harden(s), { hostile: false }));
    assert.equal(userns.status, 0, userns.stderr);
    assert.deepEqual(userns.stdout.trim().split('\n'), ['no-mknod', 'no-open', 'no-open', 'no-dev-mem']);
  });
});
