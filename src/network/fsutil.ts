// Small file helpers of the network layer: atomic JSON writes (temp file + rename, fsync for
// state that must survive a power loss) and tolerant reads.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

let tmpCounter = 0;

export function writeFileAtomic(path: string, data: string | Buffer, opts: { fsync?: boolean; mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
  const fd = openSync(tmp, 'w', opts.mode ?? 0o644);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (opts.fsync) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmQuiet(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmQuiet(tmp);
    throw e;
  }
  if (opts.fsync) {
    const d = openSync(dirname(path), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }
}

export function writeJsonAtomic(path: string, value: unknown, opts: { fsync?: boolean } = {}): void {
  writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n', opts);
}

/** The parsed file, or undefined when it does not exist. */
export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** The file's text, trimmed, or '' when it cannot be read. */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

export const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;
