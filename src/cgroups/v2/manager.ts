// The cgroup v2 backend: one directory in the unified hierarchy. Controllers are enabled in
// each ancestor's cgroup.subtree_control on the way down; processes may live only in leaves
// ("no internal processes"), which is checked with a clear error before the kernel's EBUSY.
import type { LinuxResources } from '../../spec/types.js';
import { BaseManager, isSigkill, type BackendOptions } from '../base.js';
import { CgroupError, errnoOf } from '../errors.js';
import type { CgroupMountPlan, CgroupStats } from '../manager.js';
import { planV2 } from '../mountplan.js';
import { parsePids } from '../parse.js';
import { cgroupPathIn, hostDir, type CgroupPath } from '../path.js';
import { requiredControllers, type Support } from '../support.js';
import { collectPids, mkdirChain, removeCgroup, removeCreated, signalAll } from '../tree.js';
import { writeError, type ApplyCtx } from '../write.js';
import { isFrozenV2, killAllV2, setFrozenV2 } from './core.js';
import { applyCpusetV2, applyCpuV2 } from './cpu.js';
import { applyIoV2 } from './io.js';
import { applyMemoryV2, oomKillsV2 } from './memory.js';
import { applyHugetlbV2, applyPidsV2, applyUnified } from './small.js';
import { applyRdma } from '../rdma.js';
import { statsV2 } from './stats.js';
import type { HostFs } from '../hostfs.js';

/** Enabled for every container when available, so stats() and later update() work. */
const BASE_CONTROLLERS = ['cpu', 'io', 'memory', 'pids'];

const words = (s: string | undefined): Set<string> => new Set((s ?? '').split(/\s+/).filter(Boolean));

/**
 * Enable `want` in `parent`'s cgroup.subtree_control (only the missing ones). `isRoot`: the
 * hierarchy root, which may hold processes.
 */
export function enableControllers(fs: HostFs, parent: string, want: Iterable<string>, isRoot: boolean): void {
  const enabled = words(fs.tryRead(`${parent}/cgroup.subtree_control`));
  const missing = [...want].filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  const available = words(fs.tryRead(`${parent}/cgroup.controllers`));
  const absent = missing.filter((c) => !available.has(c));
  if (absent.length > 0) {
    throw new CgroupError(`the ${absent.join(', ')} controller${absent.length > 1 ? 's are' : ' is'} not available in ${fs.real(parent)} (not enabled in its parent's cgroup.subtree_control)`);
  }
  if (!isRoot && parsePids(fs.tryRead(`${parent}/cgroup.procs`)).length > 0) {
    throw new CgroupError(`cannot enable controllers in ${fs.real(parent)}: it has processes, and cgroup v2 allows processes only in leaf cgroups; place the container's cgroup (linux.cgroupsPath) beside them, not below them`, 'linux.cgroupsPath');
  }
  const text = missing.map((c) => `+${c}`).join(' ');
  try {
    fs.write(`${parent}/cgroup.subtree_control`, text);
  } catch (e) {
    const hint = errnoOf(e) === 'EBUSY' ? 'the cgroup has processes (cgroup v2 allows processes only in leaves)' : undefined;
    throw writeError(fs, `${parent}/cgroup.subtree_control`, text, 'linux.cgroupsPath', e, hint);
  }
}

export class V2Manager extends BaseManager {
  readonly layout = 'v2' as const;
  readonly path: string;
  /** Host path of the container's cgroup. */
  readonly dir: string;
  private readonly mountpoint: string;
  private created: string[] = [];

  constructor(opts: BackendOptions, p: CgroupPath) {
    super(opts);
    const u = opts.host.cgroups.unified;
    if (!u) throw new CgroupError('this host has no cgroup v2 hierarchy');
    this.mountpoint = u.mountpoint;
    this.path = cgroupPathIn(p, opts.host.ownCgroup(''));
    this.dir = hostDir(u.mountpoint, u.root, this.path);
  }

  protected support(): Support {
    return { layout: 'v2', controllers: this.host.unifiedControllers(), unifiedControllers: new Set() };
  }

  private wanted(r: LinuxResources): Set<string> {
    const avail = this.host.unifiedControllers();
    const want = new Set(BASE_CONTROLLERS.filter((c) => avail.has(c)));
    for (const c of requiredControllers(r, true).keys()) want.add(c);
    return want;
  }

  private enableChain(want: Set<string>): void {
    const rest = this.dir.slice(this.mountpoint.length).split('/').filter(Boolean);
    let cur = this.mountpoint;
    for (const seg of rest) {
      enableControllers(this.fs, cur, want, cur === this.mountpoint);
      cur = `${cur}/${seg}`;
    }
  }

  protected createDirs(r: LinuxResources): void {
    const want = this.wanted(r);
    const existed = this.fs.exists(this.dir);
    if (existed && words(this.fs.tryRead(`${this.dir}/cgroup.subtree_control`)).size > 0) {
      throw new CgroupError(`${this.fs.real(this.dir)} already exists and has controllers enabled for child cgroups, so processes cannot join it (cgroup v2 allows processes only in leaves); use another path`, 'linux.cgroupsPath');
    }
    this.created = mkdirChain(this.fs, this.mountpoint, this.dir, {
      beforeChild: (parent) => enableControllers(this.fs, parent, want, parent === this.mountpoint),
    });
  }

  protected rollback(): void {
    removeCreated(this.fs, this.created);
    this.created = [];
  }

  protected apply(r: LinuxResources, update: boolean): void {
    if (update) {
      const want = this.wanted(r);
      const have = words(this.fs.tryRead(`${this.dir}/cgroup.controllers`));
      if ([...want].some((c) => !have.has(c))) this.enableChain(want);
    }
    const ctx: ApplyCtx = { fs: this.fs, dir: this.dir, warn: this.warn, update };
    if (r.pids) applyPidsV2(ctx, r.pids);
    if (r.memory) applyMemoryV2(ctx, r.memory);
    if (r.blockIO) applyIoV2(ctx, r.blockIO);
    if (r.cpu) applyCpuV2(ctx, r.cpu);
    if (r.hugepageLimits?.length) applyHugetlbV2(ctx, r.hugepageLimits);
    if (r.rdma) applyRdma(ctx, r.rdma);
    if (r.cpu) applyCpusetV2(ctx, r.cpu);
    if (r.unified) applyUnified(ctx, r.unified);
    if (r.devices) this.applyDeviceProgram(this.dir, r.devices, update);
  }

  procsFiles(): string[] {
    return [this.fs.real(`${this.dir}/cgroup.procs`)];
  }

  pids(): number[] {
    return collectPids(this.fs, this.dir);
  }

  freeze(): void {
    setFrozenV2(this.fs, this.dir, true);
  }

  thaw(): void {
    setFrozenV2(this.fs, this.dir, false);
  }

  isFrozen(): boolean {
    return isFrozenV2(this.fs, this.dir);
  }

  kill(signal: NodeJS.Signals | number): void {
    if (isSigkill(signal) && killAllV2(this.fs, this.dir)) return;
    signalAll(this.pids(), signal);
  }

  destroy(): void {
    removeCgroup(this.fs, this.dir);
    removeCreated(this.fs, this.created.filter((d) => d !== this.dir));
    this.created = [];
  }

  stats(): CgroupStats {
    return statsV2(this.fs, this.dir);
  }

  oomKillCount(): number {
    return oomKillsV2({ fs: this.fs, dir: this.dir });
  }

  mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan {
    return planV2(destination, this.fs.real(this.dir), hasCgroupNs);
  }

  dirs(): Record<string, string> {
    return { unified: this.fs.real(this.dir) };
  }
}
