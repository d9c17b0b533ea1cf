// The rotated log files of a container as open file descriptors, and the way from one file to the
// next while the monitor rotates them (native/berth-monitor.c: <log>.N-2 -> <log>.N-1, ...,
// <log> -> <log>.1, then a new <log>). A file is followed by its inode, not its name: an open
// descriptor keeps reading a file renamed (or unlinked) under it, so rotation loses nothing.
import { open, stat, type FileHandle } from 'node:fs/promises';

export interface OpenLog {
  fh: FileHandle;
  ino: number;
}

/** Names in write order: <log>.(maxFiles-1) ... <log>.1, <log>. */
export function logNames(path: string, maxFiles: number): string[] {
  const names: string[] = [];
  for (let i = Math.max(1, maxFiles) - 1; i >= 1; i--) names.push(`${path}.${i}`);
  names.push(path);
  return names;
}

async function inoOf(name: string): Promise<number | undefined> {
  try {
    return (await stat(name)).ino;
  } catch {
    return undefined;
  }
}

/**
 * The inode behind each name, taken twice until both agree: a rotation between two stat calls
 * would otherwise give a torn picture that skips a file.
 */
async function snapshot(names: string[]): Promise<(number | undefined)[]> {
  let prev = await Promise.all(names.map(inoOf));
  for (let k = 0; k < 50; k++) {
    const again = await Promise.all(names.map(inoOf));
    if (again.every((v, i) => v === prev[i])) return again;
    prev = again;
  }
  return prev;
}

/** Opens name if it is still the file with inode ino (a rotation may have renamed it meanwhile). */
async function openIf(name: string, ino: number): Promise<OpenLog | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(name, 'r');
  } catch {
    return undefined;
  }
  const st = await fh.stat();
  if (st.ino === ino) return { fh, ino };
  await fh.close();
  return undefined;
}

/**
 * Every existing file, oldest first, opened as one consistent set: the names are stat'ed, opened,
 * and checked to still be the same files (else a rotation ran in between: try again).
 */
export async function openAll(path: string, maxFiles: number): Promise<OpenLog[]> {
  for (let attempt = 0; ; attempt++) {
    const names = logNames(path, maxFiles);
    const inos = await snapshot(names);
    const opened: OpenLog[] = [];
    let consistent = true;
    for (let i = 0; i < names.length; i++) {
      if (inos[i] === undefined) continue;
      const o = await openIf(names[i]!, inos[i]!);
      if (o) opened.push(o);
      else consistent = false;
    }
    if (consistent || attempt >= 20) return opened;
    await Promise.all(opened.map((o) => o.fh.close()));
  }
}

/**
 * The file written after the one with inode ino, opened; undefined while there is none yet (ino
 * is still <log>, or <log> is between its rename and its re-creation). When ino is gone
 * altogether (rotated out while it was being read), the oldest file there is comes next.
 */
export async function openNext(path: string, maxFiles: number, ino: number): Promise<OpenLog | undefined> {
  const names = logNames(path, maxFiles);
  const inos = await snapshot(names);
  const at = inos.indexOf(ino);
  if (at === names.length - 1) return undefined;
  for (let i = at + 1; i < names.length; i++) {
    if (inos[i] === undefined) {
      if (at >= 0) return undefined; // the next one is being created: look again later
      continue;
    }
    return openIf(names[i]!, inos[i]!);
  }
  return undefined;
}
