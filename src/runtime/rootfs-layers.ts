// An overlay rootfs for a user-namespaced container, rebuilt from idmapped lower layers:
// overlayfs itself cannot be idmapped (no FS_ALLOW_IDMAP on 6.18: mount_setattr says EINVAL),
// but its layers can. Each lower is attached idmapped (`berth-shim idmap-mount`) under
// <mounts>/<id>/lN and a new overlay with the same upper and work directories is mounted at
// <mounts>/<id>/merged, which the container runs on. The upper stays plain (the overlay is
// mounted by host root, which an idmapped upper would not map): the container's writes are
// stored with its mapped host ids, as with a chowned layer.
//
// The mounts live outside any state directory and are removed with rmdir only: a recursive
// delete through an idmapped clone of a layer (the `host` image's layer is "/") would be fatal.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { IDMapping } from '../spec/types.js';
import { idMapText } from './compile.js';
import { RuntimeError } from './errors.js';
import { SHIM_PATH } from './launch.js';

export interface OverlayLayers {
  /** top first, absolute */
  lowerdirs: string[];
  upperdir: string;
  workdir: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The layers of the overlay mounted at dir, when /proc/self/mountinfo names them absolutely. */
export function overlayLayersOf(dir: string): OverlayLayers | undefined {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return undefined;
  }
  let found: OverlayLayers | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || unescape(f[4] ?? '') !== real) continue;
    found = undefined; // the last mount on the path is the visible one
    if (f[sep + 1] !== 'overlay') continue;
    const lowers: string[] = [];
    let upper = '';
    let work = '';
    for (const o of (f[sep + 3] ?? '').split(',')) {
      const eq = o.indexOf('=');
      const k = o.slice(0, eq);
      const v = unescape(o.slice(eq + 1));
      if (k === 'lowerdir') lowers.push(...v.split(/(?<!\\):/).map((x) => x.replace(/\\:/g, ':')));
      else if (k === 'lowerdir+') lowers.push(v);
      else if (k === 'upperdir') upper = v;
      else if (k === 'workdir') work = v;
    }
    if (lowers.length && upper && work && [...lowers, upper, work].every((p) => isAbsolute(p))) found = { lowerdirs: lowers, upperdir: upper, workdir: work };
  }
  return found;
}

function shim(args: string[], what: string): void {
  const r = spawnSync(SHIM_PATH, args, { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new RuntimeError(`${what}: ${(r.stderr || r.error?.message || `status ${r.status}`).trim()}`);
}

function hostId(maps: readonly IDMapping[], id: number): number {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return -1;
}

/** Mounts the overlay of idmapped layers under dir (made here); returns the merged path. */
export function mountIdmappedLayers(layers: OverlayLayers, dir: string, uid: readonly IDMapping[], gid: readonly IDMapping[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o711 }); // the container's root must reach merged
  const names: string[] = [];
  try {
    layers.lowerdirs.forEach((l, i) => {
      const at = join(dir, `l${i}`);
      mkdirSync(at);
      names.push(`l${i}`);
      shim(['idmap-mount', l, at, idMapText(uid), idMapText(gid)], `idmapped layer ${l}`);
    });
    // the upper's top directory is the merged root: owned by the container's root, or root
    // inside could not create anything in /
    const st = statSync(layers.upperdir);
    const ru = hostId(uid, 0);
    const rg = hostId(gid, 0);
    const visible = (maps: readonly IDMapping[], h: number) => maps.some((m) => h >= m.hostID && h < m.hostID + m.size);
    if (ru >= 0 && rg >= 0 && !visible(uid, st.uid) && !visible(gid, st.gid)) chownSync(layers.upperdir, ru, rg);
    mkdirSync(join(dir, 'merged'));
    shim(['storage', 'mount-overlay', dir, 'merged', `upperdir=${layers.upperdir},workdir=${layers.workdir}`, ...names], 'overlay of idmapped layers');
    return join(dir, 'merged');
  } catch (e) {
    unmountRootfsDir(dir);
    throw e;
  }
}

function mountPoints(): Set<string> {
  const set = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4]) set.add(unescape(f[4]));
  }
  return set;
}

/**
 * Unmounts and removes what mountIdmappedLayers (or rootfs-shift.ts) made under dir. Only
 * rmdir on mount points; the copy path's upper/work (plain directories) are deleted
 * recursively only once nothing under dir is mounted any more. Returns what is left.
 */
export function unmountRootfsDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const entries = readdirSync(dir).sort((a, b) => (a === 'merged' ? -1 : b === 'merged' ? 1 : a.localeCompare(b)));
  for (const e of entries) {
    const p = join(dir, e);
    if (!mountPoints().has(p)) continue;
    try {
      execFileSync('umount', [p], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('umount', ['-l', p], { stdio: 'ignore' }); // busy: detach it
      } catch {
        /* reported below */
      }
    }
  }
  const mounted = mountPoints();
  const left = entries.map((e) => join(dir, e)).filter((p) => mounted.has(p));
  if (left.length) return left; // never delete anything next to a live mount
  for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  rmdirSync(dir);
  return [];
}
