// The door every host file access of the cgroup code goes through.
//
// Paths handed to a HostFs are host paths ("/sys/fs/cgroup/memory/x"); `real()` maps them onto
// the file system, under `root` when one is given (tests point it at a fake tree in a temp dir).
// Writes open the file O_WRONLY|O_TRUNC without O_CREAT, like runc: on cgroupfs a missing file
// means "not supported", and a fake tree must model that the same way.
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, writeSync } from 'node:fs';
import { errnoOf } from './errors.js';

export class HostFs {
  constructor(readonly root = '') {}

  real(path: string): string {
    return this.root + path;
  }

  read(path: string): string {
    return readFileSync(this.real(path), 'utf8');
  }

  /** The file's text, or undefined when it does not exist. */
  tryRead(path: string): string | undefined {
    try {
      return this.read(path);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  write(path: string, data: string): void {
    const fd = openSync(this.real(path), constants.O_WRONLY | constants.O_TRUNC);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  }

  exists(path: string): boolean {
    return existsSync(this.real(path));
  }

  /** Create one directory; false when it already existed. */
  mkdir(path: string): boolean {
    try {
      mkdirSync(this.real(path), { mode: 0o755 });
      return true;
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return false;
      throw e;
    }
  }

  rmdir(path: string): void {
    rmdirSync(this.real(path));
  }

  /** Names of the entries of a directory ([] when it does not exist). */
  list(path: string): string[] {
    try {
      return readdirSync(this.real(path));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** Names of the subdirectories of a directory ([] when it does not exist). */
  subdirs(path: string): string[] {
    try {
      return readdirSync(this.real(path), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
  }
}

let sleepCell: Int32Array | undefined;

/** Block the thread for `ms` milliseconds (used only while polling a freezer or retrying rmdir). */
export function sleepSync(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}
