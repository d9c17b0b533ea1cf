// A fake cgroupfs in a directory, for tests and dry runs: mkdir fills new cgroups with the
// files the kernel would create, and writes to the special files act like the kernel (controller
// enabling with the leaf rule, cgroup.procs, freezing, cgroup.kill, devices lists, keyed files).
// Every write is journaled in `writes`. Not imported by index.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { emulate, normalizeDeviceRule, parseDevicesList, type DeviceState } from './devices.js';
import { HostFs } from './hostfs.js';

export interface FakeHostSpec {
  layout: 'v1' | 'v2' | 'hybrid';
  /** v1/hybrid hierarchies; default: cpu,cpuacct co-mounted, cpuset, memory, devices, freezer, blkio, pids, name=systemd. */
  v1?: string[][];
  /** Controllers of the v2 root (v2) or of the unified mount (hybrid). */
  v2Controllers?: string[];
  cpus?: string;
  mems?: string;
  /** Block devices, "8:0". */
  blockDevices?: string[];
  hugepageSizesKb?: number[];
  /** /proc/self/cgroup path of the calling process, for every hierarchy. */
  ownCgroup?: string;
  systemd?: boolean;
  /** v1 files to leave out (e.g. "memory.memsw.limit_in_bytes" = swap accounting off). */
  missing?: string[];
}

interface Mount {
  mountpoint: string;
  v2: boolean;
  subsystems: string[];
}

const errno = (code: string, path: string): Error => Object.assign(new Error(`${code}: ${path}`), { code });
const DEFAULT_V1 = [['cpu', 'cpuacct'], ['cpuset'], ['memory'], ['devices'], ['freezer'], ['blkio'], ['pids'], ['name=systemd']];
const KEYED = new Set(['io.max', 'rdma.max', 'io.weight', 'io.bfq.weight', 'net_prio.ifpriomap', 'blkio.bfq.weight_device', 'blkio.weight_device',
  'blkio.throttle.read_bps_device', 'blkio.throttle.write_bps_device', 'blkio.throttle.read_iops_device', 'blkio.throttle.write_iops_device']);
const UNLIMITED = '9223372036854771712';

export class FakeCgroupFs extends HostFs {
  readonly writes: { path: string; data: string }[] = [];
  readonly mounts: Mount[] = [];

  constructor(root: string, readonly spec: FakeHostSpec) {
    super(root);
  }

  private mountOf(path: string): Mount | undefined {
    return this.mounts.find((m) => path === m.mountpoint || path.startsWith(m.mountpoint + '/'));
  }

  private put(path: string, text: string): void {
    writeFileSync(this.real(path), text);
  }

  private hugeSizes(): string[] {
    return (this.spec.hugepageSizesKb ?? [2048]).map((kb) => (kb >= 1048576 ? `${kb / 1048576}GB` : `${kb / 1024}MB`));
  }

  /** The files the kernel creates in a new cgroup. */
  populate(dir: string, m: Mount, root: boolean): void {
    const files: Record<string, string> = { 'cgroup.procs': '' };
    const miss = new Set(this.spec.missing ?? []);
    if (m.v2) {
      const parent = dir.slice(0, dir.lastIndexOf('/'));
      const ctl = root ? (this.spec.v2Controllers ?? []).join(' ') : this.read(`${parent}/cgroup.subtree_control`).trim();
      Object.assign(files, {
        'cgroup.controllers': ctl, 'cgroup.subtree_control': '', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.type': 'domain',
        'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n', 'cpu.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
        'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'io.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      });
      if (!root) Object.assign(files, { 'cgroup.freeze': '0', 'cgroup.kill': '' });
      this.controllerFiles(files, ctl.split(' ').filter(Boolean), root);
    } else {
      Object.assign(files, { tasks: '', notify_on_release: '0', 'cgroup.clone_children': '0' });
      this.controllerFiles(files, m.subsystems, root, dir);
    }
    for (const [f, text] of Object.entries(files)) if (!miss.has(f)) this.put(`${dir}/${f}`, text);
  }

