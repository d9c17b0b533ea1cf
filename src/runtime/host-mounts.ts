// Containers without a mount namespace get their mounts in the runtime's own namespace, under the
// rootfs; delete removes them here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const path = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path === dir || path.startsWith(prefix)) out.push(path);
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

/** Lazily unmounts every mount under `dir` (only on the rare no-mount-namespace path). */
export function unmountUnder(dir: string): string[] {
  const mps = mountsUnder(dir);
  for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  return mountsUnder(dir);
}
