// `system info`, `system df` and `system prune`: what the engine holds (containers, images,
// volumes), what it takes on disk, and removing what nothing uses. Docker-shaped results; the
// CLI renders them (src/cli/berth/system-commands.ts).
import { readFileSync, statSync } from 'node:fs';
import { cpus, hostname, machine, release, totalmem } from 'node:os';
import { cgroupLayout } from '../cgroups/index.js';
import { SHIM_PATH } from '../runtime/launch.js';
import type { Engine } from './engine.js';
import { EngineError, invalid } from './errors.js';
import { duBytes } from './fsutil.js';
import { collectImageGarbage } from './image-gc.js';
import { ANN_IMAGE_ID } from './images.js';
import { isLive } from './state.js';
import { parseRfc3339, parseSince } from './time.js';
import type { ContainerRecord } from './types.js';

export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][];
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Name: string;
  ServerVersion: string;
  DockerRootDir: string;
  StateRoot: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  SecurityOptions: string[];
  Debug: boolean;
  Warnings: string[];
}

function osRelease(): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const l of readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(l);
      if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
    }
    return out;
  } catch {
    return {};
  }
}

/** The cgroup version docker reports: "2" on a unified host, "1" on v1 and hybrid ones. */
function cgroupVersion(): string {
  try {
    return cgroupLayout() === 'v2' ? '2' : '1';
  } catch {
    return '1';
  }
}

/** A stable id of this engine root (docker's ID), from the store's creation. */
function engineId(engine: Engine): string {
  try {
    return `berth-${statSync(engine.store.path).ino.toString(16)}`;
  } catch {
    return '';
  }
}

export function systemInfo(engine: Engine, version: string): SystemInfo {
  const recs = engine.list({ all: true });
  const running = recs.filter((c) => c.state === 'running' || c.state === 'restarting').length;
  const paused = recs.filter((c) => c.state === 'paused').length;
  const os = osRelease();
  const warnings: string[] = [];
  let images = 0;
  let driver = 'unknown';
  try {
    images = engine.images.images.list().length;
    driver = engine.images.snapshotter.kind;
  } catch (e) {
    warnings.push(`WARNING: images: ${(e as Error).message}`);
  }
  const cgv = cgroupVersion();
  if (cgv === '1') warnings.push('WARNING: cgroup v1 (or hybrid) host: some limits (blkio weights, buffered writeback throttling) are not enforced');
  return {
    ID: engineId(engine),
    Containers: recs.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: recs.length - running - paused,
    Images: images, Driver: driver, DriverStatus: [['Backing Filesystem', backingFs(engine.paths.root)]],
    LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: cgv,
    KernelVersion: release(), OperatingSystem: os.PRETTY_NAME ?? 'Linux', OSVersion: os.VERSION_ID ?? '', OSType: 'linux',
    Architecture: machine(), NCPU: cpus().length, MemTotal: totalmem(), Name: hostname(), ServerVersion: version,
    DockerRootDir: engine.paths.root, StateRoot: engine.paths.stateRoot,
    Runtimes: { berth: { path: SHIM_PATH } }, DefaultRuntime: 'berth',
    SecurityOptions: ['name=seccomp,profile=builtin', ...(cgv === '2' ? ['name=cgroupns'] : [])],
    Debug: false, Warnings: warnings,
  };
}

function backingFs(dir: string): string {
  // the file system type of the root, from the longest matching mount point
  try {
    let best = '';
    let type = '';
    for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, mp, t] = l.split(' ');
      if (!mp || !t) continue;
      if ((dir === mp || dir.startsWith(mp.endsWith('/') ? mp : mp + '/')) && mp.length >= best.length) {
        best = mp;
        type = t;
      }
    }
    return type || 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- df

export interface DfImage {
  Id: string;
  RepoTags: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Containers: number;
}
export interface DfContainer {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: string;
  State: string;
  SizeRw: number;
  LocalVolumes: number;
  record: ContainerRecord;
}
export interface DfVolume {
  Name: string;
  Size: number;
  RefCount: number;
}
export interface SystemDf {
  Images: DfImage[];
  Containers: DfContainer[];
  Volumes: DfVolume[];
  /** Always empty: berth has no builder, so it never makes build cache (see dfSummary). */
  BuildCache: never[];
  LayersSize: number;
}

