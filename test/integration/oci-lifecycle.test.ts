// berth-oci lifecycle: create/start/state/kill/delete/exec/list/ps, hooks, and bad input that
// must fail with a clear message and leave nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BERTH_OCI, makeBundle, oci, type Bundle } from '../helpers/bundle.js';

const made: Bundle[] = [];
after(() => made.forEach((b) => b.cleanup()));

function bundle(args: string[], edit?: Parameters<typeof makeBundle>[1]): Bundle {
  const b = makeBundle(args, edit);
  made.push(b);
  return b;
}

/** create with the container's stdio on a file (a pipe would be held open by the container). */
function create(b: Bundle, extra: string[] = []) {
  const out = join(b.dir, 'create.out');
  const fd = openSync(out, 'w');
  const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'create', '--bundle', b.dir, ...extra, b.id], { stdio: ['ignore', fd, fd], timeout: 30000 });
  closeSync(fd);
  return { status: r.status, output: readFileSync(out, 'utf8') };
}

function ok(r: { status: number | null; stderr: string }) {
  assert.equal(r.status, 0, r.stderr);
}

function status(b: Bundle): string {
  const r = oci(b, ['state', b.id]);
  if (r.status !== 0) return `error: ${r.stderr}`;
  return (JSON.parse(r.stdout) as { status: string }).status;
}

