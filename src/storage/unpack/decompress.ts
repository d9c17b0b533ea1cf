// Layer decompression, chosen by the stream's magic bytes (as docker does; media types lie):
// gzip through zlib, zstd through fzstd (pure JavaScript: Node 20's zlib has no zstd, and the
// native zstd packages download prebuilt binaries at install), anything else as plain tar.
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Decompress } from 'fzstd';
import { StorageError } from '../errors.js';

/** Stream options zlib passes on to its Transform (absent from @types/node's ZlibOptions). */
const BIG_BUFFERS = { readableHighWaterMark: 8 << 20, writableHighWaterMark: 4 << 20 } as object;

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

// fzstd builds its decoding tables when imported (~1 ms of every CLI start): imported on first use
function zstdTransform(Zstd: typeof Decompress): Transform {
  let d: Decompress;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        d.push(chunk);
        cb();
      } catch (e) {
        cb(new StorageError('FORMAT', `zstd: ${(e as Error).message}`));
      }
    },
    flush(cb) {
      try {
        d.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(new StorageError('FORMAT', `zstd: ${(e as Error).message}`));
      }
    },
  });
  // fzstd may hand out views of its window: copy before passing on
  d = new Zstd((data) => {
    if (data.length) t.push(Buffer.from(data));
  });
  return t;
}

/** Peeks at the first bytes of source and yields the decompressed stream. */
export async function* decompress(source: AsyncIterable<Buffer>, onDetect?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < 4) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(r.value);
    have += r.value.length;
  }
  const first = Buffer.concat(head);
  const kind = sniffCompression(first);
  onDetect?.(kind);
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (kind === 'none') {
    yield* rest();
    return;
  }
  // large buffers let zlib's thread inflate ahead while this thread does the file syscalls
  // (with the default 16 KiB the two mostly take turns)
  const decoder = kind === 'gzip' ? createGunzip({ chunkSize: 256 * 1024, ...BIG_BUFFERS }) : zstdTransform((await import('fzstd')).Decompress);
  const out = pipeline(Readable.from(rest()), decoder, () => {});
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError('FORMAT', `${kind}: ${(e as Error).message}`, { cause: e });
  }
}
