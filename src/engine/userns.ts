// A container's user namespace from its HostConfig (userns-options.ts): the mappings (an
// --userns=auto range from userns-ranges.ts), put into the spec with the annotation that makes
// the runtime show the rootfs with the right owners inside (runtime/idmap-rootfs.ts).
import { chownSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalid } from './errors.js';
import { IDMAP_ROOTFS_ANNOTATION, planRootfsOwnership, type RootfsOwnership } from '../runtime/idmap-rootfs.js';
import { unmountRootfsDir, type OverlayLayers } from '../runtime/rootfs-layers.js';
import type { IDMapping, Spec } from '../spec/types.js';
import { autoSize, type UsernsHostConfig } from './userns-options.js';
import type { UsernsRanges } from './userns-ranges.js';

export interface UsernsMaps {
  uid: IDMapping[];
  gid: IDMapping[];
}

/** The mappings of a new container (allocating its auto range), or undefined for the host's. */
export function usernsMaps(hc: Partial<UsernsHostConfig>, id: string, ranges: UsernsRanges, exists: (id: string) => boolean): UsernsMaps | undefined {
  if (hc.UidMap?.length && hc.GidMap?.length) return { uid: hc.UidMap, gid: hc.GidMap };
  const size = autoSize(hc.UsernsMode ?? '');
  if (size === undefined) return undefined;
  const r = ranges.allocate(id, size, exists);
  return { uid: [r], gid: [r] };
}

/** Adds the user namespace, its mappings and the rootfs-owner annotation to a spec. */
export function applyUserns(spec: Spec, maps: UsernsMaps): void {
  const lx = (spec.linux ??= {});
  lx.namespaces = [...(lx.namespaces ?? []).filter((n) => n.type !== 'user'), { type: 'user' }];
  lx.uidMappings = maps.uid;
  lx.gidMappings = maps.gid;
  spec.annotations = { ...(spec.annotations ?? {}), [IDMAP_ROOTFS_ANNOTATION]: 'true' };
}

/**
 * Where a container's rootfs-owner mounts live: outside its directories, which are deleted
 * recursively, and under the root (0711) rather than the state root (0700), as the container's
 * root, an unmapped host id, must reach the rootfs.
 */
export function rootfsMountDir(root: string, id: string): string {
  return join(root, 'rootfs-mounts', id);
}

/**
 * At start: the rootfs as the user namespace needs it (nothing for a container without one).
 * Mounts left by a previous run (a crash) are removed first.
 */
export async function usernsRootfs(spec: Spec, rootfs: string, overlay: OverlayLayers | undefined, paths: { root: string; volumesDir(): string }, id: string, warn: (m: string) => void): Promise<RootfsOwnership> {
  if (!spec.annotations?.[IDMAP_ROOTFS_ANNOTATION]) return {};
  const mountDir = rootfsMountDir(paths.root, id);
  searchable(paths.root, spec);
  releaseUsernsRootfs(paths.root, id, warn);
  giveEmptyVolumesToRoot(spec, paths.volumesDir());
  return planRootfsOwnership(spec, rootfs, { cacheRoot: join(paths.root, 'rootfs-shift'), mountDir, ...(overlay ? { overlay } : {}), warn, debug: () => {} });
}

/** The container's root is an unmapped host id: every directory above its rootfs must let it pass. */
function searchable(dir: string, spec: Spec): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    let mode: number;
    try {
      mode = statSync(d).mode;
    } catch {
      mode = 0o711; // made by us
    }
    if (!(mode & 0o001)) {
      throw invalid(`--userns: the container's root (host uid ${spec.linux?.uidMappings?.[0]?.hostID}) cannot reach its root filesystem under ${dir}: ${d} is not searchable by others (chmod o+x ${d}, or use another --root)`);
    }
    if (d === '/') return;
  }
}

/**
 * A volume the engine just made (empty, owned by host root) is given to the container's root, as
 * docker does under userns-remap: otherwise root inside could not write to it. Volumes with
 * content, or owned by anyone else, are left as they are.
 */
function giveEmptyVolumesToRoot(spec: Spec, volumesDir: string): void {
  const u = spec.linux?.uidMappings?.find((m) => m.containerID === 0);
  const g = spec.linux?.gidMappings?.find((m) => m.containerID === 0);
  if (!u || !g) return;
  for (const m of spec.mounts ?? []) {
    if (!m.source?.startsWith(volumesDir + '/')) continue;
    try {
      const st = statSync(m.source);
      if (st.isDirectory() && st.uid === 0 && st.gid === 0 && readdirSync(m.source).length === 0) chownSync(m.source, u.hostID, g.hostID);
    } catch {
      /* gone: the mount reports it */
    }
  }
}

/** Unmounts what usernsRootfs made (at cleanup); never deletes through a mount. */
export function releaseUsernsRootfs(root: string, id: string, warn: (m: string) => void): void {
  const left = unmountRootfsDir(rootfsMountDir(root, id));
  if (left.length) warn(`could not unmount ${left.join(', ')}`);
}
