// `berth exec` against real containers (root): the exec'd process is in every cgroup of the
// container (it joins them itself: CGROUP_JOIN, see native/berth-cgroup-join.c) and confined
// exactly like the init (capabilities, seccomp, no_new_privs), --privileged lifts that, docker's
// exit codes (the process's status, 126/127), -e -w -u -d -i -t, a paused or stopped container is
// refused, and exec_start is recorded. Own --root and --state-root; everything is removed.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBusyboxRootfs, REPO } from '../helpers/bundle.js';

const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-engine-exec-'));
const root = join(dir, 'root');
const stateRoot = `/run/berth-x${process.pid}`;
const rootfs = join(dir, 'rootfs');

interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

function berth(args: string[], opts: { input?: string } = {}): R {
  const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, ...args], { encoding: 'utf8', input: opts.input ?? '', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ok = (r: R, what = '') => {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};
let n = 0;
const uniq = (p: string) => `${p}-${process.pid}-${n++}`;
const ids = new Set<string>();
function runDetached(...args: string[]): string {
  const id = ok(berth(['run', '-d', '--network', 'none', '--rootfs', rootfs, ...args, 'sleep', '1000']), 'run -d').trim();
  ids.add(id);
  return id;
}

/** The fields of /proc/PID/status that say how a process is confined. */
const CONFINEMENT = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters'];
const confinement = (status: string) =>
  Object.fromEntries(status.split('\n').filter((l) => CONFINEMENT.includes(l.split(':')[0]!)).map((l) => l.split(/:\s*/) as [string, string]));

// clone3 refused: the shim's CGROUP_JOIN fallback (child1 writes the v2 cgroup.procs itself)
let noClone3 = '';
try {
  execFileSync('cc', ['-O2', '-o', join(dir, 'no-clone3'), join(REPO, 'test', 'helpers', 'no-clone3.c')], { stdio: 'ignore' });
  noClone3 = join(dir, 'no-clone3');
} catch {
  /* no compiler: that test is skipped */
}

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n');
  writeFileSync(join(rootfs, 'notexec'), 'data');
  chmodSync(join(rootfs, 'notexec'), 0o644);
});

