// A `logs -f` follower of a container whose monitor is killed with -9 (nothing removed, no exit
// written) ends at once: it holds the read end of the monitor's "alive" fifo, whose hang-up is
// the monitor's end (src/engine/logs-wake.ts, native/berth-monitor.c alive_open), not the
// safety poll (set to 60 s here, so only that event can end it in time). Root.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LogEntry } from '../../src/index.js';
import { testBerthWithLibrary } from '../helpers/berth-cli.js';
import { byEvent } from '../helpers/by-event.js';
import { until } from '../helpers/library.js';

const lt = testBerthWithLibrary('logkill');


/** This process's descriptors open on a path under dir. */
function fdsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const l = readlinkSync(`/proc/self/fd/${fd}`);
      if (l.startsWith(dir)) out.push(l);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

test('library: a follower (60 s poll) ends when the monitor is killed with -9, and lets go of the fifo (3 in a row)', async () => {
  for (let i = 0; i < 3; i++) {
    const { id } = await lt.lib.run({ rootfs: lt.rootfs, network: 'none', cmd: ['sh', '-c', 'echo one; while :; do usleep 50000; done'], detach: true });
    const stateDir = join(lt.t.stateRoot, 'containers', id);
    const it = (lt.lib.logs(id, { follow: true, pollMs: 60_000 }) as AsyncIterable<LogEntry>)[Symbol.asyncIterator]();
    const first = await byEvent(it.next(), 'the first line');
    assert.equal(first.value?.line, 'one\n');
    assert.deepEqual(fdsUnder(stateDir), [join(stateDir, 'alive')], 'the follower holds the fifo');
    const end = it.next();
    const monitor = Number(readFileSync(join(stateDir, 'pid'), 'utf8').trim().split(' ')[2]);
    process.kill(monitor, 'SIGKILL');
    assert.equal((await byEvent(end, 'the monitor killed with -9')).done, true, 'the follow ends with the monitor');
    await until('the follower to let go of the fifo', () => fdsUnder(stateDir).length === 0, 5000);
    await lt.lib.remove(id, { force: true }); // its init, left running by the killed monitor, too
  }
});

test('library: a follower of a container that stops normally still ends (the monitor closes the fifo as it goes)', async () => {
  const { id } = await lt.lib.run({ rootfs: lt.rootfs, network: 'none', cmd: ['sh', '-c', 'echo one; sleep 0.5; echo two'], detach: true });
  const lines: string[] = [];
  const done = (async () => {
    for await (const e of lt.lib.logs(id, { follow: true, pollMs: 60_000 }) as AsyncIterable<LogEntry>) lines.push(e.line);
  })();
  await byEvent(done, 'the container\'s end');
  assert.deepEqual(lines, ['one\n', 'two\n']);
  await lt.lib.remove(id);
});