  private controllerFiles(files: Record<string, string>, ctls: string[], root: boolean, v1Dir?: string): void {
    for (const c of ctls) {
      if (v1Dir === undefined) {
        if (c === 'memory' && !root) Object.assign(files, { 'memory.max': 'max', 'memory.low': '0', 'memory.high': 'max', 'memory.swap.max': 'max', 'memory.current': '0', 'memory.peak': '0', 'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' });
        if (c === 'cpu' && !root) Object.assign(files, { 'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0' });
        if (c === 'cpuset') Object.assign(files, root ? { 'cpuset.cpus.effective': this.spec.cpus ?? '0-3', 'cpuset.mems.effective': this.spec.mems ?? '0' } : { 'cpuset.cpus': '', 'cpuset.mems': '' });
        if (c === 'io' && !root) Object.assign(files, { 'io.max': '', 'io.weight': 'default 100', 'io.stat': '' });
        if (c === 'pids' && !root) Object.assign(files, { 'pids.max': 'max', 'pids.current': '0' });
        if (c === 'hugetlb' && !root) for (const s of this.hugeSizes()) files[`hugetlb.${s}.max`] = 'max';
        if (c === 'rdma' && !root) files['rdma.max'] = '';
        continue;
      }
      if (c === 'cpu') Object.assign(files, { 'cpu.shares': '1024', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_period_us': '100000', 'cpu.cfs_burst_us': '0', 'cpu.rt_runtime_us': root ? '950000' : '0', 'cpu.rt_period_us': '1000000', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' });
      if (c === 'cpuacct') Object.assign(files, { 'cpuacct.usage': '0', 'cpuacct.usage_user': '0', 'cpuacct.usage_sys': '0', 'cpuacct.stat': 'user 0\nsystem 0\n' });
      if (c === 'cpuset') Object.assign(files, root ? { 'cpuset.cpus': this.spec.cpus ?? '0-3', 'cpuset.mems': this.spec.mems ?? '0', 'cpuset.effective_cpus': this.spec.cpus ?? '0-3', 'cpuset.effective_mems': this.spec.mems ?? '0' } : { 'cpuset.cpus': '', 'cpuset.mems': '' });
      if (c === 'memory') {
        Object.assign(files, {
          'memory.limit_in_bytes': UNLIMITED, 'memory.memsw.limit_in_bytes': UNLIMITED, 'memory.soft_limit_in_bytes': UNLIMITED,
          'memory.kmem.limit_in_bytes': UNLIMITED, 'memory.kmem.tcp.limit_in_bytes': UNLIMITED, 'memory.swappiness': '60', 'memory.use_hierarchy': '1',
          'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 'memory.usage_in_bytes': '0', 'memory.max_usage_in_bytes': '0', 'memory.failcnt': '0',
        });
      }
      if (c === 'devices') {
        const parent = v1Dir.slice(0, v1Dir.lastIndexOf('/'));
        Object.assign(files, { 'devices.allow': '', 'devices.deny': '', 'devices.list': root ? 'a *:* rwm\n' : this.read(`${parent}/devices.list`) });
      }
      if (c === 'freezer' && !root) files['freezer.state'] = 'THAWED';
      if (c === 'blkio') {
        Object.assign(files, { 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '', 'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '', 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n' });
        if (!root) Object.assign(files, { 'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': '' });
      }
      if (c === 'pids' && !root) Object.assign(files, { 'pids.max': 'max', 'pids.current': '0' });
      if (c === 'hugetlb') for (const s of this.hugeSizes()) files[`hugetlb.${s}.limit_in_bytes`] = UNLIMITED;
      if (c === 'net_cls') files['net_cls.classid'] = '0';
      if (c === 'net_prio') files['net_prio.ifpriomap'] = '';
      if (c === 'rdma' && !root) files['rdma.max'] = '';
    }
  }

  override mkdir(path: string): boolean {
    const made = super.mkdir(path);
    const m = this.mountOf(path);
    if (made && m && path !== m.mountpoint) this.populate(path, m, false);
    return made;
  }

  override rmdir(path: string): void {
    const m = this.mountOf(path);
    if (!m) return super.rmdir(path);
    if (this.subdirs(path).length > 0 || (this.tryRead(`${path}/cgroup.procs`) ?? '').trim() !== '') throw errno('EBUSY', path);
    if (!this.exists(path)) throw errno('ENOENT', path);
    rmSync(this.real(path), { recursive: true });
  }

