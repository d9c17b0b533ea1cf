// What the three backends share: the create/update flow (validate, decide support, create,
// apply, roll back on failure) and warnings.
import type { LinuxDeviceCgroup, LinuxResources } from '../spec/types.js';
import { shimDeviceProgramLoader, type DeviceProgramLoader } from './devbpf.js';
import { CgroupError, type WarningSink } from './errors.js';
import type { Host } from './host.js';
import type { HostFs } from './hostfs.js';
import type { BerthCgroupManager, CgroupLayout, CgroupMountPlan, CgroupStats } from './manager.js';
import { checkSupport, type Support } from './support.js';
import { compileDeviceRules } from './v2/device-bpf.js';
import { validateResources } from './validate.js';

export interface BackendOptions {
  fs: HostFs;
  host: Host;
  onWarning?: WarningSink;
  /** Attaches cgroup v2 device programs (default: berth-shim devices-bpf). */
  devicePrograms?: DeviceProgramLoader;
  /** hybrid: also enforce device rules with an eBPF program on the unified-hierarchy cgroup. */
  hybridDeviceBpf?: boolean;
}

export abstract class BaseManager implements BerthCgroupManager {
  abstract readonly layout: CgroupLayout;
  abstract readonly path: string;
  readonly warnings: string[] = [];
  protected readonly fs: HostFs;
  protected readonly host: Host;
  private createdOnce = false;

  constructor(protected readonly opts: BackendOptions) {
    this.fs = opts.fs;
    this.host = opts.host;
  }

  /** Attach (or, for rules allowing everything, remove) the device program of a v2 directory. */
  protected applyDeviceProgram(dir: string, rules: LinuxDeviceCgroup[], update: boolean): void {
    const prog = compileDeviceRules(rules);
    if (prog.allowsAll && !update) return;
    (this.opts.devicePrograms ?? shimDeviceProgramLoader)(this.fs.real(dir), prog.allowsAll ? null : prog.code);
  }

  protected readonly warn = (message: string): void => {
    this.warnings.push(message);
    this.opts.onWarning?.(message);
  };

  protected abstract support(): Support;
  /** Create the directories; remember what was created for rollback and destroy. */
  protected abstract createDirs(r: LinuxResources): void;
  /** Remove what createDirs created (after a failure). */
  protected abstract rollback(): void;
  protected abstract apply(r: LinuxResources, update: boolean): void;

  create(resources: LinuxResources | undefined): void {
    if (this.createdOnce) throw new CgroupError(`cgroup ${this.path} was already created by this manager`);
    const r = resources ?? {};
    validateResources(r, this.host);
    checkSupport(r, this.support(), this.warn);
    this.createDirs(r);
    this.createdOnce = true;
    try {
      this.apply(r, false);
    } catch (e) {
      this.rollback();
      this.createdOnce = false;
      throw e;
    }
  }

  update(resources: LinuxResources): void {
    validateResources(resources, this.host, { update: true });
    checkSupport(resources, this.support(), this.warn);
    this.apply(resources, true);
  }

  abstract procsFiles(): string[];
  abstract pids(): number[];
  abstract freeze(): void;
  abstract thaw(): void;
  abstract isFrozen(): boolean;
  abstract kill(signal: NodeJS.Signals | number): void;
  abstract destroy(): void;
  abstract stats(): CgroupStats;
  abstract mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan;
  abstract dirs(): Record<string, string>;
  abstract oomKillCount(): number;
}

export function isSigkill(signal: NodeJS.Signals | number): boolean {
  return signal === 'SIGKILL' || signal === 9;
}
