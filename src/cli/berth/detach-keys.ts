// docker's --detach-keys for the CLI (attach, run/start -a, exec -it): the flag parsed where it
// enters; the scanner that finds the sequence in typed input is src/util/detach-scanner.ts.
import { EngineError } from '../../engine/errors.js';

import { detachKeyBytes } from '../../util/detach-scanner.js';

export { detachScanner } from '../../util/detach-scanner.js';

/** Parses --detach-keys ("ctrl-p,ctrl-q", "ctrl-x,y", "a,b,c") into bytes; docker's default when absent. */
export function detachKeys(spec: string | undefined): number[] {
  const keys = detachKeyBytes(spec ?? 'ctrl-p,ctrl-q');
  if (!keys) throw new EngineError('invalid', `Invalid detach keys (${spec}) provided: use keys like "ctrl-p,ctrl-q" or "ctrl-x,y" (ctrl-<a-z@[\\]^_> or single characters, comma separated)`);
  return keys;
}
