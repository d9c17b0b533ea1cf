// The CLIs' output: write(2) on the inherited stdout/stderr descriptors. The first use of
// process.stdout or process.stderr builds a stream (net.Socket for a pipe, tty.WriteStream, a
// file stream: node's stream modules load with it), 3-10 ms here, which is more than `berth
// version` or `berth-oci state` do otherwise. Once anything in the process uses the stream
// itself (logs, attach, save, console.*), our writes go through the stream too, so that the
// output stays in order.
import { writeSync } from 'node:fs';

const streamUsed = { 1: false, 2: false };

// Notices the first use of process.stdout/stderr (node defines them as configurable getters);
// were it another shape, every write goes through the stream, as before.
function watch(name: 'stdout' | 'stderr', fd: 1 | 2): void {
  const d = Object.getOwnPropertyDescriptor(process, name);
  const get = d?.get;
  if (!get || !d.configurable) {
    streamUsed[fd] = true;
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable ?? true,
    get() {
      const stream = get.call(process) as NodeJS.WriteStream;
      if (!streamUsed[fd]) {
        streamUsed[fd] = true;
        stream.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'EPIPE' || e.code === 'EBADF') readerGone(fd);
          else throw e;
        });
      }
      return stream;
    },
  });
}
watch('stdout', 1);
watch('stderr', 2);

let pause: Int32Array | undefined;

// The reader of our stdout has gone (`berth logs -f C | head -1`): end quietly with status 0, no
// stack trace, as there is nobody left to tell (docker's Go CLI dies of SIGPIPE here; node
// ignores SIGPIPE, so a follow loop would otherwise write into the void forever). Nothing the
// CLI writes to stdout is part of a store transaction, so exiting here leaves the store as it is
// between statements. A closed stderr is only ignored: the command's work goes on.
function readerGone(fd: 1 | 2): void {
  if (fd === 1) process.exit(0);
}

function writeFd(fd: 1 | 2, s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // a non-blocking descriptor (set so by whoever shares it) that is full: wait for the reader
        Atomics.wait((pause ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE' || code === 'EBADF') return readerGone(fd); // the reader has gone, or there is no stdout
      throw e;
    }
  }
}

/** Writes `s` to stdout, synchronously. */
export function out(s: string): void {
  if (streamUsed[1]) process.stdout.write(s);
  else writeFd(1, s);
}

let merged = false;

/**
 * A CLI whose stderr is the same file as its stdout, written through one pipe (a prestarted one:
 * src/cli/berth/prestarted.ts): what goes to stderr goes to stdout, so that the order stays.
 */
export function mergeErrIntoOut(): void {
  merged = true;
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => process.stdout });
}

/** Writes `s` to stderr, synchronously. */
export function err(s: string): void {
  if (merged) return out(s);
  if (streamUsed[2]) process.stderr.write(s);
  else writeFd(2, s);
}
