// bin/berth's prestarted node (native/berth-prestart.c, src/cli/berth/prestarted.ts): a hot
// command leaves a listener; the next one runs in its node process with the caller's arguments,
// environment, working directory, umask, output, exit status and signals, and only when the
// caller is in the listener's situation. Each test has its own socket directory
// (BERTH_PRESTART_DIR), so its listener is its own.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BERTH, testBerth } from '../helpers/berth-cli.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';

const t = testBerth('prestart');
// the system's python itself (a `python3` earlier in PATH may be a shim that forks a shell first)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const rootfs = join(t.dir, 'rootfs');
const dirs: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
});

/** The pids of the listeners whose sockets are in dir (not the node it is just forking). */
function listeners(dir: string): number[] {
  const found = new Map<number, number>(); // pid -> ppid
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const a = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
      if (a[1] === 'prestart' && a[2]?.startsWith(`${dir}/`)) found.set(Number(p), ppid);
    } catch {
      /* gone */
    }
  }
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

after(() => {
  for (const d of dirs) {
    for (const pid of listeners(d)) process.kill(pid, 'SIGKILL'); // its node dies on EOF
    rmSync(d, { recursive: true, force: true });
  }
  t.cleanup();
});

function socketDir(): string {
  const d = mkdtempSync('/tmp/berth-pst-'); // 0700, ours
  dirs.push(d);
  return d;
}

type Env = Record<string, string | undefined>;
const envFor = (dir: string, more: Env = {}): NodeJS.ProcessEnv => ({ ...process.env, BERTH_PRESTART_DIR: dir, BERTH_PRESTART_IDLE_MS: '60000', ...more });
const g = () => ['-D', '--root', t.root, '--state-root', t.stateRoot];

function cli(dir: string, args: string[], o: { env?: Env; cwd?: string; wrap?: string[] } = {}): SpawnSyncReturns<string> {
  const cmd = [...(o.wrap ?? []), BERTH, ...g(), ...args];
  return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: envFor(dir, o.env), timeout: 60000, ...(o.cwd ? { cwd: o.cwd } : {}) });
}

const handedTo = (stderr: string) => Number(/handed over to a prestarted node \(pid (\d+)\)/.exec(stderr)?.[1] ?? 0);
const withoutDebug = (s: string) => s.replace(/^berth: debug: .*\n/gm, '');

/** Runs a hot command until one is handed over (the first starts the listener, whose node then loads). */
async function warm(dir: string, env: Env = {}): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = cli(dir, ['rm', '-f', 'berth-pst-nothing'], { env });
    if (handedTo(r.stderr)) return;
    await sleep(100);
  }
  assert.fail('no command was handed over in 10 s');
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

async function gone(pid: number, ms = 5000): Promise<boolean> {
  for (let end = Date.now() + ms; Date.now() < end; await sleep(20)) if (!alive(pid)) return true;
  return false;
}

