// Reading container logs the monitor wrote: docker's json-file format or the CRI format, with
// rotated files (<log>.N ... <log>.1, then <log>), tail, since/until and follow.
import { closeSync, fstatSync, openSync, readSync, statSync, readFileSync, existsSync } from 'node:fs';
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
  pollMs?: number;
}

export function parseLogLine(text: string, format: 'json-file' | 'cri'): LogEntry | null {
  if (format === 'cri') {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(text);
    if (!m) return null;
    const t = parseRfc3339(m[1]!);
    return { stream: m[2] as LogEntry['stream'], line: m[3] === 'F' ? `${m[4]}\n` : m[4]!, time: m[1]!, timeNano: t ?? 0n };
  }
  try {
    const o = JSON.parse(text) as { log?: string; stream?: string; time?: string };
    if (typeof o.log !== 'string') return null;
    return { stream: o.stream === 'stderr' ? 'stderr' : 'stdout', line: o.log, time: o.time ?? '', timeNano: parseRfc3339(o.time ?? '') ?? 0n };
  } catch {
    return null;
  }
}

/** The log files in write order (oldest rotated first). */
export function logFiles(path: string, maxFiles: number): string[] {
  const files: string[] = [];
  for (let i = Math.max(1, maxFiles) - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  files.push(path);
  return files;
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
  // what is there now
  const entries: LogEntry[] = [];
  for (const f of logFiles(path, o.maxFiles).slice(0, -1)) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n')) {
      const e = l ? parseLogLine(l, format) : null;
      if (e && keep(e)) entries.push(e);
    }
  }
  let fd = -1;
  let ino = 0;
  let pos = 0;
  let partial = '';
  const open = () => {
    try {
      fd = openSync(path, 'r');
      ino = fstatSync(fd).ino;
      pos = 0;
    } catch {
      fd = -1;
    }
  };
  const drain = (into: LogEntry[]) => {
    if (fd < 0) return;
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      partial += buf.subarray(0, n).toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const l = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        const e = l ? parseLogLine(l, format) : null;
        if (e && keep(e)) into.push(e);
      }
    }
  };
  open();
  drain(entries);
  const start = o.tail !== undefined ? Math.max(0, entries.length - o.tail) : 0;
  for (let i = start; i < entries.length; i++) yield entries[i]!;
  if (!o.follow) {
    if (fd >= 0) closeSync(fd);
    return;
  }
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      const alive = o.stillWriting ? o.stillWriting() : false;
      const more: LogEntry[] = [];
      drain(more);
      // rotated under us: finish the old file, continue with the new one
      let st;
      try {
        st = statSync(path);
      } catch {
        st = undefined;
      }
      if (st && st.ino !== ino) {
        drain(more);
        if (fd >= 0) closeSync(fd);
        partial = '';
        open();
        drain(more);
      }
      for (const e of more) yield e;
      if (o.until !== undefined && BigInt(Date.now()) * 1_000_000n > o.until) return;
      if (!alive) {
        drain(more);
        return;
      }
      await sleep(o.pollMs ?? 100, o.signal);
    }
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
