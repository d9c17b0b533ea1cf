// The default profile, built once per process for each capability set and host architecture
// (what it depends on): a warm process (the library) creates many containers with the same few
// sets, and building plus canonicalizing the ~400-name profile cost each create ~0.3 ms. The
// cached profile is deeply frozen: one object shared by many specs must never change, and being
// frozen is what lets cache-key.ts remember its canonical text by identity.
import { resolveNativeArch } from './arch.js';
import { defaultSeccompProfile } from './default-profile.js';
import type { LinuxSeccomp } from '../spec/types.js';

const MAX = 32;
const built = new Map<string, LinuxSeccomp>();

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** defaultSeccompProfile(capabilities), shared and frozen. */
export function sharedDefaultSeccompProfile(capabilities: readonly string[]): LinuxSeccomp {
  const key = `${resolveNativeArch()}\n${capabilities.join(',')}`;
  let p = built.get(key);
  if (!p) {
    if (built.size >= MAX) built.clear(); // a process cycling through many sets: bounded
    p = deepFreeze(defaultSeccompProfile(capabilities));
    built.set(key, p);
  }
  return p;
}
