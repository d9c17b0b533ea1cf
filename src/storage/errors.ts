// Errors of the storage side (layers, snapshots, quotas, archives): a code to branch on and a
// message that names the file or entry and, where there is one, the fix.

export type StorageErrorCode =
  | 'HOSTILE' // an archive tried to escape its directory or plant something unsafe
  | 'DIGEST' // content does not match its digest
  | 'LIMIT' // a size, count or length cap was exceeded
  | 'FORMAT' // malformed tar, compression, manifest or metadata
  | 'NOT_FOUND'
  | 'IN_USE'
  | 'EXISTS'
  | 'UNSUPPORTED' // the host or kernel lacks what is needed
  | 'QUOTA' // no way to enforce a size limit here
  | 'IO';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** An errno-style code of a Node error ('ENOENT'), or undefined. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}
