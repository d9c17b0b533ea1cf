// `update` of block I/O limits: docker's --blkio-weight, and podman's --blkio-weight-device and
// --device-{read,write}-{bps,iops}. Each device list merges by device (major:minor, so two paths
// of one disk are one device): a device named again replaces its entry, others stay, and a rate
// of 0 removes the device's limit (the cgroup is told "0"/"max" for it, the record drops it).
// A weight of 0 means "unchanged", as in docker. The merged fields go to HostConfig (inspect
// shows them) and to the spec's linux.resources.blockIO (a restart applies them).
import type { LinuxBlockIO } from '../spec/types.js';
import { blockDeviceNumbers, blockIOOf, normalizeBlkio, type BlkioHostConfig, type BlkioOptions, type ThrottleDevice, type WeightDevice } from './blkio.js';

const LISTS = ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps'] as const;

/** Were any block I/O options given to update? */
export function hasBlkioUpdate(u: BlkioOptions): boolean {
  return !!u.blkioWeight || !!(u.blkioWeightDevice?.length || u.deviceReadBps?.length || u.deviceWriteBps?.length || u.deviceReadIops?.length || u.deviceWriteIops?.length);
}

export interface BlkioUpdate {
  /** The merged HostConfig fields (to assign over the container's). */
  hostConfig: BlkioHostConfig;
  /** What to write to the live cgroup: every current entry, plus 0 for each removed device. */
  live: LinuxBlockIO | undefined;
}

/**
 * Merges the options into the container's fields; throws (invalid: exit 125) for a bad value
 * or a path that is not a block device, before anything is applied.
 */
export function mergeBlkioUpdate(cur: BlkioHostConfig, u: BlkioOptions): BlkioUpdate {
  const given = normalizeBlkio(u);
  const next: BlkioHostConfig = {};
  if (given.BlkioWeight ?? cur.BlkioWeight) next.BlkioWeight = given.BlkioWeight ?? cur.BlkioWeight!;
  const removed: BlkioHostConfig = {};
  const key = (p: string) => {
    const d = blockDeviceNumbers(p);
    return `${d.major}:${d.minor}`;
  };
  for (const f of LISTS) {
    const merged = new Map<string, WeightDevice | ThrottleDevice>();
    for (const e of (cur[f] ?? []) as (WeightDevice | ThrottleDevice)[]) {
      try {
        merged.set(key(e.Path), e);
      } catch {
        merged.set(`path:${e.Path}`, e); // the device is gone since: kept as recorded
      }
    }
    const gone: (WeightDevice | ThrottleDevice)[] = [];
    for (const e of (given[f] ?? []) as (WeightDevice | ThrottleDevice)[]) {
      const k = key(e.Path);
      if ('Rate' in e && e.Rate === 0) {
        merged.delete(k);
        gone.push(e);
      } else merged.set(k, e);
    }
    if (merged.size) (next as Record<string, unknown>)[f] = [...merged.values()];
    if (gone.length) (removed as Record<string, unknown>)[f] = gone;
  }
  // the live cgroup: the merged settings (only existing devices) and a 0 for every removed limit
  const present: BlkioHostConfig = { ...next };
  for (const f of LISTS) {
    const l = (present[f] as (WeightDevice | ThrottleDevice)[] | undefined)?.filter((e) => {
      try {
        blockDeviceNumbers(e.Path);
        return true;
      } catch {
        return false;
      }
    });
    (present as Record<string, unknown>)[f] = l?.length ? l : undefined;
  }
  const live = blockIOOf(present) ?? {};
  const zeros = blockIOOf(removed) ?? {};
  for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
    if (zeros[k]) live[k] = [...(live[k] ?? []), ...zeros[k]!.map((d) => ({ ...d, rate: 0 }))];
  }
  return { hostConfig: next, live: Object.keys(live).length ? live : undefined };
}

/**
 * update's entry: merges the block I/O options into hc (in place) and returns what to write to
 * the live cgroup, or null when no block I/O option was given (nothing to do).
 */
export function applyBlkioUpdate(hc: BlkioHostConfig, u: BlkioOptions): LinuxBlockIO | undefined | null {
  if (!hasBlkioUpdate(u)) return null;
  const m = mergeBlkioUpdate(hc, u);
  for (const f of ['BlkioWeight', ...LISTS] as const) delete hc[f];
  Object.assign(hc, m.hostConfig);
  return m.live;
}

/** The spec's blockIO for hc; the previous one when a recorded device has gone since (update of other limits must not fail on it). */
export function specBlockIO(hc: BlkioHostConfig, prev: LinuxBlockIO | undefined): LinuxBlockIO | undefined {
  try {
    return blockIOOf(hc);
  } catch {
    return prev;
  }
}

export type { BlkioOptions };

/** Validates the options on their own (values, and that each path is a block device), as the CLI does before touching any container. */
export function checkBlkioUpdate(u: BlkioOptions): void {
  const n = normalizeBlkio(u);
  for (const f of LISTS) for (const e of (n[f] ?? []) as { Path: string }[]) blockDeviceNumbers(e.Path);
}