  override write(path: string, data: string): void {
    this.writes.push({ path, data });
    const file = path.slice(path.lastIndexOf('/') + 1);
    const dir = path.slice(0, path.lastIndexOf('/'));
    const m = this.mountOf(path);
    if (!m || !this.exists(path)) return super.write(path, data);
    const isRoot = dir === m.mountpoint;
    if (m.v2 && file === 'cgroup.subtree_control') {
      const enabled = new Set(this.read(path).split(/\s+/).filter(Boolean));
      const avail = new Set(this.read(`${dir}/cgroup.controllers`).split(/\s+/).filter(Boolean));
      if (!isRoot && this.read(`${dir}/cgroup.procs`).trim() !== '') throw errno('EBUSY', path);
      for (const tok of data.split(/\s+/).filter(Boolean)) {
        const c = tok.slice(1);
        if (!avail.has(c)) throw errno('ENOENT', path);
        if (tok.startsWith('+')) enabled.add(c);
        else enabled.delete(c);
      }
      super.write(path, [...enabled].join(' '));
      for (const child of this.subdirs(dir)) {
        const files: Record<string, string> = {};
        this.controllerFiles(files, [...enabled], false);
        this.put(`${dir}/${child}/cgroup.controllers`, [...enabled].join(' '));
        for (const [f, t] of Object.entries(files)) if (!this.exists(`${dir}/${child}/${f}`)) this.put(`${dir}/${child}/${f}`, t);
      }
      return;
    }
    if (file === 'cgroup.procs') {
      if (m.v2 && !isRoot && this.read(`${dir}/cgroup.subtree_control`).trim() !== '') throw errno('EBUSY', path);
      return this.put(path, this.read(path) + data.trim() + '\n');
    }
    if (file === 'cgroup.freeze') {
      super.write(path, data);
      return this.put(`${dir}/cgroup.events`, `populated 0\nfrozen ${data.trim()}\n`);
    }
    if (file === 'cgroup.kill') {
      const clear = (d: string): void => {
        this.put(`${d}/cgroup.procs`, '');
        for (const c of this.subdirs(d)) clear(`${d}/${c}`);
      };
      return clear(dir);
    }
    if (file === 'devices.allow' || file === 'devices.deny') {
      const cur = parseDevicesList(this.read(`${dir}/devices.list`)).state;
      const [t, mm = '*:*', acc = 'rwm'] = data.trim().split(' ');
      const [maj, min] = mm.split(':');
      const n = (s: string | undefined): number | undefined => (s === '*' || s === undefined ? undefined : Number(s));
      const rule = normalizeDeviceRule({ allow: file === 'devices.allow', type: t, major: n(maj), minor: n(min), access: t === 'a' ? 'rwm' : acc }, 0);
      const st: DeviceState = emulate([rule], cur);
      const list = st.defaultAllow ? 'a *:* rwm\n' : [...st.exceptions].map(([k, a]) => `${k} ${a}\n`).join('');
      return this.put(`${dir}/devices.list`, list);
    }
    if (KEYED.has(file) && data.includes(' ')) {
      const key = data.trim().split(' ')[0]!;
      const lines = this.read(path).split('\n').filter((l) => l !== '' && l.split(' ')[0] !== key);
      lines.push(data.trim());
      return this.put(path, lines.join('\n') + '\n');
    }
    super.write(path, data);
  }
}

/** Build a fake host under `root` (an empty temp dir) and return its file door. */
export function buildFakeHost(root: string, spec: FakeHostSpec): FakeCgroupFs {
  const fs = new FakeCgroupFs(root, spec);
  const mk = (p: string): void => void mkdirSync(root + p, { recursive: true });
  const info: string[] = ['22 1 0:21 / /proc rw,relatime - proc proc rw', '23 1 0:22 / /sys rw,relatime - sysfs sysfs rw'];
  const own = spec.ownCgroup ?? '/';
  const procCgroup: string[] = [];
  let id = 30;
  if (spec.layout !== 'v2') {
    info.push(`${id++} 23 0:25 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755`);
    (spec.v1 ?? DEFAULT_V1).forEach((subs, i) => {
      const name = subs.length === 1 && subs[0]!.startsWith('name=') ? subs[0]!.slice(5) : subs.join(',');
      const mountpoint = `/sys/fs/cgroup/${name}`;
      info.push(`${id++} 30 0:${40 + i} / ${mountpoint} rw,nosuid,nodev,noexec,relatime shared:${i + 5} - cgroup cgroup rw,${subs.join(',')}`);
      procCgroup.push(`${i + 1}:${subs.join(',')}:${own}`);
      fs.mounts.push({ mountpoint, v2: false, subsystems: subs });
    });
  }
  if (spec.layout !== 'v1') {
    const mountpoint = spec.layout === 'v2' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
    info.push(`${id++} 23 0:26 / ${mountpoint} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate`);
    procCgroup.push(`0::${own}`);
    fs.mounts.push({ mountpoint, v2: true, subsystems: [] });
  }
  mk('/proc/self');
  writeFileSync(root + '/proc/self/mountinfo', info.join('\n') + '\n');
  writeFileSync(root + '/proc/self/cgroup', procCgroup.reverse().join('\n') + '\n');
  for (const m of fs.mounts) {
    mk(m.mountpoint);
    fs.populate(m.mountpoint, m, true);
  }
  for (const d of spec.blockDevices ?? ['8:0']) {
    mk(`/sys/dev/block/${d}/queue`);
    writeFileSync(`${root}/sys/dev/block/${d}/queue/scheduler`, 'none [mq-deadline] kyber bfq\n');
  }
  for (const kb of spec.hugepageSizesKb ?? [2048]) mk(`/sys/kernel/mm/hugepages/hugepages-${kb}kB`);
  if (spec.systemd) mk('/run/systemd/system');
  // The own cgroup exists (with the caller in it) so relative paths resolve below it.
  if (own !== '/') {
    for (const m of fs.mounts) {
      let cur = m.mountpoint;
      for (const seg of own.split('/').filter(Boolean)) {
        cur = `${cur}/${seg}`;
        fs.mkdir(cur);
      }
      writeFileSync(root + cur + '/cgroup.procs', '4242\n');
    }
  }
  return fs;
}