describe('prestarted node', () => {
  it('runs a hot command with the caller arguments, environment, directory and output', async () => {
    const dir = socketDir();
    assert.equal(listeners(dir).length, 0);
    await warm(dir);
    assert.ok(listeners(dir).length >= 1, 'a listener started'); // (and one more starting, for a moment, never stays)
    // the environment: -e FOO takes the caller's value; BERTH_ROOT/BERTH_STATE_ROOT name the store
    const work = mkdtempSync(join(t.dir, 'cwd-'));
    writeFileSync(join(work, 'env'), 'FROM_FILE=yes\n');
    const name = t.uniq('pst');
    const r = cli(dir, ['run', '-d', '--name', name, '-e', 'FOO', '--env-file', './env', '--network', 'none', '--rootfs', rootfs, 'sleep', '1000'], { cwd: work, env: { FOO: 'bar baz' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(handedTo(r.stderr), r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    const env = spawnSync(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'inspect', '-f', '{{json .Config.Env}}', name], { encoding: 'utf8' });
    assert.ok(JSON.parse(env.stdout).includes('FOO=bar baz'), env.stdout);
    assert.ok(JSON.parse(env.stdout).includes('FROM_FILE=yes'), env.stdout);
    // output appended where the caller's stdout is (a file opened by the shell with >>)
    const out = join(work, 'out');
    writeFileSync(out, 'first\n');
    const sh = spawnSync('sh', ['-c', `exec "$@" >> ${out}`, 'sh', BERTH, '-D', 'stop', '-t', '0', name], { encoding: 'utf8', env: envFor(dir, { BERTH_ROOT: t.root, BERTH_STATE_ROOT: t.stateRoot }) });
    assert.equal(sh.status, 0, sh.stderr);
    assert.ok(handedTo(sh.stderr), sh.stderr);
    assert.equal(readFileSync(out, 'utf8'), `first\n${name}\n`);
    const rm = cli(dir, ['rm', name]);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal(rm.stdout, `${name}\n`);
  });

  it('runs attached run, exec, logs and ps with their output, streams apart, and the container status', async () => {
    const dir = socketDir();
    await warm(dir);
    const name = t.uniq('pst-att');
    const run = cli(dir, ['run', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sh', '-c', 'echo out; echo err >&2; seq 1 3000; exit 3']);
    assert.ok(handedTo(run.stderr), run.stderr);
    assert.equal(run.status, 3);
    assert.equal(run.stdout, `out\n${Array.from({ length: 3000 }, (_, i) => i + 1).join('\n')}\n`);
    assert.equal(withoutDebug(run.stderr), 'err\n');
    const logs = cli(dir, ['logs', name]);
    assert.ok(handedTo(logs.stderr), logs.stderr);
    assert.equal(logs.stdout, run.stdout);
    const live = t.uniq('pst-ex');
    assert.equal(cli(dir, ['run', '-d', '--name', live, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']).status, 0);
    const ex = cli(dir, ['exec', live, 'sh', '-c', 'echo hi; exit 4']);
    assert.ok(handedTo(ex.stderr), ex.stderr);
    assert.equal(ex.status, 4);
    assert.equal(ex.stdout, 'hi\n');
    const ps = cli(dir, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}']);
    assert.ok(handedTo(ps.stderr), ps.stderr);
    assert.equal(ps.stdout, `${name}\n`);
    // with a terminal or stdin of their own they run in the caller's own node
    for (const args of [['exec', '-i', live, 'true'], ['run', '--rm', '-t', '--network', 'none', '--rootfs', rootfs, 'true']]) {
      assert.equal(handedTo(cli(dir, args).stderr), 0, args.join(' '));
    }
    assert.equal(cli(dir, ['rm', '-f', name, live]).status, 0);
  });

  it('gives back the same exit status and messages as the caller own node', async () => {
    const dir = socketDir();
    await warm(dir);
    const cases = [
      ['run', '-d', '--network', 'none', '--rootfs', join(t.dir, 'no-such-rootfs'), 'true'],
      ['start', 'berth-pst-no-such'],
      ['rm', 'berth-pst-no-such', 'berth-pst-no-such-2'],
      ['run', '-d', '--memory', '12x', '--network', 'none', '--rootfs', rootfs, 'true'],
    ];
    for (const args of cases) {
      const hot = cli(dir, args);
      assert.ok(handedTo(hot.stderr), `${args.join(' ')}: ${hot.stderr}`);
      const cold = cli(dir, args, { env: { BERTH_PRESTART: '0' } });
      assert.equal(handedTo(cold.stderr), 0);
      assert.notEqual(hot.status, 0, args.join(' '));
      assert.equal(hot.status, cold.status, args.join(' '));
      assert.equal(withoutDebug(hot.stderr), withoutDebug(cold.stderr), args.join(' '));
      assert.equal(hot.stdout, cold.stdout);
    }
  });

  it('leaves a caller in another situation to its own node', async () => {
    const dir = socketDir();
    await warm(dir);
    const soft = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
    const elsewhere: Array<[string, { env?: Env; wrap?: string[] }]> = [
      ['another network namespace', { wrap: ['unshare', '-n'] }],
      ['another mount namespace', { wrap: ['unshare', '-m'] }],
      ['other limits', { wrap: ['prlimit', `--nofile=${soft - 1}:${soft - 1}`] }],
      ['another nice value', { wrap: ['nice', '-n', '3'] }],
      ['no_new_privs', { wrap: ['setpriv', '--no-new-privs'] }],
      ['fewer capabilities', { wrap: ['setpriv', '--bounding-set', '-sys_module'] }],
      ['node options', { env: { NODE_OPTIONS: '--no-warnings' } }],
    ];
    for (const [what, o] of elsewhere) {
      const r = cli(dir, ['rm', '-f', 'berth-pst-nothing'], o);
      assert.equal(handedTo(r.stderr), 0, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /debug: store/, `${what}: ${r.status} ${r.signal} ${r.error} ${r.stderr}`); // it ran, in its own node
    }
    // and a command that is not handed over, here
    const ps = cli(dir, ['volume', 'ls']);
    assert.equal(ps.status, 0, ps.stderr);
    assert.equal(handedTo(ps.stderr), 0);
    // the listener still serves the next caller like it
    const r = cli(dir, ['rm', '-f', 'berth-pst-nothing']);
    assert.ok(handedTo(r.stderr), r.stderr);
    // a caller whose start-up environment differs is not left cold for good: it gets a listener of its own
    const sockets = () => readdirSync(dir).filter((f) => f.endsWith('.sock'));
    const before = sockets();
    await warm(dir, { NODE_OPTIONS: '--no-deprecation' });
    assert.equal(sockets().filter((f) => !before.includes(f)).length, 1, 'a listener of its own');
    assert.ok(handedTo(cli(dir, ['rm', '-f', 'berth-pst-nothing']).stderr), 'the first listener still serves its callers');
  });

  it('forwards signals to the command, and a killed caller takes its command with it', async () => {
    const dir = socketDir();
    await warm(dir);
    const name = t.uniq('pst-stop');
    // pid 1 of the container has no handler for SIGTERM: `stop -t 60` waits the whole minute
    const run = cli(dir, ['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']);
    assert.equal(run.status, 0, run.stderr);
    const work = mkdtempSync(join(t.dir, 'cwd-'));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      await warm(dir);
      const c = spawn('sh', ['-c', `umask 027; cd ${work}; exec "$@"`, 'sh', BERTH, ...g(), 'stop', '-t', '60', name], { env: envFor(dir), stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => (err += d));
      const ended = new Promise<{ code: number | null; signal: string | null }>((res) => c.on('close', (code, signal) => res({ code, signal })));
      for (let i = 0; i < 500 && !handedTo(err); i++) await sleep(20);
      const node = handedTo(err);
      assert.ok(node, `not handed over: ${err}`);
      // the node process took on the caller's umask and working directory
      assert.match(readFileSync(`/proc/${node}/status`, 'utf8'), /^Umask:\s+0027$/m);
      assert.equal(readlinkSync(`/proc/${node}/cwd`), work);
      c.kill(sig);
      const end = await ended;
      if (sig === 'SIGKILL') assert.equal(end.signal, 'SIGKILL');
      else assert.equal(end.signal, sig, `${sig}: ${JSON.stringify(end)} ${err}`); // node's own end: killed by it
      assert.ok(await gone(node), `${sig}: node ${node} still runs`);
      const st = spawnSync(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'inspect', '-f', '{{.State.Status}}', name], { encoding: 'utf8' });
      assert.equal(st.stdout, 'running\n', `${sig}: the stop went on`);
    }
    assert.equal(cli(dir, ['rm', '-f', name]).status, 0);
  });

  it('leaves a confined caller (Landlock, seccomp) or one without stdout/stderr to its own node', async () => {
    const dir = socketDir();
    await warm(dir);
    // Landlock (no /proc field shows it): every write denied; the caller cannot take the
    // listener's proof descriptor (pidfd_getfd), so its own node runs, and fails as it should
    const landlock = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_landlock_create_ruleset, SYS_landlock_restrict_self = 444, 446
# LANDLOCK_ACCESS_FS_WRITE_FILE, REMOVE_DIR, REMOVE_FILE and MAKE_* (CHAR DIR REG SOCK FIFO BLOCK SYM)
class RulesetAttr(ctypes.Structure):
    _fields_ = [('handled_access_fs', ctypes.c_uint64)]
attr = RulesetAttr(sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12)))
fd = libc.syscall(SYS_landlock_create_ruleset, ctypes.byref(attr), ctypes.sizeof(attr), 0)
if fd < 0 or libc.syscall(SYS_landlock_restrict_self, fd, 0) != 0: sys.exit(99)
os.execv(sys.argv[1], sys.argv[1:])`;
    // seccomp: a filter that allows everything is still a filter
    const seccomp = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
BPF_RET_K, SECCOMP_RET_ALLOW = 0x06, 0x7fff0000
class SockFilter(ctypes.Structure):
    _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]
class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_uint16), ('filter', ctypes.POINTER(SockFilter))]
allow = (SockFilter * 1)(SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
prog = SockFprog(1, allow)
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0: sys.exit(99)
os.execv(sys.argv[1], sys.argv[1:])`;
    const name = t.uniq('pst-ll');
    const args = ['create', '--name', name, '--network', 'none', '--rootfs', rootfs, 'true'];
    const ll = cli(dir, args, { wrap: [PYTHON, '-c', landlock] });
    assert.notEqual(ll.status, 99, 'Landlock is not available here');
    assert.equal(handedTo(ll.stderr), 0, ll.stderr);
    assert.notEqual(ll.status, 0, 'a caller that may not write created a container');
    assert.equal(spawnSync(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'ps', '-aq', '--filter', `name=${name}`], { encoding: 'utf8' }).stdout, '');
    const sc = cli(dir, ['rm', '-f', 'berth-pst-nothing'], { wrap: [PYTHON, '-c', seccomp] });
    assert.notEqual(sc.status, 99, 'seccomp filter not installed');
    assert.equal(handedTo(sc.stderr), 0, sc.stderr);
    assert.match(sc.stderr, /debug: store/);
    // stdout or stderr closed: node's own start deals with it, as before
    for (const close of ['>&-', '2>&-']) {
      const r = spawnSync('sh', ['-c', `"$@" ${close}; echo "status $?" >&3`, 'sh', BERTH, ...g(), 'rm', '-f', 'berth-pst-nothing'], { encoding: 'utf8', env: envFor(dir), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
      assert.equal(handedTo(r.stderr ?? ''), 0, close);
      assert.equal(String(r.output[3]), 'status 0\n', `${close}: ${r.stderr}`);
    }
    const r = cli(dir, ['rm', '-f', 'berth-pst-nothing']);
    assert.ok(handedTo(r.stderr), r.stderr);
  });

  it('keeps the order of stdout and stderr written to one file, as the caller own node', async () => {
    const dir = socketDir();
    await warm(dir);
    const a = t.uniq('pst-ord');
    const b = t.uniq('pst-ord');
    for (const n of [a, b]) assert.equal(cli(dir, ['create', '--name', n, '--network', 'none', '--rootfs', rootfs, 'true']).status, 0);
    await warm(dir);
    const both = (env: Env) => spawnSync('sh', ['-c', '"$@" 2>&1', 'sh', BERTH, '--root', t.root, '--state-root', t.stateRoot, 'rm', a, 'berth-pst-nothing', b], { encoding: 'utf8', env: envFor(dir, env) });
    const hot = both({});
    assert.equal(hot.stdout, `${a}\nError: No such container: berth-pst-nothing\n${b}\n`);
    assert.equal(hot.status, 1);
    for (const n of [a, b]) {
      const r = cli(dir, ['create', '--name', n, '--network', 'none', '--rootfs', rootfs, 'true']);
      assert.equal(r.status, 0, r.stderr);
    }
    const cold = both({ BERTH_PRESTART: '0' });
    assert.equal(hot.stdout, cold.stdout);
    assert.equal(hot.status, cold.status);
  });

  it('a killed listener takes the command with it; the caller says so', async () => {
    const dir = socketDir();
    await warm(dir);
    const name = t.uniq('pst-lk');
    assert.equal(cli(dir, ['run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, 'sleep', '1000']).status, 0);
    await warm(dir);
    const [listener] = listeners(dir);
    const c = spawn(BERTH, [...g(), 'stop', '-t', '60', name], { env: envFor(dir), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    const ended = new Promise<number | null>((res) => c.on('close', (code) => res(code)));
    for (let i = 0; i < 500 && !handedTo(err); i++) await sleep(20);
    const node = handedTo(err);
    assert.ok(node && listener, err);
    // ctrl-z stops node too, and fg (SIGCONT) continues it
    c.kill('SIGTSTP');
    const state = () => /^State:\s+(\S)/m.exec(readFileSync(`/proc/${node}/status`, 'utf8'))?.[1];
    for (let i = 0; i < 100 && state() !== 'T'; i++) await sleep(20);
    assert.equal(state(), 'T', 'node stopped with its caller');
    c.kill('SIGCONT');
    for (let i = 0; i < 100 && state() === 'T'; i++) await sleep(20);
    assert.notEqual(state(), 'T', 'node continued with its caller');
    process.kill(listener, 'SIGKILL');
    assert.equal(await ended, 125);
    assert.match(err, /was lost; its outcome is unknown/);
    assert.ok(await gone(node), 'node outlived its listener');
    const st = spawnSync(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'inspect', '-f', '{{.State.Status}}', name], { encoding: 'utf8' });
    assert.equal(st.stdout, 'running\n');
    assert.equal(cli(dir, ['rm', '-f', name]).status, 0);
    await warm(dir); // the next command starts a listener again
  });

  it('refuses hostile requests and goes on serving', async () => {
    const dir = socketDir();
    await warm(dir);
    const [listener] = listeners(dir);
    assert.ok(listener);
    const sock = join(dir, readdirSync(dir).find((f) => f.endsWith('.sock'))!);
    const talk = (data: Buffer) =>
      new Promise<string>((res) => {
        let got = '';
        const s = connect(sock, () => s.write(data));
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('error', () => {});
        s.on('close', () => res(got));
        setTimeout(() => s.destroy(), 5000);
      });
    const big = Buffer.alloc(8);
    big.write('BRT2');
    big.writeUInt32LE(0xffffffff, 4);
    for (const data of [Buffer.from('hello\n'), big, Buffer.from('BRT2\x05\0\0\0run\0\0'), Buffer.from('BRT1\x02\0\0\x002\0')]) {
      assert.equal(await talk(data), 'C', JSON.stringify(data.toString('latin1')));
    }
    await warm(dir);
    assert.ok(listeners(dir).includes(listener), 'the listener that got them is the one serving');
  });

  it('ends when idle; BERTH_PRESTART=0 starts none', async () => {
    const dir = socketDir();
    const r = cli(dir, ['rm', '-f', 'berth-pst-nothing'], { env: { BERTH_PRESTART_IDLE_MS: '500' } });
    assert.equal(handedTo(r.stderr), 0);
    let seen: number[] = [];
    for (let i = 0; i < 100 && !seen.length; i++, await sleep(20)) seen = listeners(dir);
    assert.equal(seen.length, 1, 'a listener started');
    assert.ok(await gone(seen[0]!, 10000), 'the idle listener ended');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.sock')), []);
    const off = socketDir();
    for (let i = 0; i < 3; i++) assert.equal(cli(off, ['rm', '-f', 'berth-pst-nothing'], { env: { BERTH_PRESTART: '0' } }).status, 0);
    await sleep(500);
    assert.deepEqual(listeners(off), []);
    assert.deepEqual(readdirSync(off), []);
  });
});
