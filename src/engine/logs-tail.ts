// `logs --tail N` without reading the whole log (as docker's json-file reader): each file is read
// backwards from its end in blocks, newest file first, until N wanted lines are found. The
// result is where forward reading starts, so `--tail 10` of a 1 GB log reads a few kilobytes.
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 64 * 1024;
/** The longest log line kept whole (longer ones are an error, both ways of reading). */
export const MAX_LINE = 16 << 20;

/** Complete lines of [0, size) from last to first, with the offset each starts at ("\n" not included). */
export async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<{ offset: number; line: Buffer }> {
  let buf = Buffer.alloc(0); // file bytes [bufStart, bufStart + buf.length)
  let bufStart = size;
  let lineEnd = -1; // offset of the "\n" ending the line being assembled; -1: none seen yet
  let searchFrom = size - 1; // bytes after this offset are searched already
  for (;;) {
    if (searchFrom >= bufStart) {
      const i = buf.lastIndexOf(10, searchFrom - bufStart);
      if (i >= 0) {
        const abs = bufStart + i;
        // bytes after the last "\n" are a record still being written: not a line yet
        if (lineEnd >= 0) yield { offset: abs + 1, line: buf.subarray(i + 1, lineEnd - bufStart) };
        lineEnd = abs;
        searchFrom = abs - 1;
        continue;
      }
    }
    if (bufStart === 0) {
      if (lineEnd > 0) yield { offset: 0, line: buf.subarray(0, lineEnd) };
      return;
    }
    // the block before; only the unfinished line's bytes are kept from the current one
    const n = Math.min(BLOCK, bufStart);
    const blk = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = await fh.read(blk, got, n - got, bufStart - n + got);
      if (r.bytesRead <= 0) break;
      got += r.bytesRead;
    }
    if (got < n) blk.fill(0, got); // truncated meanwhile: no line ends there
    let keep = lineEnd >= 0 ? buf.subarray(0, lineEnd - bufStart) : Buffer.alloc(0);
    if (keep.length > MAX_LINE) {
      // longer than any record the monitor writes: a damaged file; skip that "line"
      keep = Buffer.alloc(0);
      lineEnd = -1;
    }
    searchFrom = bufStart - 1;
    bufStart -= n;
    buf = Buffer.concat([blk, keep]);
  }
}

/**
 * Where the last `tail` wanted lines start: [file index, offset]. files are oldest first with
 * their sizes; wanted(line) says whether a line counts (it passes the since/until filter).
 */
export async function tailStart(files: { fh: FileHandle; size: number }[], tail: number, wanted: (line: Buffer) => boolean): Promise<[number, number]> {
  const last = files.length - 1;
  if (tail <= 0) return [last, files[last]?.size ?? 0];
  let count = 0;
  for (let f = last; f >= 0; f--) {
    for await (const { offset, line } of linesBackward(files[f]!.fh, files[f]!.size)) {
      if (line.length && wanted(line) && ++count === tail) return [f, offset];
    }
  }
  return [0, 0];
}
