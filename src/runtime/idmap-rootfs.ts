// Rootfs ownership for user-namespaced containers: opt-in with the annotation
// run.oci.berth.idmap-rootfs=true (LXC's rootfs "idmap=" and crun's "idmap" mount option do
// the same for their configs). The rootfs, owned by host ids (typically host root), appears
// inside with its on-disk owners: through an idmapped mount (mount_setattr MOUNT_ATTR_IDMAP
// with the container's own mappings) where the file system allows it, else through a
// chown-shifted copy (rootfs-shift.ts).
import { spawnSync } from 'node:child_process';
import type { Spec } from '../spec/types.js';
import { RuntimeError } from './errors.js';
import { SHIM_PATH } from './launch.js';
import type { OverlayLayers } from './rootfs-layers.js';

export const IDMAP_ROOTFS_ANNOTATION = 'run.oci.berth.idmap-rootfs';

/** Whether the spec asks for it ("true"; "copy" forces the chown-copy); validates what it needs. */
export function wantsIdmapRootfs(spec: Spec): 'idmap' | 'copy' | false {
  const v = spec.annotations?.[IDMAP_ROOTFS_ANNOTATION];
  if (v === undefined || v === 'false') return false;
  const where = `config.json: annotations["${IDMAP_ROOTFS_ANNOTATION}"]`;
  if (v !== 'true' && v !== 'copy') throw new RuntimeError(`${where}: "${v}" is not "true", "copy" or "false"`);
  if ((process.geteuid?.() ?? 0) !== 0) throw new RuntimeError(`${where}: needs berth to run as root (rootless containers use the caller's own files)`);
  const ns = spec.linux?.namespaces ?? [];
  const user = ns.find((n) => n.type === 'user');
  if (!user) throw new RuntimeError(`${where}: needs a user namespace (add {"type": "user"} to linux.namespaces with uidMappings and gidMappings)`);
  if (user.path) throw new RuntimeError(`${where}: not supported when joining an existing user namespace (linux.namespaces user has a path)`);
  if (!ns.some((n) => n.type === 'mount')) throw new RuntimeError(`${where}: needs a mount namespace (add {"type": "mount"} to linux.namespaces)`);
  if (!spec.linux?.uidMappings?.length || !spec.linux?.gidMappings?.length) {
    throw new RuntimeError(`${where}: needs linux.uidMappings and linux.gidMappings`);
  }
  return v === 'true' ? 'idmap' : 'copy';
}

export type IdmapProbe = { ok: true } | { ok: false; reason: string };

/** Asks the kernel (through the shim) whether the file system of path can be idmapped. */
export function probeIdmap(path: string): IdmapProbe {
  const r = spawnSync(SHIM_PATH, ['idmap-probe', path], { encoding: 'utf8', timeout: 10000 });
  if (r.status === 0) return { ok: true };
  return { ok: false, reason: (r.stderr || r.error?.message || `status ${r.status}`).trim() };
}

export interface RootfsOwnership {
  /** Mount the rootfs idmapped in the container (compile.ts: IDMAP_TREE + ROOTFS_TREE). */
  idmapRootfs?: boolean;
  /** Run on this directory instead: an overlay of idmapped layers, or over the shifted copy. */
  rootfsOverride?: string;
  /** Where those mounts live: removed by unmountRootfsDir (rootfs-layers.ts) at delete. */
  mountDir?: string;
}

/**
 * Picks the path for a spec that asks for it, in order: a plain directory is mounted idmapped
 * by the shim; an overlay is rebuilt from idmapped layers; anything that cannot be idmapped
 * (FUSE, an overlay whose layers are not known or not idmappable, "copy") runs on a
 * chown-shifted copy. The last path warns, naming why.
 */
export async function planRootfsOwnership(spec: Spec, rootfs: string, o: { cacheRoot: string; mountDir: string; overlay?: OverlayLayers; warn: (m: string) => void; debug: (m: string) => void }): Promise<RootfsOwnership> {
  const want = wantsIdmapRootfs(spec);
  if (!want) return {};
  const uid = spec.linux!.uidMappings!;
  const gid = spec.linux!.gidMappings!;
  let why = `${IDMAP_ROOTFS_ANNOTATION}=copy asks for it`;
  if (want === 'idmap') {
    const { mountIdmappedLayers, overlayLayersOf } = await import('./rootfs-layers.js');
    const layers = o.overlay ?? overlayLayersOf(rootfs);
    if (layers) {
      const bad = layers.lowerdirs.map((l) => [l, probeIdmap(l)] as const).find(([, p]) => !p.ok);
      if (!bad) {
        const merged = mountIdmappedLayers(layers, o.mountDir, uid, gid);
        o.debug(`rootfs ${rootfs}: an overlay of ${layers.lowerdirs.length} idmapped layer(s) at ${merged}`);
        return { rootfsOverride: merged, mountDir: o.mountDir };
      }
      const p = bad[1];
      why = `its overlay layer ${bad[0]} cannot be idmapped (${p.ok ? '' : p.reason})`;
    } else {
      const probe = probeIdmap(rootfs);
      if (probe.ok) {
        o.debug(`rootfs ${rootfs}: idmapped mount with the container's mappings`);
        return { idmapRootfs: true };
      }
      why = `the file system cannot be idmapped (${probe.reason})`;
    }
  }
  const { shiftedCopy, mountShiftedOverlay, shiftId } = await import('./rootfs-shift.js');
  const copy = shiftedCopy(rootfs, o.cacheRoot, uid, gid);
  o.warn(`rootfs ${rootfs}: ${why}; using a copy with owners shifted into the mapped range (${copy.copied ? 'made now' : 'cached'}: ${copy.dir}) under a per-container overlay; writes do not reach the original rootfs`);
  try {
    const merged = mountShiftedOverlay(copy.dir, o.mountDir, shiftId(0, uid), shiftId(0, gid));
    return { rootfsOverride: merged, mountDir: o.mountDir };
  } catch (e) {
    (await import('./rootfs-layers.js')).unmountRootfsDir(o.mountDir);
    throw e;
  }
}
