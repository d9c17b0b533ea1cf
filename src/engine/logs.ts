// Reading container logs the monitor wrote: docker's json-file format or the CRI format, with
// rotated files (<log>.N ... <log>.1, then <log>), tail, since/until and follow. Streamed: files
// are read in chunks and --tail reads backwards from the end (logs-tail.ts), so memory stays small
// whatever the log's size; following goes from file to file by inode (logs-files.ts).
import type { FileHandle } from 'node:fs/promises';
import { openAll, openNext, type OpenLog } from './logs-files.js';
import { LogWaker } from './logs-wake.js';
import { dirname } from 'node:path';
import { MAX_LINE, tailStart } from './logs-tail.js';
import { parseRfc3339 } from './time.js';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** The text, including its trailing "\n" unless the line was partial. */
  line: string;
  /** RFC 3339 time as written. */
  time: string;
  timeNano: bigint;
}

export interface LogReadOptions {
  format: 'json-file' | 'cri' | 'none';
  maxFiles: number;
  since?: bigint;
  until?: bigint;
  /** Last N entries ("all" = undefined). */
  tail?: number;
  follow?: boolean;
  /** While following: is the container (or its monitor) still there to write more? */
  stillWriting?: () => boolean;
  signal?: AbortSignal;
  /** While following, the container's state directory: its monitor's going ends the wait at once. */
  stateDir?: string;
  /** The safety poll while following (events wake it sooner: logs-wake.ts); default 1 s, 100 ms unwatched. */
  pollMs?: number;
}

// The monitor writes "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" and many lines share their second: its
// value is parsed once per second of log, not once per line (a big log has millions of lines).
let lastSecond = '';
let lastBase = 0n;
function logTime(s: string): bigint {
  if (s.length === 30 && s.charCodeAt(19) === 46 && s.charCodeAt(29) === 90) {
    const frac = s.slice(20, 29);
    if (/^\d{9}$/.test(frac)) {
      const sec = s.slice(0, 19);
      if (sec !== lastSecond) {
        const base = parseRfc3339(`${sec}Z`);
        if (base === null) return 0n;
        lastSecond = sec;
        lastBase = base;
      }
      return lastBase + BigInt(frac);
    }
  }
  return parseRfc3339(s) ?? 0n;
}

export function parseLogLine(text: string, format: 'json-file' | 'cri'): LogEntry | null {
  if (format === 'cri') {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(text);
    if (!m) return null;
    return { stream: m[2] as LogEntry['stream'], line: m[3] === 'F' ? `${m[4]}\n` : m[4]!, time: m[1]!, timeNano: logTime(m[1]!) };
  }
  try {
    const o = JSON.parse(text) as { log?: string; stream?: string; time?: string };
    if (typeof o.log !== 'string') return null;
    return { stream: o.stream === 'stderr' ? 'stderr' : 'stdout', line: o.log, time: o.time ?? '', timeNano: logTime(o.time ?? '') };
  } catch {
    return null;
  }
}

// Waits ms or until aborted; the abort listener is removed when the timer fires, so a long
// follow loop does not pile up listeners (MaxListenersExceededWarning).
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    if (signal?.aborted) return res();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function* readLogs(path: string, o: LogReadOptions): AsyncGenerator<LogEntry> {
  if (o.format === 'none') return;
  const format = o.format;
  const keep = (e: LogEntry) => (o.since === undefined || e.timeNano >= o.since) && (o.until === undefined || e.timeNano <= o.until);
  const parse = (line: Buffer) => (line.length ? parseLogLine(line.toString('utf8'), format) : null);
  // watching before the first read: a write between that read and the watch is not missed
  const waker = o.follow ? new LogWaker(dirname(path), o.stateDir) : undefined;
  let files: OpenLog[] = [];
  try {
    files = await openAll(path, o.maxFiles);
    const sized = await Promise.all(files.map(async (f) => ({ fh: f.fh, size: (await f.fh.stat()).size })));
    let [i, pos] = o.tail !== undefined && files.length ? await tailStart(sized, o.tail, (l) => { const e = parse(l); return !!e && keep(e); }) : [0, 0];
    // what is there now: each file from its start (or the tail's) to its end, in chunks
    let cur: OpenLog | undefined;
    const reader = new LineReader();
    for (; i < files.length; i++, pos = 0) {
      cur = files[i]!;
      reader.reset(pos);
      for await (const line of reader.lines(cur.fh)) {
        const e = parse(line);
        if (e && keep(e)) yield e;
      }
    }
    if (!o.follow) return;
    // then what the monitor writes, across its rotations (by inode: nothing lost or repeated)
    for (;;) {
      if (o.signal?.aborted) return;
      waker!.arm();
      const alive = o.stillWriting ? o.stillWriting() : false;
      for (;;) {
        if (cur) {
          if ((await cur.fh.stat()).size < reader.pos) reader.reset(0); // max-file=1: truncated in place
          for await (const line of reader.lines(cur.fh)) {
            const e = parse(line);
            if (e && keep(e)) yield e;
          }
        }
        const next = await openNext(path, o.maxFiles, cur?.ino ?? -1);
        if (!next) break;
        // rotated: the monitor closed the file before renaming it, so what it has now is all of
        // it (more may have come since the read above)
        if (cur) {
          for await (const line of reader.lines(cur.fh)) {
            const e = parse(line);
            if (e && keep(e)) yield e;
          }
          // done with it: a follow across thousands of rotations keeps one file open, not all
          files.splice(files.indexOf(cur), 1);
          await cur.fh.close().catch(() => {});
        }
        files.push(next);
        cur = next;
        reader.reset(0);
      }
      if (o.until !== undefined && BigInt(Date.now()) * 1_000_000n > o.until) return;
      if (!alive) return;
      await waker!.wait(o.pollMs, o.signal);
    }
  } finally {
    waker?.close();
    await Promise.all(files.map((f) => f.fh.close().catch(() => {})));
  }
}

/** Complete lines of a file from a position on, read in 256 KiB chunks; a partial last line waits for its end. */
class LineReader {
  pos = 0;
  private partial: Buffer = Buffer.alloc(0);
  private readonly buf = Buffer.allocUnsafe(256 * 1024);

  private skipping = false;

  reset(pos: number): void {
    this.pos = pos;
    this.partial = Buffer.alloc(0);
    this.skipping = false;
  }

  async *lines(fh: FileHandle): AsyncGenerator<Buffer> {
    for (;;) {
      const { bytesRead } = await fh.read(this.buf, 0, this.buf.length, this.pos);
      if (bytesRead <= 0) return;
      this.pos += bytesRead;
      const chunk = this.partial.length ? Buffer.concat([this.partial, this.buf.subarray(0, bytesRead)]) : this.buf.subarray(0, bytesRead);
      let from = 0;
      let nl: number;
      while ((nl = chunk.indexOf(10, from)) >= 0) {
        if (!this.skipping) yield chunk.subarray(from, nl);
        this.skipping = false;
        from = nl + 1;
      }
      // copied: the read buffer is reused by the next read. A "line" longer than any record
      // the monitor writes is a damaged file: dropped up to its end, not kept in memory
      this.partial = Buffer.from(chunk.subarray(from));
      if (this.partial.length > MAX_LINE) {
        this.partial = Buffer.alloc(0);
        this.skipping = true;
      }
    }
  }
}

