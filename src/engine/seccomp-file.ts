// A container's compiled seccomp program: the file in the shared cache under the root (compiled
// once per distinct profile) and the flags to load it with.
import { existsSync } from 'node:fs';
import type { SeccompLoad } from '../runtime/compile.js';
import type { Spec } from '../spec/types.js';
import { cachedSeccompProgram, rememberSeccompProgram } from '../seccomp/cache-key.js';
import { invalid } from './errors.js';

/**
 * The program file of a spec's profile (compiling it on a cache miss). `known` is the file
 * recorded at create: reused while it exists, so a start neither hashes nor compiles the
 * profile; a create finds it through the cache's index, and only a miss loads the compiler.
 */
export async function seccompProgramOf(spec: Spec, cacheDir: string, known: string): Promise<string> {
  const sc = spec.linux?.seccomp;
  if (!sc) return '';
  if (known && existsSync(known)) return known;
  try {
    const hit = cachedSeccompProgram(sc, cacheDir);
    if (hit) return hit;
    const { seccompProgramFile } = await import('../seccomp/cache.js');
    const file = seccompProgramFile(sc, cacheDir);
    rememberSeccompProgram(sc, cacheDir, file);
    return file;
  } catch (e) {
    throw invalid(`seccomp profile: ${(e as Error).message}`);
  }
}

/** What the plan needs to load the program: the file, and SECCOMP_FILTER_FLAG_* from the profile. */
export async function seccompLoadOf(spec: Spec, cacheDir: string, known: string): Promise<SeccompLoad | undefined> {
  const sc = spec.linux?.seccomp;
  if (!sc) return undefined;
  const file = await seccompProgramOf(spec, cacheDir, known);
  let flags = 0;
  if (sc.flags?.length) {
    // the default profile has none
    const { seccompFilterFlags } = await import('../seccomp/cache.js');
    flags = seccompFilterFlags(sc).flags;
  }
  return { file, flags };
}
