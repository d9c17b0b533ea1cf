// The local volume driver's name rule and docker's words for a name it refuses (moby's
// volume/local validateName), shared by `volume create`, `-v NAME:/dst` and `--mount source=NAME`.
import { validName } from './ids.js';

/** docker's message for a refused local volume name, or undefined when the name is fine. */
export function volumeNameError(name: string): string | undefined {
  if ([...name].length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!validName(name)) {
    return `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}
