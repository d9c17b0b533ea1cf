// A row of `volume ls`, with the fields docker's volume formatter has: usage and cluster
// fields read "N/A" for a local volume not asked about (as docker's without -v/cluster data).
import type { VolumeRecord } from '../../engine/types.js';

export function volumeRow(v: VolumeRecord): Record<string, unknown> {
  return {
    Driver: v.driver, Name: v.name, Mountpoint: v.mountpoint, Scope: 'local',
    Labels: Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(','),
    Label: (k: string) => v.labels[k] ?? '',
    Links: 'N/A', Size: 'N/A', Group: 'N/A', Availability: 'N/A', Status: 'N/A',
    CreatedAt: v.created,
  };
}

export const VOLUME_HEADERS: Record<string, string> = {
  Driver: 'DRIVER', Name: 'VOLUME NAME', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Labels: 'LABELS', Label: 'LABEL', Links: 'LINKS',
  Size: 'SIZE', Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS', CreatedAt: 'CREATED',
};
