// Errors raised while reading an OCI config.json (or an exec process.json).
//
// A SpecError always names the file, the JSON path of the offending field (when there is one) and
// what is wrong with it, so the message alone tells a user what to fix:
//
//   config.json: linux.namespaces[2].type: unknown namespace "netwrk" (expected one of: pid, ...)

export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** The file label the error is about, e.g. "config.json" or "/run/bundle/config.json". */
  readonly file: string;
  /** JSON path of the offending field, e.g. "linux.namespaces[2].type"; "" for the whole document. */
  readonly field: string;
  /** The problem and, where possible, the fix, without the file and field prefix. */
  readonly detail: string;

  constructor(file: string, field: string, detail: string) {
    super(field === '' ? `${file}: ${detail}` : `${file}: ${field}: ${detail}`);
    this.file = file;
    this.field = field;
    this.detail = detail;
  }

  /** The same error, reported against another file label. */
  withFile(file: string): SpecError {
    return new SpecError(file, this.field, this.detail);
  }
}

export function isSpecError(e: unknown): e is SpecError {
  return e instanceof SpecError;
}
