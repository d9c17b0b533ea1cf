// The hybrid backend: the v1 hierarchies for resources, plus the same path in the cgroup v2
// mount (/sys/fs/cgroup/unified) for what v2 does better even without controllers:
// cgroup.kill, cgroup.freeze + cgroup.events, PSI. Controllers that live only in the v2
// hierarchy (on this host: hugetlb) are used there. If the v2 directory cannot be created and
// nothing needs it, this degrades to v1 (kill by pids, v1 freezer) with a warning. On request
// (hybridDeviceBpf) the device rules are enforced twice: by the v1 devices controller and by an
// eBPF device program on the unified-hierarchy cgroup, which the kernel also runs.
import type { LinuxResources } from '../spec/types.js';
import type { BackendOptions } from './base.js';
import { isSigkill } from './base.js';
import { CgroupError } from './errors.js';
import type { CgroupStats } from './manager.js';
import { cgroupPathIn, hostDir, type CgroupPath } from './path.js';
import type { Support } from './support.js';
import { collectPids, mkdirChain, removeCgroup, removeCreated } from './tree.js';
import { V1Manager } from './v1/manager.js';
import { isFrozenV2, killAllV2, pressure, setFrozenV2 } from './v2/core.js';
import { enableControllers } from './v2/manager.js';
import { applyHugetlbV2, applyUnified } from './v2/small.js';

export class HybridManager extends V1Manager {
  override readonly layout = 'hybrid' as const;
  private readonly u: { mountpoint: string; path: string; dir: string; created: string[] };

  constructor(opts: BackendOptions, p: CgroupPath) {
    super(opts, p);
    const m = opts.host.cgroups.unified!;
    const path = cgroupPathIn(p, opts.host.ownCgroup(''));
    this.u = { mountpoint: m.mountpoint, path, dir: hostDir(m.mountpoint, m.root, path), created: [] };
  }

  /** Host path of the container's directory in the unified hierarchy. */
  get unifiedDir(): string {
    return this.u.dir;
  }

  private ready(): boolean {
    return this.fs.exists(this.u.dir);
  }

  protected override support(): Support {
    return { ...super.support(), unifiedControllers: this.host.unifiedControllers() };
  }

  /** Controllers the unified hierarchy must provide for these resources. */
  private unifiedNeeds(r: LinuxResources): Set<string> {
    const need = new Set<string>();
    if (r.hugepageLimits?.length && !this.dirOf('hugetlb')) need.add('hugetlb');
    for (const key of Object.keys(r.unified ?? {})) {
      const ctl = key.slice(0, key.indexOf('.'));
      if (ctl !== 'cgroup') need.add(ctl);
    }
    return need;
  }

  private enableChain(want: Set<string>, create: boolean): void {
    const beforeChild = (parent: string): void => enableControllers(this.fs, parent, want, parent === this.u.mountpoint);
    if (create) {
      this.u.created = mkdirChain(this.fs, this.u.mountpoint, this.u.dir, want.size ? { beforeChild } : {});
      return;
    }
    let cur = this.u.mountpoint;
    for (const seg of this.u.dir.slice(cur.length).split('/').filter(Boolean)) {
      beforeChild(cur);
      cur = `${cur}/${seg}`;
    }
  }

  protected override createDirs(r: LinuxResources): void {
    super.createDirs(r);
    const need = this.unifiedNeeds(r);
    try {
      this.enableChain(need, true);
    } catch (e) {
      if (need.size > 0 || this.wantsDeviceBpf(r)) {
        super.rollback();
        throw e;
      }
      this.warn(`cannot create ${this.fs.real(this.u.dir)} in the cgroup v2 hierarchy (${(e as Error).message}); kill and freeze use cgroup v1, and there is no pressure information`);
    }
  }

  /** hybridDeviceBpf: the device rules are also enforced by an eBPF program on the unified cgroup. */
  private wantsDeviceBpf(r: LinuxResources): boolean {
    return !!this.opts.hybridDeviceBpf && r.devices !== undefined;
  }

  protected override rollback(): void {
    removeCreated(this.fs, this.u.created);
    this.u.created = [];
    super.rollback();
  }

  protected override applyHugetlbElsewhere(r: LinuxResources, update: boolean): void {
    if (!this.host.unifiedControllers().has('hugetlb')) super.applyHugetlbElsewhere(r, update);
    if (update) this.enableChain(new Set(['hugetlb']), false);
    applyHugetlbV2({ fs: this.fs, dir: this.u.dir, warn: this.warn, update }, r.hugepageLimits ?? []);
  }

  protected override apply(r: LinuxResources, update: boolean): void {
    super.apply(r, update);
    if (r.unified && Object.keys(r.unified).length) {
      if (!this.ready()) throw new CgroupError(`${this.fs.real(this.u.dir)} does not exist`, 'linux.resources.unified');
      if (update) this.enableChain(this.unifiedNeeds({ unified: r.unified }), false);
      applyUnified({ fs: this.fs, dir: this.u.dir, warn: this.warn, update }, r.unified);
    }
    if (this.wantsDeviceBpf(r)) {
      if (!this.ready()) throw new CgroupError(`${this.fs.real(this.u.dir)} does not exist, so no eBPF device program can be attached (hybridDeviceBpf)`, 'linux.resources.devices');
      this.applyDeviceProgram(this.u.dir, r.devices!, update);
    }
  }

  override procsFiles(): string[] {
    const files = super.procsFiles();
    if (this.ready()) files.push(this.fs.real(`${this.u.dir}/cgroup.procs`));
    return files;
  }

  override pids(): number[] {
    const all = new Set(super.pids());
    collectPids(this.fs, this.u.dir, all);
    return [...all].sort((a, b) => a - b);
  }

  override freeze(): void {
    if (this.ready()) setFrozenV2(this.fs, this.u.dir, true);
    else super.freeze();
  }

  override thaw(): void {
    if (this.ready() && isFrozenV2(this.fs, this.u.dir)) setFrozenV2(this.fs, this.u.dir, false);
    if (super.isFrozen()) super.thaw();
  }

  override isFrozen(): boolean {
    return (this.ready() && isFrozenV2(this.fs, this.u.dir)) || super.isFrozen();
  }

  override kill(signal: NodeJS.Signals | number): void {
    if (isSigkill(signal) && this.ready() && killAllV2(this.fs, this.u.dir)) return;
    super.kill(signal);
  }

  override destroy(): void {
    let first: unknown;
    try {
      super.destroy();
    } catch (e) {
      first = e;
    }
    try {
      removeCgroup(this.fs, this.u.dir);
      removeCreated(this.fs, this.u.created.filter((d) => d !== this.u.dir));
      this.u.created = [];
    } catch (e) {
      first ??= e;
    }
    if (first) throw first;
  }

  override stats(): CgroupStats {
    const s = super.stats();
    const p = this.ready() ? pressure(this.fs, this.u.dir) : undefined;
    if (p) s.pressure = p;
    return s;
  }

  protected override unifiedSource(): string | null {
    return this.ready() ? this.fs.real(this.u.dir) : null;
  }

  override dirs(): Record<string, string> {
    const d = super.dirs();
    if (this.ready()) d.unified = this.fs.real(this.u.dir);
    return d;
  }
}