async function waitFor(cond: () => boolean, ms = 5000) {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What berth-oci could have left on the host for a container id. */
function leftovers(b: Bundle): string[] {
  const found: string[] = [];
  if (existsSync(join(b.root, b.id))) found.push(`state dir ${join(b.root, b.id)}`);
  for (const ctl of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', ctl, 'berth', b.id);
    if (existsSync(p)) found.push(`cgroup ${p}`);
  }
  const mi = readFileSync('/proc/self/mountinfo', 'utf8');
  if (mi.includes(b.dir)) found.push('a mount under the bundle');
  return found;
}

describe('berth-oci lifecycle', () => {
  test('create blocks the process until start; state, list, ps, exec, kill, delete', async () => {
    const b = bundle(['sh', '-c', 'echo started > /tmp/started; exec sleep 100']);
    const c = create(b, ['--pid-file', join(b.dir, 'pid')]);
    assert.equal(c.status, 0, c.output);
    const pid = Number(readFileSync(join(b.dir, 'pid'), 'utf8'));
    assert.ok(pid > 1);
    assert.equal(status(b), 'created');
    // not started: the user process has not run
    assert.equal(existsSync(join(b.rootfs, 'tmp', 'started')), false);
    const st = JSON.parse(oci(b, ['state', b.id]).stdout);
    assert.equal(st.pid, pid);
    assert.equal(st.bundle, b.dir);
    assert.equal(st.ociVersion, b.spec.ociVersion);

    ok(oci(b, ['start', b.id]));
    await waitFor(() => existsSync(join(b.rootfs, 'tmp', 'started')));
    assert.equal(status(b), 'running');
    assert.match(oci(b, ['start', b.id]).stderr, /already running/);

    const list = JSON.parse(oci(b, ['list', '--format', 'json']).stdout) as { id: string; status: string; pid: number }[];
    assert.deepEqual(list.map((e) => [e.id, e.status, e.pid]), [[b.id, 'running', pid]]);
    assert.match(oci(b, ['list']).stdout, new RegExp(`^ID\\s+PID\\s+STATUS\\s+BUNDLE\\s+CREATED\\s+OWNER\\n${b.id}\\s+${pid}\\s+running`));

    const ex = oci(b, ['exec', '--env', 'X=1', '--cwd', '/tmp', b.id, 'sh', '-c', 'echo $X $(pwd); cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
    assert.equal(ex.status, 4);
    assert.equal(ex.stdout, '1 /tmp\nsleep 100 ');

    const exu = oci(b, ['exec', '--user', '1000:1000', b.id, 'id']);
    assert.match(exu.stdout, /uid=1000 gid=1000/);

    const ps = JSON.parse(oci(b, ['ps', '--format', 'json', b.id]).stdout) as number[];
    assert.ok(ps.includes(pid), `ps ${ps} should include ${pid}`);

    assert.match(oci(b, ['delete', b.id]).stderr, /not stopped: running/);
    ok(oci(b, ['kill', b.id, 'SIGKILL']));
    await waitFor(() => status(b) === 'stopped');
    ok(oci(b, ['delete', b.id]));
    assert.match(oci(b, ['state', b.id]).stderr, /does not exist/);
    assert.deepEqual(leftovers(b), []);
  });

  test('run --detach, exec --detach with a pid file, delete --force', async () => {
    const b = bundle(['sleep', '100']);
    const out = openSync(join(b.dir, 'out'), 'w');
    const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '-d', '--bundle', b.dir, b.id], { stdio: ['ignore', out, out] });
    assert.equal(r.status, 0, readFileSync(join(b.dir, 'out'), 'utf8'));
    const e = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'exec', '-d', '--pid-file', join(b.dir, 'epid'), b.id, 'sleep', '99'], { stdio: ['ignore', out, out] });
    closeSync(out);
    assert.equal(e.status, 0);
    const epid = Number(readFileSync(join(b.dir, 'epid'), 'utf8'));
    assert.match(readFileSync(`/proc/${epid}/cmdline`, 'utf8'), /^sleep\0 ?99/);
    ok(oci(b, ['kill', '--all', b.id, 'TERM']));
    ok(oci(b, ['delete', '--force', b.id]));
    assert.deepEqual(leftovers(b), []);
  });

  test('kill accepts names and numbers; unknown signals are errors', async () => {
    const b = bundle(['sh', '-c', 'trap "echo got-usr1 > /tmp/sig" USR1; while true; do sleep 0.05; done']);
    assert.equal(create(b).status, 0);
    ok(oci(b, ['start', b.id]));
    await new Promise((r) => setTimeout(r, 300));
    const k = oci(b, ['kill', b.id, '10']);
    assert.equal(k.status, 0, k.stderr);
    await waitFor(() => existsSync(join(b.rootfs, 'tmp', 'sig')));
    assert.match(oci(b, ['kill', b.id, 'SIGNOPE']).stderr, /unknown signal/);
    ok(oci(b, ['kill', b.id, 'KILL']));
    await waitFor(() => status(b) === 'stopped');
    ok(oci(b, ['delete', b.id]));
  });

  test('hooks run in order with the state on stdin', async () => {
    const hostOut = bundleDirFor('hooks');
    const host = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${hostOut}/${name}.json; echo ${name} >> ${hostOut}/order`] });
    const inner = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > /hookout/${name}.json; echo ${name} >> /hookout/order`] });
    const b = bundle(['true'], (s) => {
      s.mounts!.push({ destination: '/hookout', type: 'bind', source: hostOut, options: ['rbind'] });
      s.hooks = {
        prestart: [host('prestart')],
        createRuntime: [host('createRuntime')],
        createContainer: [host('createContainer')],
        startContainer: [inner('startContainer')],
        poststart: [host('poststart')],
        poststop: [host('poststop')],
      };
    });
    assert.equal(create(b).status, 0);
    assert.deepEqual(readFileSync(join(hostOut, 'order'), 'utf8').trim().split('\n'), ['prestart', 'createRuntime', 'createContainer']);
    ok(oci(b, ['start', b.id]));
    await waitFor(() => status(b) === 'stopped');
    ok(oci(b, ['delete', b.id]));
    assert.deepEqual(readFileSync(join(hostOut, 'order'), 'utf8').trim().split('\n'), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    for (const name of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
      const st = JSON.parse(readFileSync(join(hostOut, `${name}.json`), 'utf8')) as { id: string; bundle: string; pid?: number; status: string };
      assert.equal(st.id, b.id, name);
      assert.equal(st.bundle, b.dir, name);
      if (name !== 'poststop') assert.ok(st.pid && st.pid > 1, `${name} gets the pid`);
    }
  });

  test('a failing createRuntime hook fails create and leaves nothing', () => {
    const b = bundle(['true'], (s) => {
      s.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo boom >&2; exit 3'] }] };
    });
    const c = create(b);
    assert.notEqual(c.status, 0);
    assert.match(c.output, /createRuntime hook \/bin\/sh exited with status 3: boom/);
    assert.deepEqual(leftovers(b), []);
  });

  test('a hook that outlives its timeout is killed and fails create', () => {
    const b = bundle(['true'], (s) => {
      s.hooks = { createContainer: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
    });
    const t = Date.now();
    const c = create(b);
    assert.notEqual(c.status, 0);
    assert.match(c.output, /timed out after 1 s/);
    assert.ok(Date.now() - t < 10000);
    assert.deepEqual(leftovers(b), []);
  });
});

