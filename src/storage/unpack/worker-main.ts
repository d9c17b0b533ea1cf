// The body of an unpack worker thread (see ../unpack-pool.ts): one layer, then exit. Layer
// unpacking is mostly synchronous file syscalls; in a worker they no longer serialise with the
// other layers' unpacks, the downloads and the gunzip of the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { errnoCode } from '../errors.js';
import { unpackLayer, type UnpackOptions } from './index.js';

type Job = Omit<UnpackOptions, 'helper' | 'source'> & { source: string };

const job = workerData as Job;
unpackLayer(job).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (e: unknown) => {
    const err = e as Error & { code?: string };
    parentPort!.postMessage({ ok: false, error: { name: err.name, message: err.message, code: errnoCode(e) } });
  },
);
