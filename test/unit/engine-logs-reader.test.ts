// The log reader against json-file/CRI logs written here the way the monitor writes them
// (native/berth-monitor.c): rotated sets read whole and tailed across files, --tail of a 300 MB
// log reading kilobytes in bounded memory, and follow across rotations (close, rename chain,
// new file) with every line seen exactly once.
import { strict as assert } from 'node:assert';
import { closeSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readLogs, type LogEntry } from '../../src/engine/logs.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-unit-logs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const time = (i: number) => new Date(T0 + i * 1000).toISOString().replace(/\.(\d+)Z$/, '.$1000000Z');
const json = (i: number, text = `line ${i}`) => `${JSON.stringify({ log: `${text}\n`, stream: i % 7 === 0 ? 'stderr' : 'stdout', time: time(i) })}\n`;

async function collect(path: string, o: Partial<Parameters<typeof readLogs>[1]> = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, { format: 'json-file', maxFiles: 3, ...o })) out.push(e);
  return out;
}
const texts = (es: LogEntry[]) => es.map((e) => e.line.trimEnd());
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => `line ${a + k}`);

test('logs: a rotated set read whole, tailed across files, with since and until', async () => {
  const log = join(tmp, 'set.log');
  const chunk = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => json(a + k)).join('');
  writeFileSync(`${log}.2`, chunk(0, 100));
  writeFileSync(`${log}.1`, chunk(100, 150));
  writeFileSync(log, chunk(150, 160) + '{"log":"partial, still being writ'); // a record in progress
  assert.deepEqual(texts(await collect(log)), range(0, 160));
  assert.deepEqual(texts(await collect(log, { tail: 5 })), range(155, 160));
  assert.deepEqual(texts(await collect(log, { tail: 70 })), range(90, 160), 'the tail spans three files');
  assert.deepEqual(texts(await collect(log, { tail: 1000 })), range(0, 160));
  assert.deepEqual(await collect(log, { tail: 0 }), []);
  const since = BigInt(T0 + 120 * 1000) * 1_000_000n;
  const until = BigInt(T0 + 130 * 1000) * 1_000_000n;
  assert.deepEqual(texts(await collect(log, { since, until })), range(120, 131));
  assert.deepEqual(texts(await collect(log, { since, until, tail: 3 })), range(128, 131), 'tail counts the lines that pass the filter');
  assert.equal((await collect(log))[7]!.stream, 'stderr');
  // maxFiles 1 sees only the live file
  assert.deepEqual(texts(await collect(log, { maxFiles: 1 })), range(150, 160));
});

test('logs: CRI format, tail of long and partial records', async () => {
  const log = join(tmp, 'cri.log');
  const long = 'x'.repeat(200_000); // longer than a 64 KiB block both ways
  writeFileSync(log, `${time(1)} stdout F one\n${time(2)} stderr P ${long}\n${time(3)} stderr F end\n${time(4)} stdout F ${long}\n`);
  const all = await collect(log, { format: 'cri', maxFiles: 1 });
  assert.deepEqual(all.map((e) => [e.stream, e.line.length]), [['stdout', 4], ['stderr', 200_000], ['stderr', 4], ['stdout', 200_001]]);
  const t = await collect(log, { format: 'cri', maxFiles: 1, tail: 3 });
  // the last three records whole: the partial stderr one, its end, and the long stdout line
  assert.deepEqual(t.map((e) => [e.stream, e.line]), [['stderr', long], ['stderr', 'end\n'], ['stdout', `${long}\n`]]);
});

test('logs: a damaged file (a "line" of 20 MB) is skipped there, not held in memory', async () => {
  const log = join(tmp, 'damaged.log');
  writeFileSync(log, json(1) + 'x'.repeat(20 << 20) + '\n' + json(2) + json(3));
  assert.deepEqual(texts(await collect(log, { maxFiles: 1 })), ['line 1', 'line 2', 'line 3']);
  assert.deepEqual(texts(await collect(log, { maxFiles: 1, tail: 2 })), ['line 2', 'line 3']);
  assert.deepEqual(texts(await collect(log, { maxFiles: 1, tail: 5 })), ['line 1', 'line 2', 'line 3']);
});

