// Issue 6's verbs through the TypeScript library that engine-lib.test.ts leaves out (root):
// the whole lifecycle (create, start, pause/unpause, rename, update, stats, top, kill, restart,
// stop, port, remove -v), stdio as real Node streams (stdin fed in chunks, separate stdout and
// stderr sinks), AbortSignal on the long operations (events and logs that follow, exec, a run
// aborted before it starts), attach, and bad input that must create nothing.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { Berth, isEngineError, type EngineEvent, type LogEntry } from '../../src/index.js';
import { collector, libraryTestBerth, until } from '../helpers/library.js';

const lt = libraryTestBerth('verbs-lib', 'vl');
const { dir, rootfs, made, uniq } = lt;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



const state = (id: string) => (lt.berth.inspect(id) as { State: { Status: string; ExitCode: number } }).State;

describe('library: the verbs of issue 6', () => {
  test('lifecycle: create, start, pause/unpause, rename, update, stats, top, kill, restart, stop, wait, remove with volumes', async () => {
    const name = uniq('life');
    const { id } = await lt.berth.create({ rootfs, name, network: 'none', cmd: ['sh', '-c', 'trap "echo term; exit 9" TERM; echo up; while true; do sleep 0.05; done'], volumes: ['/anon'], labels: { life: name } });
    made.add(id);
    assert.equal(state(id).Status, 'created');
    await lt.berth.start(id);
    assert.equal(state(id).Status, 'running');
    assert.deepEqual(lt.berth.list({ filters: { label: [`life=${name}`] } }).map((r) => r.Names), [name]);
    lt.berth.pause(id);
    assert.equal(state(id).Status, 'paused');
    await assert.rejects(lt.berth.exec(id, { cmd: ['true'] }), (e) => isEngineError(e, 'conflict') && /paused/.test(e.message));
    lt.berth.unpause(id);
    assert.equal((await lt.berth.exec(id, { cmd: ['echo', 'back'] })).stdout, 'back\n');
    const name2 = uniq('life2');
    lt.berth.rename(id, name2);
    assert.equal((lt.berth.inspect(name2) as { Id: string }).Id, id);
    assert.throws(() => lt.berth.inspect(name), (e) => isEngineError(e, 'notfound'));
    lt.berth.update(id, { memory: '48m', pidsLimit: 30 });
    const hc = (lt.berth.inspect(id) as { HostConfig: { Memory: number; PidsLimit: number } }).HostConfig;
    assert.deepEqual([hc.Memory, hc.PidsLimit], [48 << 20, 30]);
    const st = await lt.berth.stats(id);
    assert.ok(st.pids >= 2, `pids ${st.pids}`);
    assert.ok(st.memUsage > 0 && st.memLimit === 48 << 20, `mem ${st.memUsage}/${st.memLimit}`);
    assert.ok(lt.berth.top(id).Processes.some((p) => p.at(-1)!.includes('trap')));
    // kill with a signal the shell traps: its handler runs and sets the status
    await lt.berth.kill(id, 'SIGTERM');
    assert.equal(await lt.berth.wait(id), 9);
    await lt.berth.restart(id, { timeout: 5 });
    assert.equal(state(id).Status, 'running');
    await until('the restarted shell\'s trap', async () => (await lt.berth.exec(id, { cmd: ['true'] })).exitCode === 0);
    await lt.berth.stop(id, { timeout: 10 });
    assert.deepEqual([state(id).Status, state(id).ExitCode], ['exited', 9]);
    const logs: string[] = [];
    for await (const e of lt.berth.logs(id) as AsyncIterable<LogEntry>) logs.push(e.line);
    assert.deepEqual(logs, ['up\n', 'term\n', 'up\n', 'term\n']);
    const anon = (lt.berth.inspect(id) as { Mounts: { Name: string; Destination: string }[] }).Mounts.find((m) => m.Destination === '/anon')!.Name;
    assert.equal(lt.berth.listVolumes({ name: [anon] }).length, 1);
    await lt.berth.remove(id, { volumes: true });
    assert.equal(lt.berth.listVolumes({ name: [anon] }).length, 0, 'remove({volumes}) removes the anonymous volume');
    assert.throws(() => lt.berth.inspect(id), (e) => isEngineError(e, 'notfound'));
  });

  test('stdio as Node streams: stdin fed in chunks, stdout and stderr to their own Writables', async () => {
    const out = collector();
    const err = collector();
    async function* chunks() {
      for (const c of ['alpha\n', 'beta\n', 'gamma\n']) {
        yield Buffer.from(c);
        await sleep(50);
      }
    }
    const r = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', 'while read l; do echo "o:$l"; echo "e:$l" >&2; done; exit 5'], stdin: Readable.from(chunks()), stdout: out, stderr: err, autoRemove: true });
    assert.equal(r.exitCode, 5);
    assert.equal(r.stdout, undefined, 'nothing collected when a stream is given');
    assert.equal(out.text(), 'o:alpha\no:beta\no:gamma\n');
    assert.equal(err.text(), 'e:alpha\ne:beta\ne:gamma\n');
    // 1 MiB through stdin and back: nothing lost or reordered
    const big = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < big.length; i += 4096) big.write(String(i % 10), i);
    const back = collector();
    const b = await lt.berth.run({ rootfs, network: 'none', cmd: ['cat'], stdin: Readable.from([big.subarray(0, 300000), big.subarray(300000)]), stdout: back, autoRemove: true });
    assert.equal(b.exitCode, 0);
    assert.ok(Buffer.from(back.text()).equals(big), `got ${back.text().length} bytes`);
    // exec with streams
    const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sleep', '300'], detach: true });
    made.add(id);
    const eo = collector();
    const ee = collector();
    const input = new PassThrough();
    const ex = lt.berth.exec(id, { cmd: ['sh', '-c', 'cat; echo done >&2'], stdin: input, stdout: eo, stderr: ee });
    input.write('one ');
    await sleep(100);
    input.end('two');
    assert.deepEqual(await ex, { exitCode: 0 });
    assert.equal(eo.text(), 'one two');
    assert.equal(ee.text(), 'done\n');
    await lt.berth.remove(id, { force: true });
  });

  test('AbortSignal: events and logs that follow end when aborted; exec is killed; an aborted run creates nothing', async () => {
    const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', 'echo first; sleep 300'], detach: true, name: uniq('abort') });
    made.add(id);
    // events: follows (no until) and ends on abort
    const ac = new AbortController();
    const seen: EngineEvent[] = [];
    const evDone = (async () => {
      for await (const e of lt.berth.events({ signal: ac.signal }) as AsyncIterable<EngineEvent>) seen.push(e);
    })();
    await sleep(300);
    lt.berth.pause(id);
    lt.berth.unpause(id);
    await until('the pause and unpause events', () => seen.filter((e) => e.actorId === id).length >= 2);
    assert.deepEqual(seen.filter((e) => e.actorId === id).map((e) => e.action), ['pause', 'unpause']);
    ac.abort();
    assert.equal(await Promise.race([evDone.then(() => 'ended'), sleep(10000).then(() => 'still running')]), 'ended');
    // logs -f of a silent container: ends on abort, after what was there
    const lc = new AbortController();
    const lines: string[] = [];
    const logsDone = (async () => {
      for await (const e of lt.berth.logs(id, { follow: true, signal: lc.signal }) as AsyncIterable<LogEntry>) lines.push(e.line);
    })();
    await until('the first line', () => lines.length === 1);
    lc.abort();
    assert.equal(await Promise.race([logsDone.then(() => 'ended'), sleep(10000).then(() => 'still running')]), 'ended');
    assert.deepEqual(lines, ['first\n']);
    // exec: aborting kills the process
    const xc = new AbortController();
    const t0 = Date.now();
    const xpid = `/tmp/xpid-${uniq('x')}`;
    const ex = lt.berth.exec(id, { cmd: ['sh', '-c', `echo $$ > ${xpid}; exec sleep 300`], signal: xc.signal });
    await until('the exec to start', async () => (await lt.berth.exec(id, { cmd: ['cat', xpid] })).exitCode === 0);
    xc.abort();
    const r = await ex;
    assert.equal(r.exitCode, 137);
    assert.ok(Date.now() - t0 < 60000);
    assert.equal((await lt.berth.exec(id, { cmd: ['sh', '-c', `kill -0 $(cat ${xpid})`] })).exitCode, 1, 'the aborted exec\'s process is gone');
    // wait: an already aborted signal rejects at once
    await assert.rejects(lt.berth.wait(id, { signal: AbortSignal.abort() }), /abort/i);
    // run with an aborted signal: nothing created
    const before = lt.berth.list({ all: true }).length;
    await assert.rejects(lt.berth.run({ rootfs, network: 'none', cmd: ['true'], signal: AbortSignal.abort() }), /abort/i);
    assert.equal(lt.berth.list({ all: true }).length, before);
    await lt.berth.remove(id, { force: true });
  });

  test('attach through the engine: output of a running container, then its exit status', async () => {
    const go = `/tmp/go-${uniq('attach')}`; // the rootfs directory is shared by this file's containers
    const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; echo late; echo err >&2; exit 6`], detach: true });
    made.add(id);
    const a = await lt.berth.engine.attach(id);
    let out = '';
    let err = '';
    a.on('stdout', (d: Buffer) => (out += d));
    a.on('stderr', (d: Buffer) => (err += d));
    const exit = new Promise<number>((res) => a.once('exit', res));
    await lt.berth.exec(id, { cmd: ['touch', go] });
    assert.equal(await exit, 6);
    a.close();
    assert.equal(out, 'late\n');
    assert.equal(err, 'err\n');
    await assert.rejects(lt.berth.engine.attach(id), (e) => isEngineError(e, 'conflict') && /stopped container/.test(e.message));
    await lt.berth.remove(id);
  });

  test('the Berth class offers attach with Node streams and an AbortSignal (more in engine-attach-lib.test.ts)', async () => {
    const go = `/tmp/go-${uniq('battach')}`;
    const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', `while [ ! -e ${go} ]; do echo tick; sleep 0.1; done; echo late; exit 7`], detach: true });
    made.add(id);
    // the signal detaches; the container keeps running
    const ac = new AbortController();
    const first = collector();
    const p1 = lt.berth.attach(id, { stdout: first, signal: ac.signal });
    await until('output through the first attach', () => first.text().includes('tick\n'));
    ac.abort();
    assert.equal((await p1).detached, true);
    assert.equal(state(id).Status, 'running');
    // attached again until it exits: its status and the rest of its output
    const out = collector();
    const p2 = lt.berth.attach(id, { stdout: out });
    await until('output through the second attach', () => out.text().includes('tick\n'));
    await lt.berth.exec(id, { cmd: ['touch', go] });
    assert.deepEqual(await p2, { detached: false, exitCode: 7, stderr: '' });
    assert.match(out.text(), /late\n$/);
    await lt.berth.remove(id);
  });

  test('bad input: the error kind and message, and nothing created', async () => {
    const busy = uniq('busy');
    const { id } = await lt.berth.create({ rootfs, name: busy, network: 'none', cmd: ['true'] });
    made.add(id);
    const vol = uniq('fresh');
    const before = () => ({ c: lt.berth.list({ all: true }).length, v: lt.berth.listVolumes().length });
    const b = before();
    const cases: [Parameters<Berth['run']>[0], string, RegExp][] = [
      [{ rootfs, cmd: ['true'], volumes: [`${vol}:/v`], memory: '12x' }, 'invalid', /invalid suffix: 'x'/],
      [{ image: `nosuchimage-${process.pid}`, pull: 'never', cmd: ['true'], volumes: [`${vol}:/v`] }, 'notfound', /No such image/],
      [{ rootfs, name: busy, cmd: ['true'], volumes: [`${vol}:/v`] }, 'conflict', /already in use/],
      [{ rootfs, cmd: ['true'], volumes: [`${vol}:/x`, `${vol}-2:/x`] }, 'invalid', /Duplicate mount point/],
      [{ rootfs, cmd: ['true'], volumes: [`${vol}:/v`], restart: 'sometimes' }, 'invalid', /restart/],
      [{ rootfs, cmd: ['true'], volumes: [`${vol}:/v`], network: `nosuchnet-${process.pid}` }, 'notfound', /not found/],
      [{ rootfs: join(dir, 'nope'), cmd: ['true'], volumes: [`${vol}:/v`] }, 'notfound', /nope: no such directory/],
    ];
    for (const [o, kind, msg] of cases) {
      await assert.rejects(lt.berth.run({ ...o, autoRemove: true }), (e) => {
        assert.ok(isEngineError(e), `${JSON.stringify(o)}: not an EngineError: ${e}`);
        assert.equal(e.kind, kind, `${JSON.stringify(o)}: ${e.message}`);
        assert.match(e.message, msg);
        return true;
      });
      assert.deepEqual(before(), b, `${JSON.stringify(o)} created something`);
    }
    await lt.berth.remove(id);
  });
});
