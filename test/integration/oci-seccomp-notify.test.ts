// SCMP_ACT_NOTIFY: the runtime sends the notify fd (SCM_RIGHTS) with the container process
// state JSON to linux.seccomp.listenerPath, and a real agent (test/helpers/seccomp-agent.py)
// answers the container's syscalls through that fd.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BERTH_OCI, makeBundle, oci, REPO, runIn, type Bundle } from '../helpers/bundle.js';
import { chownForUserns, harden } from '../helpers/hostile.js';
import type { Spec } from '../../src/spec/types.js';

const made: Bundle[] = [];
const agents: ChildProcess[] = [];
after(() => {
  for (const a of agents) a.kill('SIGKILL');
  made.forEach((b) => b.cleanup());
});
const AGENT = join(REPO, 'test', 'helpers', 'seccomp-agent.py');
const ENOSPC = 28;

function notifyMkdir(s: Spec, sock: string): void {
  s.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: sock,
    listenerMetadata: 'berth-test-meta',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
}

async function startAgent(b: Bundle): Promise<{ sock: string; out: string }> {
  const sock = join(b.dir, 'agent.sock');
  const out = join(b.dir, 'agent.json');
  const a = spawn('python3', [AGENT, sock, out, String(ENOSPC)], { stdio: ['ignore', 'ignore', 'inherit'] });
  agents.push(a);
  for (let i = 0; i < 500 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(sock), 'the agent did not start listening');
  return { sock, out };
}

async function agentResult(out: string): Promise<{ state: Record<string, any>; fds: number; nspid: string[]; answered: number }> {
  for (let i = 0; i < 1500 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
  return JSON.parse(readFileSync(out, 'utf8'));
}

async function runWithAgent(edit: (s: Spec) => void) {
  const b = makeBundle(['sh', '-c', 'mkdir /made-by-test 2>&1; echo "rc=$?"; test -e /made-by-test && echo exists || echo absent']);
  made.push(b);
  const { sock, out } = await startAgent(b);
  edit(b.spec);
  notifyMkdir(b.spec, sock);
  b.spec.annotations = { 'org.example.test': 'yes' };
  if (b.spec.linux?.uidMappings) chownForUserns(b.dir, b.rootfs);
  const r = runIn(b);
  const got = await agentResult(out);
  return { b, r, got };
}

function checkMessage(b: Bundle, got: Awaited<ReturnType<typeof agentResult>>): void {
  const m = got.state;
  assert.equal(got.fds, 1, 'exactly one fd (the seccomp notify fd) is sent');
  assert.deepEqual(m.fds, ['seccompFd']);
  assert.equal(m.metadata, 'berth-test-meta');
  assert.equal(typeof m.ociVersion, 'string');
  assert.equal(typeof m.pid, 'number');
  assert.equal(m.state.id, b.id);
  assert.equal(m.state.status, 'creating');
  assert.equal(m.state.pid, m.pid);
  assert.equal(m.state.bundle, b.dir);
  assert.deepEqual(m.state.annotations, { 'org.example.test': 'yes' });
  // the pid is the container's init as the host sees it: pid 1 of the container's pid namespace
  assert.equal(got.nspid.length, 2, `NSpid: ${got.nspid.join(' ')}`);
  assert.equal(got.nspid[0], String(m.pid));
  assert.equal(got.nspid[1], '1');
}

describe('seccomp SCMP_ACT_NOTIFY with a listener', () => {
  test('the agent receives fd + state and its answer (ENOSPC) reaches the container', async () => {
    const { b, r, got } = await runWithAgent((s) => {
      s.process!.noNewPrivileges = false; // filter loaded before the identity switch
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No space left on device/);
    assert.match(r.stdout, /rc=1\nabsent/);
    assert.ok(got.answered >= 1);
    checkMessage(b, got);
  });

  test('in a user namespace with no_new_privs (filter loaded last, after pivot_root)', async () => {
    const { b, r, got } = await runWithAgent((s) => harden(s, { seccomp: false }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No space left on device/);
    assert.match(r.stdout, /rc=1\nabsent/);
    checkMessage(b, got);
    assert.ok(statSync(b.rootfs).isDirectory());
  });

  test('exec: the agent hears of the exec\'d process in the running container', async () => {
    const b = makeBundle(['sleep', '120']);
    made.push(b);
    const first = await startAgent(b);
    notifyMkdir(b.spec, first.sock);
    b.spec.process!.noNewPrivileges = false;
    b.write();
    const log = openSync(join(b.dir, 'out.log'), 'w');
    const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '-d', '--bundle', b.dir, b.id], { stdio: ['ignore', log, log], timeout: 30000 });
    closeSync(log);
    assert.equal(r.status, 0, readFileSync(join(b.dir, 'out.log'), 'utf8'));
    const created = await agentResult(`${first.out}.state`);
    assert.equal(created.state.state.status, 'creating');
    // a second agent takes over the socket path for the exec
    const out2 = join(b.dir, 'agent2.json');
    const ino1 = statSync(first.sock).ino;
    const a2 = spawn('python3', [AGENT, first.sock, out2, String(ENOSPC)], { stdio: ['ignore', 'ignore', 'inherit'] });
    agents.push(a2);
    // it listens before it renames its socket onto the path
    for (let i = 0; i < 500 && statSync(first.sock).ino === ino1; i++) await new Promise((res) => setTimeout(res, 20));
    const e = oci(b, ['exec', b.id, 'sh', '-c', 'mkdir /x 2>&1; echo "rc=$?"']);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /No space left on device\nrc=1/);
    const got = await agentResult(`${out2}.state`);
    assert.equal(got.state.state.status, 'running');
    assert.equal(got.state.state.id, b.id);
    assert.equal(got.state.state.pid, created.state.pid, 'state.pid is the container\'s init');
    assert.notEqual(got.state.pid, created.state.pid, 'pid is the exec\'d process');
    assert.notEqual(got.nspid[1], '1');
    oci(b, ['delete', '--force', b.id]);
  });

  test('an unreachable listener is a clear error and leaves no container', () => {
    const b = makeBundle(['true']);
    made.push(b);
    notifyMkdir(b.spec, join(b.dir, 'nobody-listens.sock'));
    const r = runIn(b);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /connect seccomp listener .*nobody-listens\.sock/);
    assert.ok(!existsSync(join(b.root, b.id)), 'the state directory is removed');
  });
});
