// The TypeScript library (src/index.ts) against real containers (root): run with streams and
// stdin, logs/events as Node streams, exec, AbortSignal, volumes; everything removed at the end.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { Berth, isEngineError, type EngineEvent, type LogEntry } from '../../src/index.js';
import { makeBusyboxRootfs } from '../helpers/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-engine-lib-'));
const rootfs = join(dir, 'rootfs');
const stateRoot = `/run/berth-l${process.pid}`;
let berth: Berth;
const ids = new Set<string>();

before(() => {
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  berth = new Berth({ root: join(dir, 'root'), stateRoot });
});

after(async () => {
  for (const c of berth.list({ all: true })) await berth.remove(String(c.ID), { force: true, volumes: true });
  const left = berth.list({ all: true }).length;
  berth.close();
  const cg = [...ids].filter((id) => existsSync(`/sys/fs/cgroup/memory/berth/${id}`) || existsSync(`/sys/fs/cgroup/pids/berth/${id}`));
  const state = existsSync(join(stateRoot, 'containers')) ? readdirSync(join(stateRoot, 'containers')) : [];
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
  assert.equal(left, 0);
  assert.deepEqual(cg, [], 'leaked cgroups');
  assert.deepEqual(state, [], 'leaked state directories');
});

test('run: collected output, exit status, stdin, streams, auto-remove', async () => {
  const r = await berth.run({ rootfs, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'], autoRemove: true });
  assert.equal(r.exitCode, 4);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(berth.list({ all: true, filters: { id: [r.id] } }).length, 0);
  const s = await berth.run({ rootfs, cmd: ['tr', 'a-z', 'A-Z'], stdin: 'hello\n', autoRemove: true });
  assert.equal(s.stdout, 'HELLO\n');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const t = await berth.run({ rootfs, cmd: ['echo', 'streamed'], stdout: out, autoRemove: true });
  assert.equal(t.exitCode, 0);
  assert.equal(t.stdout, undefined);
  assert.equal(text, 'streamed\n');
  await assert.rejects(berth.run({ rootfs, cmd: ['nosuch'], autoRemove: true }), (e) => isEngineError(e, 'commandnotfound'));
  await assert.rejects(berth.run({ rootfs, cmd: ['true'], memory: '12x' }), (e) => isEngineError(e, 'invalid') && /invalid suffix: 'x'/.test(e.message));
});

test('detached: logs stream (follow), exec, inspect, stop, wait, events', async () => {
  const since = new Date().toISOString();
  const { id, name } = await berth.run({ rootfs, cmd: ['sh', '-c', 'echo one; sleep 0.3; echo two; sleep 60'], detach: true, name: `lib-${process.pid}`, labels: { a: 'b' } });
  ids.add(id);
  const ac = new AbortController();
  const got: string[] = [];
  const logs = berth.logs(id, { follow: true, signal: ac.signal });
  for await (const e of logs as AsyncIterable<LogEntry>) {
    got.push(e.line);
    if (got.length === 2) ac.abort();
  }
  assert.deepEqual(got, ['one\n', 'two\n']);
  const ex = await berth.exec(id, { cmd: ['sh', '-c', 'cat; echo $X; exit 6'], env: ['X=y'], stdin: 'in\n' });
  assert.deepEqual(ex, { exitCode: 6, stdout: 'in\ny\n', stderr: '' });
  const ins = berth.inspect(name) as { State: { Status: string; Running: boolean }; Config: { Labels: Record<string, string> } };
  assert.equal(ins.State.Status, 'running');
  assert.equal(ins.Config.Labels.a, 'b');
  assert.equal(berth.list({ filters: { label: ['a=b'] } }).length, 1);
  assert.deepEqual(berth.top(id).Processes.map((p) => p.at(-1)), ['sleep 60']);
  const waiting = berth.wait(id);
  await berth.stop(id, { timeout: 0 });
  assert.equal(await waiting, 137);
  const events: EngineEvent[] = [];
  for await (const e of berth.events({ since, until: '0s' }) as AsyncIterable<EngineEvent>) if (e.actorId === id) events.push(e);
  assert.deepEqual(events.map((e) => e.action), ['create', 'start', 'exec_start', 'kill', 'die', 'stop']);
  await berth.remove(id);
  await assert.rejects(async () => berth.inspect(id), (e) => isEngineError(e, 'notfound'));
});

test('AbortSignal kills a foreground run; wait can be aborted', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const r = await berth.run({ rootfs, cmd: ['sleep', '60'], signal: ac.signal, autoRemove: true });
  assert.equal(r.exitCode, 137);
  const { id } = await berth.run({ rootfs, cmd: ['sleep', '60'], detach: true });
  ids.add(id);
  const w = new AbortController();
  setTimeout(() => w.abort(), 100);
  await assert.rejects(berth.wait(id, { signal: w.signal }), /aborted/);
  await berth.remove(id, { force: true });
});

test('volumes through the library', async () => {
  const v = berth.createVolume({ name: `libvol-${process.pid}`, labels: { x: '1' } });
  assert.equal(v.Name, `libvol-${process.pid}`);
  const r = await berth.run({ rootfs, cmd: ['sh', '-c', 'echo data > /v/f && cat /v/f'], volumes: [`${v.Name}:/v`], autoRemove: true });
  assert.equal(r.stdout, 'data\n');
  assert.equal(berth.listVolumes({ label: ['x=1'] }).length, 1);
  berth.removeVolume(String(v.Name));
  assert.equal(berth.listVolumes({ name: [String(v.Name)] }).length, 0);
});
