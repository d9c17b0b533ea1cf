// Errors and warnings of the cgroup managers.
//
// A CgroupError names the OCI field it is about (e.g. "linux.resources.memory.swap") when there is
// one, so the runtime can print "config.json: <message>" and the user knows what to fix.

export class CgroupError extends Error {
  override readonly name = 'CgroupError';
  /** JSON path of the offending field, e.g. "linux.resources.cpu.cpus"; "" when about the host. */
  readonly field: string;

  constructor(message: string, field = '', options?: { cause?: unknown }) {
    super(field === '' ? message : `${field}: ${message}`, options);
    this.field = field;
  }
}

export function isCgroupError(e: unknown): e is CgroupError {
  return e instanceof CgroupError;
}

/** Receives a warning about a setting the host accepted but cannot (fully) enforce. */
export type WarningSink = (message: string) => void;

/** The errno code of a Node fs error ("ENOENT", "EBUSY", ...), or "" when there is none. */
export function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
