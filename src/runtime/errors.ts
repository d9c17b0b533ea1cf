// Errors the runtime reports to users: the message names what is wrong and how to fix it.
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
