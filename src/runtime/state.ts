// The runtime's state directory: one directory per container under --root, holding state.json
// (written atomically) and, between create and start, the exec fifo the init blocks on.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OCI_VERSION, type Spec, type State } from '../spec/types.js';
import { RuntimeError } from './errors.js';

export interface ContainerRecord {
  id: string;
  bundle: string;
  /** The init's pid in the host pid namespace (0 until the init exists). */
  pid: number;
  /** The init's start time (field 22 of /proc/PID/stat), to detect pid reuse. */
  pidStart: string;
  created: string;
  owner: string;
  spec: Spec;
  cgroupsPath?: string;
  /** Whether the cgroups belong to this container (false: rootless without cgroups). */
  cgroup: boolean;
  systemdCgroup: boolean;
  /** Namespaces an exec joins. */
  namespaces: { type: string; path: string }[];
  seccomp?: { file: string; flags: number; listenerPath?: string; listenerMetadata?: string };
  setgroups: boolean;
  /** Mounts of the rootfs made for its owners (idmap-rootfs.ts), removed by delete. */
  rootfsMounts?: string;
}

export const ID_RE = /^[\w+.-]+$/;

export function validateId(id: string | undefined): string {
  if (!id) throw new RuntimeError('container id cannot be empty');
  if (!ID_RE.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new RuntimeError(`invalid container id "${id}": use letters, digits, "_", "+", "-" and "." only`);
  }
  return id;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, validateId(id));
  }
  fifo(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Reserve an id: mkdir is atomic, so two creates of one id cannot both win. */
  reserve(id: string): string {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`container with id "${id}" already exists`);
      throw e;
    }
    return dir;
  }

  write(rec: ContainerRecord): void {
    const dir = this.dir(rec.id);
    const tmp = join(dir, `.state.json.${process.pid}`);
    // rename makes the update atomic; no fsync: the state root is a tmpfs (/run) like runc's,
    // and does not outlive a reboot anyway
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(rec));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, 'state.json'));
  }

  load(id: string): ContainerRecord {
    const dir = this.dir(id);
    let text: string;
    try {
      text = readFileSync(join(dir, 'state.json'), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new RuntimeError(`container "${id}" does not exist`);
      throw e;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new RuntimeError(`state of container "${id}" is damaged (${join(dir, 'state.json')}); remove it with delete --force`);
    }
  }

  /** Every container id that has a state directory. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && ID_RE.test(d.name))
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  createdAt(id: string): Date {
    return statSync(this.dir(id)).mtime;
  }

  writeFile(id: string, name: string, text: string): void {
    writeFileSync(join(this.dir(id), name), text);
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or null when the pid is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null; // exited, not yet reaped
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(rec: ContainerRecord): boolean {
  return rec.pid > 0 && processStartTime(rec.pid) === rec.pidStart;
}

export function toState(rec: ContainerRecord, status: State['status']): State {
  const s: State = { ociVersion: rec.spec.ociVersion || OCI_VERSION, id: rec.id, status, bundle: rec.bundle };
  if (status !== 'stopped' && rec.pid) s.pid = rec.pid;
  if (rec.spec.annotations) s.annotations = rec.spec.annotations;
  return s;
}
