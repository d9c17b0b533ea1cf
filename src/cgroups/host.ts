// Facts about the host that do not change while a process runs, read once per process (per fs
// root) and cached: the cgroup layout, the process's own cgroups, the cpus/mems of the root
// cpuset, the huge page sizes, the v2 root's controllers, whether systemd runs.
import { parseMountinfo, parseProcCgroup, type CgroupHost, type V1Hierarchy } from './detect.js';
import { HostFs } from './hostfs.js';
import { CgroupError } from './errors.js';

export interface HostFacts {
  /** CPUs of the root cpuset, list format ("0-3"). */
  cpus(): string;
  /** Memory nodes of the root cpuset, list format ("0"). */
  mems(): string;
  blockDeviceExists(major: number, minor: number): boolean;
  /** Huge page sizes in cgroup notation: ["2MB", "1GB"]. */
  hugepageSizes(): string[];
}

export class Host implements HostFacts {
  readonly cgroups: CgroupHost;
  private own?: Map<string, string>;
  private cpuList?: string;
  private memList?: string;
  private hugeSizes?: string[];
  private v2Controllers?: Set<string>;

  constructor(readonly fs: HostFs) {
    const text = fs.tryRead('/proc/self/mountinfo');
    if (text === undefined) throw new CgroupError(`cannot read ${fs.real('/proc/self/mountinfo')}; is /proc mounted?`);
    this.cgroups = parseMountinfo(text);
  }

  /** The v1 hierarchy that has `subsystem` ("memory", "name=systemd"), if mounted. */
  hierarchy(subsystem: string): V1Hierarchy | undefined {
    return this.cgroups.v1.find((h) => h.subsystems.includes(subsystem));
  }

  /** The calling process's cgroup in a hierarchy ("" = the v2 hierarchy). */
  ownCgroup(subsystem: string): string | undefined {
    this.own ??= parseProcCgroup(this.fs.tryRead('/proc/self/cgroup') ?? '');
    return this.own.get(subsystem);
  }

  /** Controllers of the v2 root (cgroup.controllers of the cgroup2 mount). */
  unifiedControllers(): Set<string> {
    if (!this.v2Controllers) {
      const u = this.cgroups.unified;
      const text = u ? this.fs.tryRead(`${u.mountpoint}/cgroup.controllers`) ?? '' : '';
      this.v2Controllers = new Set(text.split(/\s+/).filter(Boolean));
    }
    return this.v2Controllers;
  }

  private rootCpuset(file: 'cpus' | 'mems'): string {
    const h = this.hierarchy('cpuset');
    let text: string | undefined;
    if (h) text = this.fs.tryRead(`${h.mountpoint}/cpuset.effective_${file}`) ?? this.fs.tryRead(`${h.mountpoint}/cpuset.${file}`);
    else if (this.cgroups.unified) text = this.fs.tryRead(`${this.cgroups.unified.mountpoint}/cpuset.${file}.effective`);
    if (text === undefined) {
      text = file === 'cpus' ? this.fs.tryRead('/sys/devices/system/cpu/online') : this.fs.tryRead('/sys/devices/system/node/online');
    }
    return (text ?? (file === 'mems' ? '0' : '')).trim();
  }

  cpus(): string {
    return (this.cpuList ??= this.rootCpuset('cpus'));
  }

  mems(): string {
    return (this.memList ??= this.rootCpuset('mems'));
  }

  blockDeviceExists(major: number, minor: number): boolean {
    return this.fs.exists(`/sys/dev/block/${major}:${minor}`);
  }

  hugepageSizes(): string[] {
    if (!this.hugeSizes) {
      this.hugeSizes = [];
      for (const d of this.fs.list('/sys/kernel/mm/hugepages')) {
        const m = /^hugepages-(\d+)kB$/.exec(d);
        if (m) this.hugeSizes.push(hugepageSizeName(Number(m[1]) * 1024));
      }
    }
    return this.hugeSizes;
  }

  systemdRunning(): boolean {
    return this.fs.exists('/run/systemd/system');
  }
}

/** 2097152 -> "2MB", 1073741824 -> "1GB", 65536 -> "64KB" (the kernel's hugetlb file names). */
export function hugepageSizeName(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return `${bytes}${units[i]}`;
}

const hosts = new Map<string, Host>();

/** The cached Host for a fs root ("" = the real host); a custom HostFs subclass gets its own. */
export function hostFor(fs: HostFs): Host {
  const cached = hosts.get(fs.root);
  const plain = (x: HostFs): boolean => x.constructor === HostFs;
  if (cached && (cached.fs === fs || (plain(fs) && plain(cached.fs)))) return cached;
  const h = new Host(fs);
  hosts.set(fs.root, h);
  return h;
}

/** Forget cached host facts (tests that rebuild a fake tree, or after remounting cgroups). */
export function clearHostCache(): void {
  hosts.clear();
}

/** True when the device (or, without one, any block device) uses the bfq I/O scheduler. */
export function usesBfq(fs: HostFs, dev?: { major: number; minor: number }): boolean {
  const sched = (path: string): boolean => /\[bfq\]/.test(fs.tryRead(path) ?? '');
  if (dev) return sched(`/sys/dev/block/${dev.major}:${dev.minor}/queue/scheduler`);
  return fs.list('/sys/block').some((d) => sched(`/sys/block/${d}/queue/scheduler`));
}
