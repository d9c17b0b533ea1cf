// docker-shaped views of the engine's records: `inspect` JSON and `ps` rows.
import { shortId } from './ids.js';
import { ANN_IMAGE_ID } from './images.js';
import { networkSettings, portsText } from './networking.js';
import type { Paths } from './paths.js';
import { humanDuration, parseRfc3339 } from './time.js';
import type { ContainerRecord, VolumeRecord } from './types.js';
import type { HealthState } from './store/health.js';
import { ZERO_TIME } from './types.js';

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export function mountPoints(c: ContainerRecord, paths: Paths, volumes: { volume: string; destination: string }[]): MountPoint[] {
  const byDest = new Map(volumes.map((v) => [v.destination, v.volume]));
  const out: MountPoint[] = [];
  for (const m of c.hostConfig.Mounts) {
    if (m.Type === 'volume') {
      const name = byDest.get(m.Target) ?? m.Source;
      out.push({ Type: 'volume', Name: name, Source: paths.volumeData(name), Destination: m.Target, Driver: 'local', Mode: m.ReadOnly ? 'ro' : 'z', RW: !m.ReadOnly, Propagation: '' });
    } else if (m.Type === 'bind') {
      out.push({ Type: 'bind', Source: m.Source, Destination: m.Target, Mode: m.ReadOnly ? 'ro' : '', RW: !m.ReadOnly, Propagation: m.Propagation ?? 'rprivate' });
    } else {
      out.push({ Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: !m.ReadOnly, Propagation: '' });
    }
  }
  return out;
}

export function inspectContainer(c: ContainerRecord, paths: Paths, volumes: { volume: string; destination: string }[], health?: HealthState): Record<string, unknown> {
  const args = c.spec.process?.args ?? [];
  const user = [...(c.config.Entrypoint ?? []), ...c.config.Cmd];
  return {
    Id: c.id,
    Created: c.created,
    Path: user[0] ?? '',
    Args: user.slice(1),
    State: {
      Status: c.state,
      Running: c.state === 'running' || c.state === 'paused',
      Paused: c.state === 'paused',
      Restarting: c.state === 'restarting',
      OOMKilled: c.oomKilled,
      Dead: c.state === 'dead',
      Pid: c.state === 'running' || c.state === 'paused' ? c.pid : 0,
      ExitCode: c.exitCode,
      Error: c.error,
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt,
      ...(health ? { Health: health } : {}),
    },
    Image: c.spec.annotations?.[ANN_IMAGE_ID] ?? c.image, // docker's: the image's id ("sha256:..."); the name is .Config.Image
    ResolvConfPath: paths.resolvConfPath(c.id),
    HostnamePath: paths.hostnamePath(c.id),
    HostsPath: paths.hostsPath(c.id),
    LogPath: c.hostConfig.LogConfig.Type === 'none' ? '' : paths.logPath(c.id, c.hostConfig.LogConfig.Type),
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'rootfs',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      ...c.hostConfig,
      NetworkMode: c.hostConfig.NetworkMode,
      LogConfig: c.hostConfig.LogConfig,
      ReadonlyPaths: c.spec.linux?.readonlyPaths ?? [],
      MaskedPaths: c.spec.linux?.maskedPaths ?? [],
    },
    GraphDriver: { Name: 'rootfs', Data: { Dir: c.rootfs } },
    Mounts: mountPoints(c, paths, volumes),
    Config: {
      ...c.config,
      Hostname: c.spec.hostname ?? shortId(c.id),
      Env: c.spec.process?.env ?? c.config.Env,
      Volumes: null,
      OnBuild: null,
      Init: c.hostConfig.Init ? args[0] : undefined,
    },
    NetworkSettings: networkSettings(c, c.state === 'running' || c.state === 'paused' || c.state === 'restarting'),
  };
}

export function inspectVolume(v: VolumeRecord): Record<string, unknown> {
  return { CreatedAt: v.created.replace(/\.\d+Z$/, 'Z'), Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name, Options: v.options, Scope: 'local' };
}

function ago(t: string, now: number): string {
  const ns = parseRfc3339(t);
  if (ns === null || t === ZERO_TIME) return '';
  return humanDuration(now - Number(ns / 1_000_000n));
}

/** docker ps's STATUS column. */
export function statusText(c: ContainerRecord, now = Date.now(), health?: HealthState): string {
  switch (c.state) {
    case 'created':
      return 'Created';
    case 'running':
      return `Up ${ago(c.startedAt, now)}${!health ? '' : health.Status === 'starting' ? ' (health: starting)' : ` (${health.Status})`}`;
    case 'paused':
      return `Up ${ago(c.startedAt, now)} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode}) ${ago(c.finishedAt, now)} ago`;
    case 'exited':
      return c.finishedAt === ZERO_TIME ? 'Created' : `Exited (${c.exitCode}) ${ago(c.finishedAt, now)} ago`;
    case 'dead':
      return 'Dead';
  }
}

/** A row of `docker ps` (the fields --format can name). */
/** volumes: the container's named volumes (store.containerVolumes), for .Mounts's anonymous ones. */
export function psRow(c: ContainerRecord, noTrunc: boolean, now = Date.now(), health?: HealthState, volumes?: { volume: string; destination: string }[]): Record<string, unknown> {
  const cmd = [...(c.config.Entrypoint ?? []), ...c.config.Cmd].join(' ');
  const shown = noTrunc || [...cmd].length <= 20 ? cmd : [...cmd].slice(0, 19).join('') + '…';
  const labels = Object.entries(c.config.Labels).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    ID: noTrunc ? c.id : shortId(c.id),
    Image: c.image,
    Command: JSON.stringify(shown),
    CreatedAt: new Date(Number((parseRfc3339(c.created) ?? 0n) / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
    RunningFor: `${ago(c.created, now)} ago`,
    Ports: portsText(c, c.state === 'running' || c.state === 'paused' || c.state === 'restarting'),
    State: c.state,
    Status: statusText(c, now, health),
    Size: '0B',
    Names: c.name,
    Labels: labels,
    Label: (k: string) => c.config.Labels[k] ?? '',
    Mounts: psMounts(c, volumes ?? [], !noTrunc),
    Networks: c.hostConfig.NetworkMode,
    LocalVolumes: String(c.hostConfig.Mounts.filter((m) => m.Type === 'volume').length),
  };
}

/** docker ps's MOUNTS: each mount point's volume name, else its source; 15 columns unless --no-trunc. */
function psMounts(c: ContainerRecord, volumes: { volume: string; destination: string }[], trunc: boolean): string {
  const byDest = new Map(volumes.map((v) => [v.destination, v.volume]));
  // --tmpfs and tmpfs mounts have no name or source: docker lists them as ""
  return c.hostConfig.Mounts.map((m) => {
    const name = (m.Type === 'volume' ? byDest.get(m.Target) ?? m.Source : m.Type === 'bind' ? m.Source : '') || '';
    return trunc && [...name].length > 15 ? [...name].slice(0, 14).join('') + '…' : name;
  }).join(',');
}

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
  Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Label: 'LABEL', Mounts: 'MOUNTS', Networks: 'NETWORKS', LocalVolumes: 'LOCAL VOLUMES',
};
