// The cgroup v1 backend: one directory per mounted hierarchy (cpu and cpuacct may share one, as
// mountinfo says), resources applied in runc's controller order.
import type { LinuxResources } from '../../spec/types.js';
import { BaseManager, isSigkill, type BackendOptions } from '../base.js';
import { CgroupError } from '../errors.js';
import type { V1Hierarchy } from '../detect.js';
import type { CgroupMountPlan, CgroupStats } from '../manager.js';
import { planV1 } from '../mountplan.js';
import { cgroupPathIn, hostDir, type CgroupPath } from '../path.js';
import { applyRdma } from '../rdma.js';
import type { Support } from '../support.js';
import { collectPids, mkdirChain, removeCgroup, removeCreated, signalAll } from '../tree.js';
import type { ApplyCtx } from '../write.js';
import { applyBlkio } from './blkio.js';
import { applyCpu, applyCpuset, initCpuset } from './cpu.js';
import { applyDevices } from './devices.js';
import { freezeV1, isFrozenV1, thawV1 } from './freezer.js';
import { applyMemory, oomKills } from './memory.js';
import { applyHugetlbV1, applyNetCls, applyNetPrio, applyPids } from './small.js';
import { statsV1 } from './stats.js';

interface V1Dir {
  h: V1Hierarchy;
  /** Cgroup path in this hierarchy. */
  path: string;
  /** Host path of the container's directory. */
  dir: string;
  /** Directories this manager created, top-down. */
  created: string[];
}

export class V1Manager extends BaseManager {
  readonly layout: 'v1' | 'hybrid' = 'v1';
  readonly path: string;
  protected readonly hier: V1Dir[];

  constructor(opts: BackendOptions, p: CgroupPath) {
    super(opts);
    this.hier = opts.host.cgroups.v1.map((h) => {
      const path = cgroupPathIn(p, opts.host.ownCgroup(h.subsystems[0]!));
      return { h, path, dir: hostDir(h.mountpoint, h.root, path), created: [] };
    });
    const main = this.hier.find((d) => d.h.subsystems.includes('memory')) ?? this.hier[0];
    this.path = main ? main.path : p.path;
  }

  /** Host directory of the container in the hierarchy that has `subsystem`. */
  dirOf(subsystem: string): string | undefined {
    return this.hier.find((d) => d.h.subsystems.includes(subsystem))?.dir;
  }

  protected support(): Support {
    const controllers = new Set<string>();
    for (const d of this.hier) for (const s of d.h.subsystems) if (!s.startsWith('name=')) controllers.add(s);
    return { layout: this.layout, controllers, unifiedControllers: new Set() };
  }

  protected createDirs(r: LinuxResources): void {
    try {
      for (const d of this.hier) {
        const cpuset = d.h.subsystems.includes('cpuset');
        d.created = mkdirChain(this.fs, d.h.mountpoint, d.dir, {
          afterCreate: cpuset ? (dir, parent) => initCpuset({ fs: this.fs, dir, warn: this.warn, update: false }, parent, dir === d.dir ? r.cpu : undefined) : undefined,
        });
      }
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  protected rollback(): void {
    for (const d of [...this.hier].reverse()) {
      removeCreated(this.fs, d.created);
      d.created = [];
    }
  }

  private ctx(subsystem: string, update: boolean): ApplyCtx | undefined {
    const d = this.hier.find((x) => x.h.subsystems.includes(subsystem));
    if (!d) return undefined;
    return { fs: this.fs, dir: d.dir, warn: this.warn, update, fresh: !update && d.created[d.created.length - 1] === d.dir };
  }

  /** Huge page limits when there is no v1 hugetlb hierarchy (the hybrid backend overrides). */
  protected applyHugetlbElsewhere(_r: LinuxResources, _update: boolean): void {
    throw new CgroupError('the hugetlb controller is not mounted on this host', 'linux.resources.hugepageLimits');
  }

  protected apply(r: LinuxResources, update: boolean): void {
    const c = (s: string): ApplyCtx | undefined => this.ctx(s, update);
    let x: ApplyCtx | undefined;
    if (r.cpu && (x = c('cpuset'))) applyCpuset(x, r.cpu);
    if (r.devices && (x = c('devices'))) applyDevices(x, r.devices);
    if (r.memory && (x = c('memory'))) applyMemory(x, r.memory);
    if (r.cpu && (x = c('cpu'))) {
      const d = this.hier.find((h) => h.h.subsystems.includes('cpu'))!;
      applyCpu(x, r.cpu, d.created.filter((p) => p !== d.dir));
    }
    if (r.pids && (x = c('pids'))) applyPids(x, r.pids);
    if (r.blockIO && (x = c('blkio'))) applyBlkio(x, r.blockIO);
    if (r.hugepageLimits?.length) {
      if ((x = c('hugetlb'))) applyHugetlbV1(x, r.hugepageLimits);
      else this.applyHugetlbElsewhere(r, update);
    }
    if (r.network && (x = c('net_cls'))) applyNetCls(x, r.network);
    if (r.network && (x = c('net_prio'))) applyNetPrio(x, r.network);
    if (r.rdma && (x = c('rdma'))) applyRdma(x, r.rdma);
  }

  procsFiles(): string[] {
    return this.hier.map((d) => this.fs.real(`${d.dir}/cgroup.procs`));
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const d of this.hier) collectPids(this.fs, d.dir, all);
    return [...all].sort((a, b) => a - b);
  }

  private freezerDir(): string {
    const dir = this.dirOf('freezer');
    if (!dir) throw new CgroupError('the freezer controller is not mounted on this host, so the container cannot be paused');
    return dir;
  }

  freeze(): void {
    freezeV1(this.fs, this.freezerDir());
  }

  thaw(): void {
    thawV1(this.fs, this.freezerDir());
  }

  isFrozen(): boolean {
    const dir = this.dirOf('freezer');
    return dir !== undefined && isFrozenV1(this.fs, dir);
  }

  kill(signal: NodeJS.Signals | number): void {
    const freezer = this.dirOf('freezer');
    if (!isSigkill(signal) || !freezer || !this.fs.exists(freezer)) {
      signalAll(this.pids(), signal);
      return;
    }
    // Freeze first so no process forks past the signal, as runc does.
    freezeV1(this.fs, freezer);
    try {
      signalAll(this.pids(), signal);
    } finally {
      thawV1(this.fs, freezer);
    }
  }

  destroy(): void {
    let first: unknown;
    for (const d of this.hier) {
      try {
        removeCgroup(this.fs, d.dir);
        removeCreated(this.fs, d.created.filter((p) => p !== d.dir));
        d.created = [];
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  stats(): CgroupStats {
    return statsV1(this.fs, (s) => this.dirOf(s));
  }

  oomKillCount(): number {
    const dir = this.dirOf('memory');
    return dir ? oomKills({ fs: this.fs, dir }) : 0;
  }

  protected unifiedSource(): string | null {
    return null;
  }

  mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan {
    const hs = this.hier.map((d) => ({
      subsystems: d.h.subsystems,
      name: d.h.mountpoint.slice(d.h.mountpoint.lastIndexOf('/') + 1),
      source: this.fs.real(d.dir),
    }));
    return planV1(destination, hs, this.unifiedSource(), hasCgroupNs);
  }

  dirs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const d of this.hier) for (const s of d.h.subsystems) out[s] = this.fs.real(d.dir);
    return out;
  }
}