export async function systemDf(engine: Engine): Promise<SystemDf> {
  const recs = engine.list({ all: true });
  const byImage = new Map<string, number>();
  for (const c of recs) {
    const id = c.spec.annotations?.[ANN_IMAGE_ID];
    if (id) byImage.set(id, (byImage.get(id) ?? 0) + 1);
  }
  const im = engine.images;
  const images: DfImage[] = im.images.list().map((i) => ({ Id: i.Id, RepoTags: i.RepoTags, Created: i.Created, Size: i.Size, SharedSize: 0, Containers: byImage.get(i.Id) ?? 0 }));
  let usage: Awaited<ReturnType<typeof im.snapshotter.usage>> | undefined;
  try {
    usage = await im.snapshotter.usage();
  } catch {
    usage = undefined;
  }
  const rw = new Map((usage?.containers ?? []).map((c) => [c.id, c.bytes]));
  const containers: DfContainer[] = recs.map((c) => ({
    Id: c.id, Names: [`/${c.name}`], Image: c.image, Command: [...(c.config.Entrypoint ?? []), ...c.config.Cmd].join(' '), Created: c.created, State: c.state,
    SizeRw: rw.get(c.id) ?? 0, LocalVolumes: c.hostConfig.Mounts.filter((m) => m.Type === 'volume').length, record: c,
  }));
  const volumes: DfVolume[] = engine.store.volumes().map((v) => ({ Name: v.name, Size: duBytes(v.mountpoint), RefCount: engine.store.volumeUsers(v.name).length }));
  return { Images: images, Containers: containers, Volumes: volumes, BuildCache: [], LayersSize: usage?.layers.reduce((a, l) => a + l.bytes, 0) ?? 0 };
}

/** docker's summary rows: total, active, size, reclaimable. */
export function dfSummary(df: SystemDf): { Type: string; TotalCount: number; Active: number; Size: number; Reclaimable: number }[] {
  const imgActive = df.Images.filter((i) => i.Containers > 0);
  const ctrActive = df.Containers.filter((c) => isLive(c.State as ContainerRecord['state']));
  const volActive = df.Volumes.filter((v) => v.RefCount > 0);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return [
    { Type: 'Images', TotalCount: df.Images.length, Active: imgActive.length, Size: sum(df.Images.map((i) => i.Size)), Reclaimable: sum(df.Images.filter((i) => !i.Containers).map((i) => i.Size)) },
    { Type: 'Containers', TotalCount: df.Containers.length, Active: ctrActive.length, Size: sum(df.Containers.map((c) => c.SizeRw)), Reclaimable: sum(df.Containers.filter((c) => !isLive(c.State as ContainerRecord['state'])).map((c) => c.SizeRw)) },
    { Type: 'Local Volumes', TotalCount: df.Volumes.length, Active: volActive.length, Size: sum(df.Volumes.map((v) => v.Size)), Reclaimable: sum(df.Volumes.filter((v) => !v.RefCount).map((v) => v.Size)) },
    // docker prints this row, podman does not. berth keeps it with zeros because zeros are
    // the truth, not a placeholder: berth has no builder (no `build`, no BuildKit), so nothing
    // on disk is build cache -- every byte is counted in the rows above (commit's layers are
    // images). Scripts that read docker's four rows keep working. A builder must fill it in.
    { Type: 'Build Cache', TotalCount: 0, Active: 0, Size: 0, Reclaimable: 0 },
  ];
}

// ---------------------------------------------------------------- prune

export interface PruneOptions {
  /** Remove every image no container uses, not only dangling ones. */
  all?: boolean;
  /** Also remove unused anonymous volumes. */
  volumes?: boolean;
  /** docker's filters: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]. */
  filters?: Record<string, string[]>;
  /**
   * Prune networks too (default true, as docker). Networks are host-wide, shared by every --root:
   * false leaves them to `network prune` (a program with a private root, such as a test).
   */
  networks?: boolean;
}