describe('berth-oci bad input', () => {
  const cases: [string, (b: Bundle) => void, RegExp][] = [
    ['missing config.json', (b) => unlinkSync(join(b.dir, 'config.json')), /config\.json not found/],
    ['malformed JSON', (b) => writeFileSync(join(b.dir, 'config.json'), '{"ociVersion": '), /config\.json.*(JSON|parse)/i],
    ['unknown namespace', (b) => edit(b, (s) => s.linux.namespaces.push({ type: 'netwrk' })), /linux\.namespaces\[\d+\]\.type.*netwrk/],
    ['relative mount destination', (b) => edit(b, (s) => s.mounts.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' })), /mounts\[\d+\]\.destination/],
    ['relative cwd', (b) => edit(b, (s) => (s.process.cwd = 'tmp')), /process\.cwd/],
    ['deeply nested JSON', (b) => writeFileSync(join(b.dir, 'config.json'), '['.repeat(100000) + ']'.repeat(100000)), /config\.json.*(deep|nest)/i],
    ['a missing bind source', (b) => edit(b, (s) => s.mounts.push({ destination: '/x', type: 'bind', source: '/nonexistent-src', options: ['rbind'] })), /mounts\[\d+\]\.source.*nonexistent-src/],
  ];
  for (const [name, mutate, msg] of cases) {
    test(name, () => {
      const b = bundle(['true']);
      mutate(b);
      const c = create(b);
      assert.notEqual(c.status, 0);
      assert.match(c.output, msg);
      assert.deepEqual(leftovers(b), []);
    });
  }

  test('container ids with "/" or ".." are rejected', () => {
    const b = bundle(['true']);
    for (const id of ['a/b', '..', '../x']) {
      const r = oci(b, ['create', '--bundle', b.dir, id]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /invalid container id/);
    }
    assert.equal(existsSync(b.root) ? readdirSync(b.root).filter((n) => !n.startsWith('.')).length : 0, 0);
  });

  test('an id already in use is refused; the first container is untouched', async () => {
    const b = bundle(['sleep', '100']);
    assert.equal(create(b).status, 0);
    const again = create(b);
    assert.notEqual(again.status, 0);
    assert.match(again.output, /already exists/);
    assert.equal(status(b), 'created');
    assert.match(oci(b, ['delete', b.id]).stderr, /not stopped: created/);
    ok(oci(b, ['delete', '--force', b.id]));
    assert.deepEqual(leftovers(b), []);
  });

  test('--systemd-cgroup without systemd is a clear error', () => {
    const b = bundle(['true']);
    const r = oci(b, ['--systemd-cgroup', 'run', '--bundle', b.dir, b.id]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /systemd/);
    assert.deepEqual(leftovers(b), []);
  });

  test('unknown flags and commands', () => {
    const b = bundle(['true']);
    assert.match(oci(b, ['create', '--bogus', b.id]).stderr, /flag provided but not defined: -bogus/);
    assert.notEqual(oci(b, ['frobnicate']).status, 0);
  });
});

function edit(b: Bundle, f: (s: any) => void) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const s = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
  f(s);
  writeFileSync(join(b.dir, 'config.json'), JSON.stringify(s));
}

let n = 0;
function bundleDirFor(name: string): string {
  const d = join('/tmp', `berth-hooks-${process.pid}-${n++}-${name}`);
  mkdirSync(d, { recursive: true });
  made.push({ cleanup: () => spawnSync('rm', ['-rf', d]) } as unknown as Bundle);
  return d;
}