after(() => {
  const all = berth(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
  for (const id of all) ids.add(id);
  if (all.length) berth(['rm', '-f', ...all]);
  const left = berth(['ps', '-aq']).stdout.trim();
  const cgroups: string[] = [];
  for (const h of ['cpu', 'memory', 'pids', 'freezer', 'unified']) {
    const d = `/sys/fs/cgroup/${h}/berth`;
    if (existsSync(d)) for (const e of readdirSync(d)) if (ids.has(e)) cgroups.push(`${d}/${e}`);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
  assert.equal(left, '', 'containers left after rm -f');
  assert.deepEqual(cgroups, [], 'leaked cgroups');
});

describe('berth exec', () => {
  /** Host pid of the process started by `exec -d ID sleep ARG` (found by its unique argument). */
  const sleeper = (id: string, arg: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${arg}\0` && readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id);
    } catch {
      return false;
    }
  });
  /** exec -d's process is where the init is, in every hierarchy, seen from the host. */
  function assertJoined(id: string, wrap: string[] = []): void {
    const initPid = Number(ok(berth(['inspect', '-f', '{{.State.Pid}}', id])).trim());
    const arg = String(1000 + n++);
    const r = spawnSync(wrap[0] ?? BERTH, [...wrap.slice(1), ...(wrap.length ? [BERTH] : []), '--root', root, '--state-root', stateRoot, 'exec', '-d', id, 'sleep', arg], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    // exec -d returns at READY, right before the shim execs the program: wait for it (generously)
    let pid: string | undefined;
    for (const until = Date.now() + 20000; !pid && Date.now() < until; ) {
      pid = sleeper(id, arg);
      if (!pid) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    assert.ok(pid, 'the detached exec runs');
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.equal(cg, readFileSync(`/proc/${initPid}/cgroup`, 'utf8'));
    const lines = cg.split('\n').filter(Boolean);
    assert.ok(lines.length >= 1);
    for (const l of lines) assert.ok(l.endsWith(`/${id}`), `not in the container's cgroup: ${l}`);
  }

  test('the process is in every cgroup of the container, as the init is', () => {
    const id = runDetached('--name', uniq('cg'), '--pids-limit', '50');
    assert.equal(ok(berth(['exec', id, 'cat', '/proc/self/cgroup'])), ok(berth(['exec', id, 'cat', '/proc/1/cgroup'])));
    assertJoined(id);
    ok(berth(['rm', '-f', id]));
  });

  test('where clone3 is refused (old kernel, an older seccomp profile around berth) it still joins', { skip: noClone3 ? false : 'needs cc to build test/helpers/no-clone3.c' }, () => {
    const id = runDetached('--name', uniq('nc3'));
    assertJoined(id, [noClone3]);
    ok(berth(['rm', '-f', id]));
  });

  test('confinement is the init\'s: capabilities, seccomp, no_new_privs; --privileged lifts it', () => {
    for (const flags of [[], ['--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--security-opt', 'no-new-privileges']]) {
      const id = runDetached('--name', uniq('conf'), ...flags);
      const own = confinement(ok(berth(['exec', id, 'cat', '/proc/self/status'])));
      const init = confinement(ok(berth(['exec', id, 'cat', '/proc/1/status'])));
      assert.deepEqual(own, init, `flags ${flags.join(' ')}`);
      assert.equal(own.Seccomp, '2');
      if (flags.length) {
        assert.equal(own.NoNewPrivs, '1');
        assert.equal(own.CapEff, '0000000000000001');
      }
      const priv = confinement(ok(berth(['exec', '--privileged', id, 'cat', '/proc/self/status'])));
      assert.equal(priv.Seccomp, '0');
      assert.notEqual(priv.CapEff, own.CapEff);
      assert.ok(BigInt(`0x${priv.CapEff}`) > BigInt(`0x${own.CapEff}`));
      ok(berth(['rm', '-f', id]));
    }
  });

  test('exit codes: the process\'s status, 127 not found, 126 not executable', () => {
    const id = runDetached('--name', uniq('codes'));
    assert.equal(berth(['exec', id, 'sh', '-c', 'exit 7']).status, 7);
    const nf = berth(['exec', id, 'nosuch']);
    assert.equal(nf.status, 127);
    assert.match(nf.stderr, /executable file not found/);
    assert.equal(berth(['exec', id, '/notexec']).status, 126);
    assert.equal(berth(['exec', id, 'sh', '-c', 'kill -9 $$']).status, 137);
    assert.equal(berth(['exec', 'nosuch-container-' + process.pid, 'true']).status, 1);
    ok(berth(['rm', '-f', id]));
  });

  test('-e -w -u -i -t -d and the container\'s own environment', () => {
    const id = runDetached('--name', uniq('flags'), '-e', 'FROM_RUN=r', '-w', '/home');
    assert.equal(ok(berth(['exec', id, 'sh', '-c', 'echo $FROM_RUN $(pwd)'])), 'r /home\n');
    assert.equal(ok(berth(['exec', '-e', 'X=1', '-e', 'FROM_RUN=e', '-w', '/tmp', '-u', 'app', id, 'sh', '-c', 'echo $X $FROM_RUN $(pwd) $(id -u) $(id -G)'])), '1 e /tmp 1000 1000 2000\n');
    assert.equal(ok(berth(['exec', '-u', '1234:5678', id, 'id'])), 'uid=1234 gid=5678\n');
    assert.equal(ok(berth(['exec', '-i', id, 'cat'], { input: 'piped in' })), 'piped in');
    assert.equal(ok(berth(['exec', id, 'cat'], { input: 'not attached' })), '');
    // -t: a terminal of its own (script(1) gives this CLI one), TERM set, the status kept
    const t = spawnSync('script', ['-qec', `${BERTH} --root ${root} --state-root ${stateRoot} exec -t ${id} sh -c 'tty; echo $TERM; exit 5'`, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    if (!t.error) {
      assert.equal(t.status, 5, t.stderr);
      assert.match(t.stdout, /\/dev\/pts\/\d+\r?\nxterm\r?\n/);
    }
    assert.equal(ok(berth(['exec', '-d', id, 'sh', '-c', 'echo done > /tmp/d'])), '');
    let got = '';
    for (let i = 0; i < 200 && got !== 'done\n'; i++) got = berth(['exec', id, 'cat', '/tmp/d']).stdout;
    assert.equal(got, 'done\n');
    ok(berth(['rm', '-f', id]));
  });

  test('library: the result holds all the output (it waits for the pipes to drain)', async () => {
    const { Berth } = await import('../../src/index.js');
    const lib = new Berth({ root, stateRoot });
    const id = runDetached('--name', uniq('lib'));
    try {
      // a background child writes after the process exited: the result waits for the end of the
      // stream, as the CLI's output (the caller's own stdout) and docker's do
      const r = await lib.exec(id, { cmd: ['sh', '-c', '(sleep 0.3; echo late; echo late-err >&2) & echo early; exit 4'] });
      assert.deepEqual(r, { exitCode: 4, stdout: 'early\nlate\n', stderr: 'late-err\n' });
      const q = await lib.exec(id, { cmd: ['sh', '-c', 'echo alpha'] });
      assert.deepEqual(q, { exitCode: 0, stdout: 'alpha\n', stderr: '' });
    } finally {
      lib.close();
      ok(berth(['rm', '-f', id]));
    }
  });

  test('a paused or stopped container is refused; exec_start is recorded', () => {
    const name = uniq('state');
    const id = runDetached('--name', name);
    ok(berth(['exec', name, 'true']));
    const ev = ok(berth(['events', '--since', '120s', '--until', '0s', '--filter', `container=${name}`, '--filter', 'event=exec_start', '--format', 'json']));
    const e = JSON.parse(ev.trim().split('\n')[0]!);
    assert.equal(e.Actor.Attributes.name, name);
    assert.match(e.Actor.Attributes.execID, /^\d+$/);
    ok(berth(['pause', name]));
    const p = berth(['exec', name, 'true']);
    assert.equal(p.status, 1);
    assert.match(p.stderr, /is paused, unpause the container before exec/);
    ok(berth(['unpause', name]));
    ok(berth(['exec', name, 'true']));
    ok(berth(['kill', name]));
    ok(berth(['wait', name]));
    const s = berth(['exec', name, 'true']);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /is not running/);
    ok(berth(['rm', '-f', id]));
  });
});
