// `logs -f` of a real container is woken by inotify, not its poll (src/engine/logs-wake.ts):
// the library's follow stream with its safety poll set to 60 s still gets each line the
// container prints and ends when the container is killed; `berth logs -f` follows with inotify
// watches on the log and state directories and ends at the container's stop. Root.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import type { LogEntry } from '../../src/index.js';
import { BERTH, ok } from '../helpers/berth-cli.js';
import { testBerthWithLibrary } from '../helpers/berth-cli.js';
import { byEvent } from '../helpers/by-event.js';
import { until } from '../helpers/library.js';
import { inotifyWatches } from '../helpers/proc-info.js';

const lt = testBerthWithLibrary('logwake');


describe('logs -f woken by events', () => {
  test('library: lines reach a follower whose poll is 60 s, and the kill ends it', async () => {
    // a line whenever the file /go<i> appears: the test decides when each is written
    const script = 'i=0; while true; do if [ -e /tmp/go$i ]; then echo "line $i"; i=$((i+1)); fi; usleep 20000; done';
    const { id } = await lt.lib.run({ rootfs: lt.rootfs, network: 'none', cmd: ['sh', '-c', script], detach: true });
    const before = inotifyWatches('self');
    for (const pollMs of [0, -1, Number.NaN, 2 ** 31]) {
      await assert.rejects(async () => {
        for await (const _ of lt.lib.logs(id, { follow: true, pollMs })) break;
      }, /invalid pollMs/, `pollMs ${pollMs} is refused`);
    }
    assert.equal(inotifyWatches('self'), before, 'a refused follow leaves no watch');
    const it = (lt.lib.logs(id, { follow: true, pollMs: 60_000 }) as AsyncIterable<LogEntry>)[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      await lt.lib.exec(id, { cmd: ['touch', `/tmp/go${i}`] });
      const r = await byEvent(it.next(), `line ${i}`);
      assert.equal(r.value?.line, `line ${i}\n`);
    }
    await until('the follower to watch', () => inotifyWatches('self') === before + 2);
    const end = it.next();
    await lt.lib.kill(id);
    assert.equal((await byEvent(end, 'the end of the container')).done, true, 'the follow ends with the container');
    assert.equal(inotifyWatches('self'), before, 'its watches are removed');
    await lt.lib.remove(id);
  });

  test('CLI: logs -f follows with inotify watches and ends when the container stops', async () => {
    const name = lt.t.uniq('cli');
    ok(lt.t.run(['run', '-d', '--name', name, '--network', 'none', '--rootfs', lt.rootfs, 'sh', '-c', 'echo one; while [ ! -e /tmp/stop ]; do usleep 20000; done; echo two']));
    const cli = spawn(BERTH, ['-D', '--root', lt.t.root, '--state-root', lt.t.stateRoot, 'logs', '-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const done = new Promise<number | null>((res) => cli.on('close', (c) => res(c)));
    await until('the first line', () => out === 'one\n');
    // the follower: bin/berth's own node, or the prestarted node it handed the command to
    const follower = () => Number(/handed over to a prestarted node \(pid (\d+)\)/.exec(err)?.[1] ?? cli.pid);
    await until('the CLI to watch the log and state directories', () => inotifyWatches(follower()) === 2);
    ok(lt.t.run(['exec', name, 'touch', '/tmp/stop']));
    assert.equal(await done, 0, err);
    assert.equal(out, 'one\ntwo\n');
    assert.doesNotMatch(err.replace(/^berth: debug: .*\n/gm, ''), /./);
    ok(lt.t.run(['rm', name]));
  });
});
