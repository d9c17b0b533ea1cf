// Capabilities this runtime can hand out are bounded by its own bounding set (here, for example,
// CAP_SYS_RESOURCE is missing). Asking for more would fail in capset with a bare EPERM; instead
// the missing ones are dropped with a warning naming them.
import { readFileSync } from 'node:fs';
import { capabilityNamesFromMask } from '../spec/capabilities.js';
import type { LinuxCapabilities } from '../spec/types.js';

export function hostBoundingSet(statusText = readFileSync('/proc/self/status', 'utf8')): Set<string> {
  const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(statusText);
  return new Set(m ? capabilityNamesFromMask(BigInt('0x' + m[1])) : []);
}

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/** The capabilities limited to what the host grants, and the names that were dropped. */
export function limitToHost(caps: LinuxCapabilities, bounding = hostBoundingSet()): { caps: LinuxCapabilities; dropped: string[] } {
  const dropped = new Set<string>();
  const out: LinuxCapabilities = {};
  for (const set of SETS) {
    const list = caps[set];
    if (!list) continue;
    out[set] = list.filter((c) => {
      if (bounding.has(c)) return true;
      dropped.add(c);
      return false;
    });
  }
  return { caps: out, dropped: [...dropped].sort() };
}
