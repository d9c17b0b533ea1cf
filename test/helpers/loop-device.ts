// A loop device over a sparse file, for block I/O tests: its path and "major:minor" (what the
// blkio cgroup files name it by). Detach it before the file's directory goes.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export function attachLoop(dir: string, size: string): { path: string; majMin: string } {
  const img = join(dir, 'disk.img');
  execFileSync('truncate', ['-s', size, img]);
  const path = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
  const rdev = statSync(path).rdev;
  return { path, majMin: `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}` };
}

export function detachLoop(path: string): void {
  execFileSync('losetup', ['-d', path]);
}