/** Bytes this process has read through read(2) so far (/proc/self/io rchar). */
const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

test('logs: --tail 10 of a 300 MB log reads kilobytes and keeps memory bounded', async () => {
  const log = join(tmp, 'big.log');
  const fd = openSync(log, 'w');
  const lines = 1_000_000;
  const pad = 'p'.repeat(250);
  let batch = '';
  for (let i = 0; i < lines; i++) {
    batch += json(i, `line ${i} ${pad}`);
    if (batch.length > 4 << 20) {
      writeSync(fd, batch);
      batch = '';
    }
  }
  writeSync(fd, batch);
  closeSync(fd);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const read0 = rchar();
  const t = await collect(log, { maxFiles: 1, tail: 10 });
  const read = rchar() - read0;
  const grew = process.memoryUsage().rss - rss0;
  assert.deepEqual(t.map((e) => e.line.split(' ').slice(0, 2).join(' ')), range(lines - 10, lines));
  assert.ok(read < 1 << 20, `read ${read} bytes for a tail of 10`);
  assert.ok(grew < 50 << 20, `RSS grew by ${grew} bytes`);
  // the whole log, streamed: memory stays bounded too
  let n = 0;
  for await (const e of readLogs(log, { format: 'json-file', maxFiles: 1 })) {
    if (n === 0) assert.match(e.line, /^line 0 /);
    n++;
  }
  assert.equal(n, lines);
  const grewAll = process.memoryUsage().rss - rss0;
  assert.ok(grewAll < 100 << 20, `RSS grew by ${grewAll} bytes reading 300 MB`);
  unlinkSync(log);
});

test('logs: follow across rotations sees every line exactly once', async () => {
  const log = join(tmp, 'follow.log');
  const maxFiles = 3;
  let fd = openSync(log, 'a');
  let size = 0;
  // what the monitor does at max-size: close, shift the names, a new file
  const rotate = () => {
    closeSync(fd);
    if (existsSync(`${log}.${maxFiles - 1}`)) unlinkSync(`${log}.${maxFiles - 1}`);
    for (let i = maxFiles - 2; i >= 1; i--) if (existsSync(`${log}.${i}`)) renameSync(`${log}.${i}`, `${log}.${i + 1}`);
    renameSync(log, `${log}.1`);
    fd = openSync(log, 'a');
    size = 0;
  };
  const total = 3000;
  for (let i = 0; i < 10; i++) writeSync(fd, json(i));
  let writing = true;
  const seen: string[] = [];
  let lastRotation = 0; // lines written when the last rotation ran
  const writer = (async () => {
    for (let i = 10; i < total; i++) {
      const r = json(i);
      writeSync(fd, r);
      size += r.length;
      if (size >= 4000) {
        // about every 50 lines: 60 rotations. A reader more than max-file files behind loses the
        // oldest (docker's too); what is tested is the hand-over at each rotation, so the
        // writer lets the reader finish the previous file first (no timing assumed)
        for (const end = Date.now() + 30000; seen.length < lastRotation && Date.now() < end; ) await new Promise((res) => setTimeout(res, 1));
        rotate();
        lastRotation = i + 1;
      }
      if (i % 25 === 0) await new Promise((res) => setTimeout(res, 2));
    }
    closeSync(fd);
    writing = false;
  })();
  for await (const e of readLogs(log, { format: 'json-file', maxFiles, follow: true, pollMs: 1, stillWriting: () => writing })) seen.push(e.line.trimEnd());
  await writer;
  assert.equal(seen.length, total, 'no line lost or repeated');
  assert.deepEqual(seen, range(0, total));
});
