// `volume ls --filter`: the keys docker's daemon takes (dangling, driver, label, name); any
// other, or a dangling value that is not a boolean, is refused as docker refuses it.
import { invalid } from './errors.js';

const KEYS = new Set(['dangling', 'driver', 'label', 'name']);

export function checkVolumeFilters(f: Record<string, string[]>): void {
  for (const [k, vs] of Object.entries(f)) {
    if (!KEYS.has(k)) throw invalid(`invalid filter '${k}'`);
    for (const v of vs) if (k === 'dangling' && !['true', 'false', '1', '0'].includes(v)) throw invalid(`invalid filter 'dangling=${v}'`);
  }
}
