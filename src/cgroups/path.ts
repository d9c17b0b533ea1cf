// linux.cgroupsPath -> the container's cgroup directory in each hierarchy (cgroupfs driver
// semantics, as runc's):
//   absolute "/a/b"  -> <hierarchy mountpoint>/a/b
//   relative "a/b"   -> <mountpoint>/<the calling process's own cgroup in that hierarchy>/a/b
//   missing or ""    -> "/berth/<container id>"
import { CgroupError } from './errors.js';

const FIELD = 'linux.cgroupsPath';

export interface CgroupPath {
  /** Normalized, always starting with "/" (for a relative path: relative to the own cgroup). */
  path: string;
  relative: boolean;
}

export function parseCgroupsPath(cgroupsPath: string | undefined, containerId: string): CgroupPath {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (containerId === '' || containerId === '.' || containerId === '..' || /[/\0\n]/.test(containerId)) {
      throw new CgroupError(`container id ${JSON.stringify(containerId)} cannot name a cgroup; set linux.cgroupsPath`, FIELD);
    }
    return { path: `/berth/${containerId}`, relative: false };
  }
  if (cgroupsPath.includes('\0') || cgroupsPath.includes('\n')) {
    throw new CgroupError(`${JSON.stringify(cgroupsPath)} contains a NUL or newline character`, FIELD);
  }
  const parts = cgroupsPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new CgroupError(`${JSON.stringify(cgroupsPath)} must not contain ".." (it would escape the cgroup hierarchy); use a path without ".."`, FIELD);
  }
  const relative = !cgroupsPath.startsWith('/');
  if (parts.length === 0) {
    throw new CgroupError(`${JSON.stringify(cgroupsPath)} names ${relative ? "the runtime's own cgroup" : 'the root cgroup'}; name a cgroup below it, e.g. "/berth/<id>"`, FIELD);
  }
  return { path: '/' + parts.join('/'), relative };
}

/** The cgroup path (relative to the hierarchy root) for a hierarchy whose mount shows `mountRoot`. */
export function cgroupPathIn(p: CgroupPath, ownCgroup: string | undefined): string {
  if (!p.relative) return p.path;
  const own = ownCgroup ?? '/';
  return own === '/' ? p.path : own.replace(/\/+$/, '') + p.path;
}

/** The host directory of cgroup `cgPath` in a hierarchy mounted at `mountpoint` showing `mountRoot`. */
export function hostDir(mountpoint: string, mountRoot: string, cgPath: string): string {
  let rel = cgPath;
  if (mountRoot !== '/' && (cgPath === mountRoot || cgPath.startsWith(mountRoot + '/'))) rel = cgPath.slice(mountRoot.length);
  return rel === '' || rel === '/' ? mountpoint : mountpoint.replace(/\/+$/, '') + rel;
}