export interface PruneReport {
  containers: string[];
  volumes: string[];
  images: { Untagged?: string; Deleted?: string }[];
  networks: string[];
  bytes: number;
}

/** A predicate over created time and labels from docker's prune filters (validated here). */
export function pruneFilter(filters: Record<string, string[]> = {}): (created: string, labels: Record<string, string>) => boolean {
  for (const k of Object.keys(filters)) {
    if (!['until', 'label', 'label!'].includes(k)) throw invalid(`invalid filter '${k}' (prune supports until, label and label!)`);
  }
  const until = (filters.until ?? []).map((u) => {
    const t = parseSince(u);
    if (t === null) throw invalid(`invalid filter 'until=${u}': use a timestamp (RFC 3339 or unix seconds) or a duration such as 24h`);
    return t;
  });
  const match = (labels: Record<string, string>, l: string) => {
    const i = l.indexOf('=');
    const k = i < 0 ? l : l.slice(0, i);
    return k in labels && (i < 0 || labels[k] === l.slice(i + 1));
  };
  return (created, labels) => {
    const c = parseRfc3339(created) ?? 0n;
    if (until.some((u) => c >= u)) return false;
    if ((filters.label ?? []).some((l) => !match(labels, l))) return false;
    if ((filters['label!'] ?? []).some((l) => match(labels, l))) return false;
    return true;
  };
}

export async function systemPrune(engine: Engine, o: PruneOptions = {}): Promise<PruneReport> {
  const keep = pruneFilter(o.filters);
  const report: PruneReport = { containers: [], volumes: [], images: [], networks: [], bytes: 0 };
  // stopped containers
  const df = await systemDf(engine);
  for (const c of df.Containers) {
    const rec = c.record;
    if (isLive(rec.state) || !keep(rec.created, rec.config.Labels)) continue;
    try {
      await engine.remove(rec.id);
      report.containers.push(rec.id);
      report.bytes += c.SizeRw;
    } catch {
      /* started or removed meanwhile */
    }
  }
  // networks no container uses (host-wide: see PruneOptions.networks)
  if (o.networks !== false) {
    // network prune takes "until" as a timestamp: the durations validated above become one
    const { until, ...rest } = o.filters ?? {};
    const first = until?.length ? until.map((u) => parseSince(u)!).reduce((a, b) => (b < a ? b : a)) : undefined;
    const netFilters = first === undefined ? rest : { ...rest, until: [new Date(Number(first / 1_000_000n)).toISOString()] };
    try {
      report.networks = await engine.networks.prune(netFilters);
    } catch (e) {
      if (e instanceof EngineError && e.kind === 'invalid') throw e;
      /* networking unavailable here */
    }
  }
  if (o.volumes) {
    for (const v of engine.store.volumes()) {
      if (!v.anonymous || engine.store.volumeUsers(v.name).length || !keep(v.created, v.labels)) continue;
      const size = duBytes(v.mountpoint);
      try {
        engine.removeVolume(v.name);
        report.volumes.push(v.name);
        report.bytes += size;
      } catch {
        /* in use meanwhile */
      }
    }
  }
  // images: dangling ones (no tag), or with all, every one no container uses
  const store = engine.images.images;
  const used = new Set(engine.list({ all: true }).map((c) => c.spec.annotations?.[ANN_IMAGE_ID]).filter(Boolean));
  for (const img of store.list()) {
    if (used.has(img.Id)) continue;
    if (!o.all && img.RepoTags.length) continue;
    let labels: Record<string, string> = {};
    let created = '';
    try {
      labels = img.Labels ?? {};
      created = new Date(img.Created * 1000).toISOString();
    } catch {
      /* no config */
    }
    if (!keep(created, labels)) continue;
    try {
      const res = await store.remove(img.Id);
      report.images.push(...res);
    } catch {
      /* in use meanwhile */
    }
  }
  report.bytes += (await collectImageGarbage(engine.images)).bytes;
  return report;
}
