// podman drives berth-oci through conmon: `podman --runtime bin/berth-oci run/exec/stop/rm/logs`.
// Self-contained: a private podman configuration, storage, state and image (busybox rootfs made
// with `podman import`) in a temp directory, all removed at the end. The user's podman state is
// never touched: every path podman and the exit command (`podman container cleanup`, started by
// conmon) use comes from this test's containers.conf, storage.conf and global flags.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BERTH_OCI, makeBusyboxRootfs } from '../helpers/bundle.js';

const havePodman = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
const SKIP = havePodman ? false : 'podman is not installed (scripts/setup-host.sh installs podman, conmon and runc)';

const dir = havePodman ? mkdtempSync(join(tmpdir(), 'berth-podman-')) : '';
const IMAGE = `localhost/berth-podman-test:${process.pid}`;
// berth-oci's default --root, as podman's exit command (`podman container cleanup`, which runs
// `delete --force`) does not pass on --runtime-flag: containers have unique 64-hex ids.
const ociRoot = '/run/berth-oci';
// node runs bin/berth-oci (#!/usr/bin/env node): conmon must find it on its PATH
const PATH = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);
const env = { ...process.env, PATH, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
const GLOBAL = [
  '--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'),
  '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
  '--runtime', BERTH_OCI,
];

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function podman(args: string[], opts: { input?: string; timeout?: number } = {}): Result {
  const o: SpawnSyncOptions = { env, encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 60000 };
  const r = spawnSync('podman', [...GLOBAL, ...args], o);
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(args: string[], opts: { input?: string } = {}): string {
  const r = podman(args, opts);
  assert.equal(r.status, 0, `podman ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// podman (not berth) makes libpod_parent/conmon cgroups; remove the ones this test created.
function libpodCgroups(): string[] {
  const base = '/sys/fs/cgroup';
  const out = [join(base, 'libpod_parent')];
  try {
    for (const h of readdirSync(base)) out.push(join(base, h, 'libpod_parent'));
  } catch {
    /* no cgroupfs */
  }
  return out.filter((p) => existsSync(p));
}
let cgroupsBefore = new Set<string>();
const containerCgroups = () => libpodCgroups().flatMap((p) => readdirSync(p).filter((n) => n.startsWith('libpod-')).map((n) => join(p, n)));
let containerCgroupsBefore = new Set<string>();
const ociStates = () => (existsSync(ociRoot) ? readdirSync(ociRoot).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []);
let ociStatesBefore = new Set<string>();
let ociRootExisted = true;

function mountsUnder(d: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(d + '/'));
}

describe('podman --runtime berth-oci', { skip: SKIP }, () => {
  before(() => {
    cgroupsBefore = new Set(libpodCgroups());
    containerCgroupsBefore = new Set(containerCgroups());
    ociStatesBefore = new Set(ociStates());
    ociRootExisted = existsSync(ociRoot);
    // conmon runs `podman container cleanup` when a container exits, with --root, --runroot,
    // --tmpdir, --volumepath... as flags and this file through conmon_env_vars; a setting it cannot
    // see (static_dir, say) makes it miss the container, and `podman run` then waits 20 s for it.
    const q = (s: string) => JSON.stringify(s);
    writeFileSync(env.CONTAINERS_CONF, `[containers]
# podman's default rlimits are above what this host grants (no CAP_SYS_RESOURCE)
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"
[engine]
conmon_env_vars = [${q(`PATH=${PATH}`)}, ${q(`CONTAINERS_CONF=${env.CONTAINERS_CONF}`)}, ${q(`CONTAINERS_STORAGE_CONF=${env.CONTAINERS_STORAGE_CONF}`)}]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = ${q(join(dir, 'events.log'))}
lock_type = "file"
tmp_dir = ${q(join(dir, 'tmp'))}
volume_path = ${q(join(dir, 'volumes'))}
[network]
network_config_dir = ${q(join(dir, 'net'))}
`);
    writeFileSync(env.CONTAINERS_STORAGE_CONF, `[storage]
driver = "overlay"
graphroot = ${q(join(dir, 'graph'))}
runroot = ${q(join(dir, 'runroot'))}
`);
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    assert.equal(tar.status, 0, `tar: ${tar.stderr}`);
    ok(['import', '-q', join(dir, 'rootfs.tar'), IMAGE]);
  });

  after(() => {
    podman(['rm', '-a', '-f', '-t', '0']);
    podman(['rmi', '-a', '-f']);
    // overlay mounts podman may have left (it should leave none)
    for (const l of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', l.split(' ')[4]!]);
    for (const cg of libpodCgroups()) {
      if (cgroupsBefore.has(cg)) continue;
      try {
        for (const d of readdirSync(cg, { withFileTypes: true })) if (d.isDirectory()) rmdirSync(join(cg, d.name));
        rmdirSync(cg);
      } catch {
        /* still in use */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    // berth-oci made its default root for us: remove it when only its seccomp cache is left
    if (!ociRootExisted && existsSync(ociRoot) && readdirSync(ociRoot).every((n) => n === '.seccomp')) rmSync(ociRoot, { recursive: true, force: true });
  });

  test('run --rm prints the output', () => {
    const r = podman(['run', '--rm', IMAGE, 'echo', 'hello']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.status, 0);
  });

  test("run --rm returns the container's exit status", () => {
    assert.equal(podman(['run', '--rm', IMAGE, 'sh', '-c', 'exit 3']).status, 3);
  });

  test('run -i passes stdin through', () => {
    const r = podman(['run', '--rm', '-i', IMAGE, 'sh', '-c', 'read x; echo "got $x"; exit 4'], { input: 'ping\n' });
    assert.equal(r.stdout, 'got ping\n');
    assert.equal(r.status, 4);
  });

  test('a missing program is 127 with the reason, as with runc', () => {
    const r = podman(['run', '--rm', IMAGE, 'nosuchprogram']);
    assert.equal(r.status, 127);
    assert.match(r.stderr, /nosuchprogram.*not found/);
  });

  test('run --user -w -e, a read-only rootfs and a read-only volume', () => {
    const vol = join(dir, 'vol');
    mkdirSync(vol);
    writeFileSync(join(vol, 'f'), 'from the host\n');
    const r = podman(['run', '--rm', '--user', '1000:1000', '-w', '/tmp', '-e', 'FOO=bar', '--read-only', '-v', `${vol}:/data:ro`, IMAGE,
      'sh', '-c', 'id -u; id -g; pwd; echo $FOO; cat /data/f; touch /x 2>/dev/null || echo ro-root; touch /data/y 2>/dev/null || echo ro-data']);
    assert.equal(r.stdout, '1000\n1000\n/tmp\nbar\nfrom the host\nro-root\nro-data\n', r.stderr);
    assert.equal(r.status, 0);
  });

  test('run -t gives the process a pty through conmon\'s console socket', () => {
    const r = podman(['run', '--rm', '-t', IMAGE, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo both; exit 5']);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nboth\r\n$/);
    assert.equal(r.status, 5);
  });

  test('run -d, exec, exec -t, logs, pause/unpause, stop, rm', () => {
    const name = `bt-${process.pid}-d`;
    const id = ok(['run', '-d', '--name', name, IMAGE, 'sh', '-c', 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done']).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(ok(['inspect', '--format', '{{.State.Status}}', name]).trim(), 'running');
    const pid = Number(ok(['inspect', '--format', '{{.State.Pid}}', name]).trim());
    assert.ok(pid > 0 && existsSync(`/proc/${pid}`));
    assert.ok(existsSync(join(ociRoot, id, 'state.json')));

    // exec joins the container's namespaces: it sees the init as pid 1
    assert.equal(ok(['exec', name, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; hostname']), `sh -c echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done \n${id.slice(0, 12)}\n`);
    assert.equal(podman(['exec', name, 'sh', '-c', 'exit 7']).status, 7);
    const t = podman(['exec', '-t', name, 'tty']);
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n$/);
    assert.equal(t.status, 0);
    assert.equal(podman(['exec', '-i', name, 'cat'], { input: 'through exec\n' }).stdout, 'through exec\n');

    ok(['pause', name]);
    assert.equal(ok(['inspect', '--format', '{{.State.Status}}', name]).trim(), 'paused');
    ok(['unpause', name]);
    assert.equal(ok(['inspect', '--format', '{{.State.Status}}', name]).trim(), 'running');

    // stop: kill TERM (the trap answers), then delete
    ok(['stop', '-t', '10', name]);
    assert.equal(ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]).trim(), 'exited 0');
    assert.equal(ok(['logs', name]), 'started\nbye\n');
    assert.ok(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('while'));
    ok(['rm', name]);
    assert.ok(!existsSync(join(ociRoot, id)), 'berth-oci state removed by delete');
    assert.equal(podman(['inspect', name]).status, 125);
  });

  test('stop escalates to SIGKILL when the container ignores SIGTERM', () => {
    const name = `bt-${process.pid}-k`;
    ok(['run', '-d', '--name', name, IMAGE, 'sleep', '1000']);
    ok(['stop', '-t', '1', name]);
    assert.equal(ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]).trim(), 'exited 137');
    ok(['rm', name]);
  });

  test('rm -f removes a running container and leaves nothing behind', () => {
    const name = `bt-${process.pid}-f`;
    const id = ok(['run', '-d', '--name', name, IMAGE, 'sleep', '1000']).trim();
    const pid = Number(ok(['inspect', '--format', '{{.State.Pid}}', name]).trim());
    ok(['rm', '-f', '-t', '0', name]);
    assert.ok(!existsSync(join(ociRoot, id)));
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'); i++) {
      spawnSync('sleep', ['0.05']);
    }
    assert.ok(!existsSync(`/proc/${pid}/cmdline`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 'container process gone');
    assert.deepEqual(ok(['ps', '-a', '-q']), '');
    assert.deepEqual(mountsUnder(join(dir, 'graph')).filter((l) => l.includes(id)), []);
    // every container of this file (run --rm ones too) was deleted: no state, no cgroup
    assert.deepEqual(ociStates().filter((n) => !ociStatesBefore.has(n)), []);
    assert.deepEqual(containerCgroups().filter((n) => !containerCgroupsBefore.has(n)), []);
  });
});
