// Errors the engine raises. Each carries a kind that front doors map to their own vocabulary
// (the CLI: docker's messages and exit codes; later the Docker API: HTTP status codes).

export type EngineErrorKind =
  | 'invalid' // bad input (a flag value, a spec field): nothing was created
  | 'notfound' // no such container / volume / image
  | 'conflict' // a name in use, a container in the wrong state, a volume in use
  | 'notexecutable' // the container's program exists but cannot be executed (exit 126)
  | 'commandnotfound' // the container's program does not exist (exit 127)
  | 'system'; // anything else: a host failure

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(readonly kind: EngineErrorKind, message: string) {
    super(message);
  }
}

export function isEngineError(e: unknown, kind?: EngineErrorKind): e is EngineError {
  return e instanceof EngineError && (kind === undefined || e.kind === kind);
}

export const invalid = (m: string) => new EngineError('invalid', m);
export const notFound = (m: string) => new EngineError('notfound', m);
export const conflict = (m: string) => new EngineError('conflict', m);

/** Classifies a launch failure reported by the shim ("exec: \"x\": executable file not found"). */
export function launchError(message: string): EngineError {
  if (/executable file not found|no such file or directory|: stat: No such file/i.test(message)) return new EngineError('commandnotfound', message);
  if (/permission denied|exec format error/i.test(message) && /exec/i.test(message)) return new EngineError('notexecutable', message);
  return new EngineError('system', message);
}
