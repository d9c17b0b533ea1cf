// What /proc says of a process, for tests that look for monitors and their children: '' / 0
// once the process is gone.
import { readFileSync } from 'node:fs';

/** Its command line, NUL-separated as in /proc. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Its parent's pid. */
export function ppid(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
