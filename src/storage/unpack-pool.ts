// Unpacking a layer in a worker thread, so that several layers of one image unpack at once on
// separate cores (overlay layers do not depend on each other). Falls back to this thread when the
// worker's module is missing (a bundle run outside dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StorageError, type StorageErrorCode } from './errors.js';
import { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack/index.js';

/** dist/src/storage/unpack/worker-main.js, from dist/src/storage/ or dist/bundle/cjs/ (both two levels below dist/). */
const WORKER = fileURLToPath(new URL('../../src/storage/unpack/worker-main.js', import.meta.url));
const CODES: StorageErrorCode[] = ['HOSTILE', 'DIGEST', 'LIMIT', 'FORMAT', 'NOT_FOUND', 'IN_USE', 'EXISTS', 'UNSUPPORTED', 'QUOTA', 'IO'];

type Reply = { ok: true; result: UnpackResult } | { ok: false; error: { name: string; message: string; code?: string } };

/** unpackLayer, in a worker thread when the source is a blob path. */
export async function unpackLayerThreaded(o: UnpackOptions): Promise<UnpackResult> {
  if (typeof o.source !== 'string' || o.helper || !existsSync(WORKER)) return unpackLayer(o);
  const { helper: _h, ...job } = o;
  const w = new Worker(WORKER, { workerData: job });
  try {
    const reply = await new Promise<Reply>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new StorageError('IO', `layer unpack worker exited (status ${code}) before it finished`)));
    });
    if (reply.ok) return reply.result;
    const { name, message, code } = reply.error;
    if (name === 'StorageError' && CODES.includes(code as StorageErrorCode)) throw new StorageError(code as StorageErrorCode, message);
    throw Object.assign(new Error(message), code ? { code } : {});
  } finally {
    await w.terminate();
  }
}
