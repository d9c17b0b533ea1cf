// `logs -f` is woken by inotify events (src/engine/logs-wake.ts), not by its poll: with the safety
// poll set to 60 s, a follower still gets each appended line, the lines of a rotated log
// (rename + new file), and ends when the monitor's attach.sock goes; and its inotify watches are
// all removed when it ends (by the container's stop, by abort, by the consumer leaving).
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readLogs, type LogEntry } from '../../src/engine/logs.js';
import { inotifyWatches } from '../helpers/proc-info.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-unit-logwake-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const HUGE_POLL = 60_000; // the test's own timeout is far below: only events can wake the follower
const json = (text: string) => `${JSON.stringify({ log: `${text}\n`, stream: 'stdout', time: new Date().toISOString() })}\n`;

/** The inotify watches this process holds now (fdinfo of its inotify descriptors). */

/** Resolves with the next entry the iterator gives, failing after 20 s (the poll is 60 s). */
async function next(it: AsyncIterator<LogEntry>, what: string): Promise<LogEntry> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no event woke the follower for ${what}`)), 20_000)));
  try {
    const r = await Promise.race([it.next(), timeout]);
    assert.ok(!r.done, `the follow ended before ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lets the follower reach its wait before the file changes: otherwise its next read could find
 * the change without any event (the test would pass without proving anything). Never needed to pass.
 */
const parked = () => new Promise((res) => setTimeout(res, 100));

function setup(name: string): { log: string; state: string } {
  const dir = join(tmp, name);
  const state = join(tmp, `${name}-state`);
  mkdirSync(dir);
  mkdirSync(state);
  writeFileSync(join(state, 'attach.sock'), ''); // stands in for the monitor's socket
  const log = join(dir, 'c-json.log');
  writeFileSync(log, json('first'));
  return { log, state };
}

test('logs -f: appended lines, a rotation and the monitor leaving wake the follower, not its poll', async () => {
  const before = inotifyWatches();
  const { log, state } = setup('events');
  let writing = true;
  const it = readLogs(log, { format: 'json-file', maxFiles: 3, follow: true, pollMs: HUGE_POLL, stateDir: state, stillWriting: () => writing })[Symbol.asyncIterator]();
  assert.equal((await next(it, 'the existing line')).line, 'first\n');
  assert.equal(inotifyWatches(), before + 2, 'the log directory and the state directory are watched');
  for (let i = 0; i < 3; i++) {
    const p = next(it, `appended line ${i}`);
    await parked();
    appendFileSync(log, json(`line ${i}`));
    assert.equal((await p).line, `line ${i}\n`);
  }
  // rotation as the monitor does it: <log> -> <log>.1, then a new <log>
  const p = next(it, 'the line after a rotation');
  await parked();
  appendFileSync(log, json('last of the old file'));
  renameSync(log, `${log}.1`);
  writeFileSync(log, json('first of the new file'));
  assert.equal((await p).line, 'last of the old file\n');
  assert.equal((await next(it, 'the new file')).line, 'first of the new file\n');
  // the container stops: its monitor removes attach.sock and exits
  writing = false;
  const end = Promise.race([it.next(), new Promise<'stuck'>((res) => setTimeout(() => res('stuck'), 20_000).unref())]);
  await parked();
  unlinkSync(join(state, 'attach.sock'));
  const r = await end;
  assert.notEqual(r, 'stuck', 'the follow did not end when the monitor left');
  assert.equal((r as IteratorResult<LogEntry>).done, true);
  assert.equal(inotifyWatches(), before, 'its watches are removed when the follow ends');
});

test('logs -f: abort and an abandoned iteration remove the watches too', async () => {
  const before = inotifyWatches();
  const a = setup('abort');
  const ac = new AbortController();
  const it = readLogs(a.log, { format: 'json-file', maxFiles: 1, follow: true, pollMs: HUGE_POLL, stateDir: a.state, stillWriting: () => true, signal: ac.signal })[Symbol.asyncIterator]();
  await next(it, 'the existing line');
  const waiting = it.next();
  ac.abort();
  assert.equal((await waiting).done, true, 'the abort ends the follow at once');
  assert.equal(inotifyWatches(), before);

  // a consumer that stops reading (break in for-await: return()) while the follower is at a line
  const b = setup('leave');
  for await (const e of readLogs(b.log, { format: 'json-file', maxFiles: 1, follow: true, pollMs: HUGE_POLL, stateDir: b.state, stillWriting: () => true })) {
    assert.equal(e.line, 'first\n');
    break;
  }
  assert.equal(inotifyWatches(), before);
});

test('logs -f: where the state directory is gone, the log directory alone still wakes it', async () => {
  const { log, state } = setup('nostate');
  rmSync(state, { recursive: true });
  let writing = true;
  const it = readLogs(log, { format: 'json-file', maxFiles: 1, follow: true, pollMs: HUGE_POLL, stateDir: state, stillWriting: () => writing })[Symbol.asyncIterator]();
  await next(it, 'the existing line');
  const p = next(it, 'an appended line');
  await parked();
  appendFileSync(log, json('more'));
  assert.equal((await p).line, 'more\n');
  writing = false;
  const end = it.next();
  await parked();
  appendFileSync(log, json('after the stop')); // any event: the follower looks, reads it, and ends
  assert.equal((await end).value?.line, 'after the stop\n');
  assert.equal((await it.next()).done, true);
});
