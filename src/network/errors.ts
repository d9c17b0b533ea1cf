// Errors of the network layer: a kind the engine maps to its own (invalid -> 400, notfound ->
// 404, conflict -> 409 in the Docker API) and a message that names the input and the fix.
export type NetworkErrorKind = 'invalid' | 'notfound' | 'conflict' | 'inuse' | 'system';

export class NetworkError extends Error {
  constructor(readonly kind: NetworkErrorKind, message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export const invalid = (m: string) => new NetworkError('invalid', m);
export const notFound = (m: string) => new NetworkError('notfound', m);
export const conflict = (m: string) => new NetworkError('conflict', m);
export const inUse = (m: string) => new NetworkError('inuse', m);
export const system = (m: string) => new NetworkError('system', m);

export function isNetworkError(e: unknown, kind?: NetworkErrorKind): e is NetworkError {
  return e instanceof NetworkError && (kind === undefined || e.kind === kind);
}
