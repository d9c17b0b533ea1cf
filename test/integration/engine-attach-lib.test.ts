// The library's attach, start with attach, live stats and exec output (issue 6), with real
// containers (root): Node streams both ways, detach keys, AbortSignal ending attach and stats
// streams, and 20 execs in a row that must each return all their output.
import { strict as assert } from 'node:assert';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { Berth, isEngineError, type ContainerStats } from '../../src/index.js';
import { collector, libraryTestBerth, until } from '../helpers/library.js';

const lt = libraryTestBerth('attach-lib', 'al');
const { rootfs, made, uniq } = lt;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



const status = (id: string) => (lt.berth.inspect(id) as { State: { Status: string } }).State.Status;

/** A detached container that prints "up" and then waits for a file in the shared rootfs's /tmp. */
async function waiting(extra: Parameters<Berth['run']>[0] = {}, tail = 'exit 6'): Promise<{ id: string; go: string }> {
  const go = `/tmp/go-${uniq('go')}`;
  const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', `echo up; while [ ! -e ${go} ]; do sleep 0.05; done; ${tail}`], detach: true, ...extra });
  made.add(id);
  return { id, go };
}

describe('library: attach, start -a, live stats, exec output', () => {
  test('attach: stdout and stderr into Node streams, then the exit status', async () => {
    const go = `/tmp/go-${uniq('go')}`;
    const { id } = await lt.berth.run({ rootfs, network: 'none', cmd: ['sh', '-c', `while [ ! -e ${go} ]; do echo tick; sleep 0.1; done; echo late; echo err >&2; exit 6`], detach: true });
    made.add(id);
    const out = collector();
    const err = collector();
    const p = lt.berth.attach(id, { stdout: out, stderr: err });
    await until('output through the attach', () => out.text().includes('tick\n'));
    await lt.berth.exec(id, { cmd: ['touch', go] });
    const r = await p;
    assert.deepEqual(r, { detached: false, exitCode: 6 });
    assert.match(out.text(), /^(tick\n)+late\n$/);
    assert.equal(err.text(), 'err\n');
    // once its exit is recorded (wait), attaching to it is a conflict
    assert.equal(await lt.berth.wait(id), 6);
    await assert.rejects(lt.berth.attach(id), (e) => isEngineError(e, 'conflict') && /stopped container/.test(e.message));
    await lt.berth.remove(id);
  });

  test('attach with stdin: chunks fed to an interactive container, its end closes stdin (stdinOnce)', async () => {
    const { id } = await lt.berth.run({ rootfs, network: 'none', interactive: true, stdinOnce: true, cmd: ['sh', '-c', 'cat; echo done >&2; exit 3'], detach: true });
    made.add(id);
    const r = await lt.berth.attach(id, { stdin: Readable.from([Buffer.from('hello\n'), Buffer.from('world\n')]) });
    assert.deepEqual(r, { detached: false, exitCode: 3, stdout: 'hello\nworld\n', stderr: 'done\n' });
    await lt.berth.remove(id);
  });

  test('detach keys in stdin detach; the container keeps running and can be attached again', async () => {
    const { id } = await lt.berth.run({ rootfs, network: 'none', interactive: true, cmd: ['sh', '-c', 'while read l; do echo "got $l"; [ "$l" = three ] && exit 5; done; exit 1'], detach: true });
    made.add(id);
    const stdin = new PassThrough();
    const out = collector();
    const p = lt.berth.attach(id, { stdin, stdout: out, detachKeys: 'ctrl-x,q' });
    stdin.write('one\n');
    await until('the first line echoed', () => out.text().includes('got one\n'));
    // the sequence split over two writes, a lone ctrl-x before it is input
    stdin.write(Buffer.from([0x18, 0x61, 0x0a]));
    await until('the lone key forwarded', () => out.text().includes('got \x18a\n'));
    stdin.write(Buffer.from('two\n\x18'));
    stdin.write('q');
    const r = await p;
    assert.equal(r.detached, true);
    assert.equal(r.exitCode, undefined);
    assert.equal(status(id), 'running');
    // attach again: the line that ends its loop, then its status
    const r2 = await lt.berth.attach(id, { stdin: 'three\n' });
    // ("got two" may come before or after the first detach)
    assert.deepEqual({ ...r2, stdout: r2.stdout!.replace(/^got two\n/, '') }, { detached: false, exitCode: 5, stdout: 'got three\n', stderr: '' });
    await lt.berth.remove(id);
  });

  test('an AbortSignal ends attach (detached) and leaves the container running', async () => {
    const { id, go } = await waiting();
    const ac = new AbortController();
    const out = collector();
    const t0 = Date.now();
    const p = lt.berth.attach(id, { stdout: out, signal: ac.signal });
    await sleep(300);
    ac.abort();
    const r = await p;
    assert.deepEqual(r, { detached: true, stderr: '' });
    assert.ok(Date.now() - t0 < 20000);
    assert.equal(status(id), 'running');
    await assert.rejects(lt.berth.attach(id, { signal: AbortSignal.abort() }), /abort/i);
    await lt.berth.exec(id, { cmd: ['touch', go] });
    assert.equal(await lt.berth.wait(id), 6);
    await lt.berth.remove(id);
  });

  test('start with attach (docker start -a): output from the start and the exit status; abort detaches', async () => {
    const { id } = await lt.berth.create({ rootfs, network: 'none', cmd: ['sh', '-c', 'echo hi; echo oops >&2; exit 4'] });
    made.add(id);
    const out = collector();
    const r = await lt.berth.start(id, { attach: true, stdout: out });
    assert.deepEqual(r, { detached: false, exitCode: 4, stderr: 'oops\n' });
    assert.equal(out.text(), 'hi\n');
    assert.equal(status(id), 'exited');
    await lt.berth.remove(id);
    // autoRemove: gone when start resolves
    const rm = await lt.berth.create({ rootfs, network: 'none', autoRemove: true, cmd: ['sh', '-c', 'echo bye'] });
    made.add(rm.id);
    assert.deepEqual(await lt.berth.start(rm.id, { attach: true }), { detached: false, exitCode: 0, stdout: 'bye\n', stderr: '' });
    assert.ok(!lt.berth.list({ all: true }).some((c) => rm.id.startsWith(String(c.ID))), 'the autoRemove container is gone');
    // stdin through start, and an abort that detaches
    const go = `/tmp/go-${uniq('go')}`;
    const i = await lt.berth.create({ rootfs, network: 'none', interactive: true, cmd: ['sh', '-c', `read l; echo "in $l"; while [ ! -e ${go} ]; do sleep 0.05; done`] });
    made.add(i.id);
    const ac = new AbortController();
    const o2 = collector();
    const p = lt.berth.start(i.id, { attach: true, stdin: 'x\n', stdout: o2, signal: ac.signal });
    await until('the echo', () => o2.text() === 'in x\n');
    ac.abort();
    assert.equal((await p).detached, true);
    assert.equal(status(i.id), 'running');
    await lt.berth.remove(i.id, { force: true });
  });

  test('stats stream: samples until aborted, and until the container stops', async () => {
    const { id, go } = await waiting();
    const ac = new AbortController();
    const got: ContainerStats[] = [];
    for await (const s of lt.berth.stats(id, { stream: true, signal: ac.signal, intervalMs: 100 })) {
      got.push(s);
      if (got.length === 3) ac.abort();
    }
    assert.equal(got.length, 3, 'the stream ended after the abort');
    for (const s of got) {
      assert.equal(s.id, id);
      assert.ok(s.pids >= 1, `pids ${s.pids}`);
      assert.ok(s.memUsage > 0 && s.memLimit >= s.memUsage, JSON.stringify(s));
    }
    // without a signal it ends on its own when the container stops
    const stream = lt.berth.stats(id, { stream: true, intervalMs: 100 });
    const seen: ContainerStats[] = [];
    stream.on('data', (s: ContainerStats) => {
      seen.push(s);
      if (seen.length === 1) void lt.berth.exec(id, { cmd: ['touch', go] });
    });
    await new Promise<void>((res, rej) => {
      stream.once('end', res);
      stream.once('error', rej);
    });
    assert.ok(seen.length >= 1);
    assert.equal(await lt.berth.wait(id), 6);
    // one sample without stream; bad input named
    const one = await lt.berth.stats(id);
    assert.equal(one.id, id);
    assert.equal(one.pids, 0);
    assert.throws(() => lt.berth.stats(id, { stream: true, intervalMs: 0 }), (e) => isEngineError(e, 'invalid') && /intervalMs/.test(e.message));
    assert.throws(() => lt.berth.stats(`nosuch-${process.pid}`, { stream: true }), (e) => isEngineError(e, 'notfound'));
    await lt.berth.remove(id);
  });

  test('bad attach input: detach keys and stdin on a container without interactive', async () => {
    const { id, go } = await waiting();
    await assert.rejects(lt.berth.attach(id, { detachKeys: 'ctrl-1' }), (e) => isEngineError(e, 'invalid') && /detachKeys/.test(e.message));
    await assert.rejects(lt.berth.attach(id, { stdin: 'x' }), (e) => isEngineError(e, 'invalid') && /interactive/.test(e.message));
    await assert.rejects(lt.berth.start(id, { attach: true, detachKeys: 'nope,x' }), (e) => isEngineError(e, 'invalid'));
    assert.equal(status(id), 'running');
    await lt.berth.exec(id, { cmd: ['touch', go] });
    assert.equal(await lt.berth.wait(id), 6);
    await lt.berth.remove(id);
  });

  test('20 execs in a row each return the full output of seq 1 2000', async () => {
    const { id, go } = await waiting();
    const want = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('');
    for (let i = 0; i < 20; i++) {
      const r = await lt.berth.exec(id, { cmd: ['sh', '-c', 'seq 1 2000'] });
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout!.length, want.length, `exec ${i}: ${r.stdout!.length} of ${want.length} bytes`);
      assert.equal(r.stdout, want, `exec ${i}`);
      assert.equal(r.stderr, '');
    }
    await lt.berth.exec(id, { cmd: ['touch', go] });
    assert.equal(await lt.berth.wait(id), 6);
    await lt.berth.remove(id);
  });
});
