// The systemd cgroup driver (berth-oci --systemd-cgroup), as runc's: the container's cgroup is a
// transient scope unit that systemd creates over D-Bus (StartTransientUnit on its private socket)
// with Delegate=yes and the limits systemd knows as unit properties; the cgroupfs backend of the
// host's layout then creates what systemd does not manage (cpuset, freezer, ... on v1) and writes
// every limit inside the delegated cgroup. destroy() stops the unit, then removes the rest.
//
// systemd refuses a scope without processes, and the container's init does not exist yet when
// create() runs: a `sleep` placeholder is the scope's first process until joined() (the runtime
// calls it once the init is in the cgroup) or destroy() ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { LinuxResources } from '../../spec/types.js';
import { CgroupError, type WarningSink } from '../errors.js';
import type { Host } from '../host.js';
import type { HostFs } from '../hostfs.js';
import type { BerthCgroupManager, CgroupMountPlan, CgroupStats } from '../manager.js';
import { validateResources } from '../validate.js';
import { connectSocketFd, DbusError, SyncDbusConnection } from './dbus-sync.js';
import { variant, type Message, type Variant } from './dbus-wire.js';
import { accountingProperties, resourceProperties, type SystemdUnit } from './unit.js';

const PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** systemd's private socket: peer-to-peer D-Bus for root, no dbus-daemon needed. */
export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';

export interface SystemdOptions {
  fs: HostFs;
  host: Host;
  /** Host path of the D-Bus socket (default /run/systemd/private under the fs root). */
  socket?: string;
  onWarning?: WarningSink;
  /** Milliseconds to wait for systemd's answer and each job (default 30 s, as runc). */
  timeoutMs?: number;
}

const connections = new Map<string, SyncDbusConnection>();

export class SystemdManager implements BerthCgroupManager {
  readonly path: string;
  private placeholder: ChildProcess | undefined;

  constructor(private readonly inner: BerthCgroupManager, readonly unit: SystemdUnit, private readonly opts: SystemdOptions) {
    this.path = inner.path;
  }

  get layout() {
    return this.inner.layout;
  }

  private readonly own: string[] = [];

  get warnings(): readonly string[] {
    return [...this.inner.warnings, ...this.own];
  }

  private get v2(): boolean {
    return this.opts.host.cgroups.layout === 'v2';
  }

  /** This process's connection to systemd (opened once: starting it costs a worker thread). */
  private connect(): SyncDbusConnection {
    const socket = this.opts.socket ?? this.opts.fs.real(SYSTEMD_PRIVATE_SOCKET);
    const open = connections.get(socket);
    if (open?.usable) return open;
    try {
      const c = new SyncDbusConnection(socket, this.opts.timeoutMs);
      c.call(PATH, MANAGER, 'Subscribe', '', []); // JobRemoved signals come only to subscribers
      connections.set(socket, c);
      return c;
    } catch (e) {
      throw new CgroupError(`cannot talk to systemd on ${socket}: ${(e as Error).message}`, '', { cause: e });
    }
  }

  /**
   * Connect to systemd ahead of the synchronous calls, asynchronously, so they run on the
   * socket's descriptor instead of through a worker thread. Never throws: without a connection
   * the first call connects (or reports why it cannot).
   */
  async prepare(): Promise<void> {
    const socket = this.opts.socket ?? this.opts.fs.real(SYSTEMD_PRIVATE_SOCKET);
    if (connections.get(socket)?.usable) return;
    try {
      const fd = await connectSocketFd(socket);
      if (!fd) return;
      const c = new SyncDbusConnection(socket, this.opts.timeoutMs, fd);
      c.call(PATH, MANAGER, 'Subscribe', '', []);
      connections.set(socket, c);
    } catch {
      /* reported by the call that needs systemd */
    }
  }

  /** After a transport failure (not a D-Bus error reply) the connection is dropped. */
  private release(c: SyncDbusConnection, e?: unknown): void {
    if (e !== undefined && !(e instanceof DbusError && e.dbusName !== '')) {
      c.close();
      connections.delete(c.socketPath);
    }
  }

  /** Run a job-returning Manager method and wait for the job's end; returns its result ("done", ...). */
  private job(c: SyncDbusConnection, member: string, sig: string, body: unknown[]): string {
    const [job] = c.call(PATH, MANAGER, member, sig, body) as [string];
    const removed = c.waitSignal((m: Message) => m.member === 'JobRemoved' && m.body?.[1] === job, `systemd job ${job} (${member} ${this.unit.unit})`);
    return String(removed.body?.[3]);
  }

  private startPlaceholder(): number {
    const sleep = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p));
    const child = sleep
      ? spawn(sleep, ['infinity'], { stdio: 'ignore', detached: true })
      : spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore', detached: true });
    child.on('error', () => {}); // reported below through the missing pid
    child.unref();
    if (!child.pid) throw new CgroupError(`cannot start a placeholder process for the systemd scope ${this.unit.unit}`);
    this.placeholder = child;
    return child.pid;
  }

  /** The container's init is in the cgroup: the placeholder can go. */
  joined(): void {
    this.placeholder?.kill('SIGKILL');
    this.placeholder = undefined;
  }

  create(resources: LinuxResources | undefined): void {
    const r = resources ?? {};
    validateResources(r, this.opts.host); // bad input fails before systemd hears of it
    const props = resourceProperties(r, this.v2);
    const c = this.connect();
    try {
      const pid = this.startPlaceholder();
      const isSlice = this.unit.unit.endsWith('.slice');
      const all: [string, Variant][] = [
        ['Description', variant('s', `berth container ${this.unit.unit}`)],
        ...(isSlice ? [] : [['Slice', variant('s', this.unit.slice)] as [string, Variant], ['PIDs', variant('au', [pid])] as [string, Variant]]),
        ['Delegate', variant('b', true)],
        ['DefaultDependencies', variant('b', false)],
        ...accountingProperties(props, this.v2),
        ...props,
      ];
      let result: string;
      try {
        result = this.job(c, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [this.unit.unit, 'replace', all, []]);
      } catch (e) {
        const exists = e instanceof DbusError && e.dbusName === 'org.freedesktop.systemd1.UnitExists';
        const why = exists ? `unit ${this.unit.unit} already exists (another container uses this linux.cgroupsPath, or one was not deleted: systemctl stop ${this.unit.unit})` : (e as Error).message;
        throw new CgroupError(`systemd could not create ${this.unit.unit}: ${why}`, exists ? 'linux.cgroupsPath' : '', { cause: e });
      }
      if (result !== 'done') throw new CgroupError(`systemd could not start ${this.unit.unit} (job result "${result}"; see journalctl -u ${this.unit.unit})`);
      try {
        this.inner.create(r);
      } catch (e) {
        this.stopUnit(c);
        throw e;
      }
    } catch (e) {
      this.joined();
      this.release(c, e);
      throw e;
    }
  }

  private stopUnit(c: SyncDbusConnection): void {
    try {
      const result = this.job(c, 'StopUnit', 'ss', [this.unit.unit, 'replace']);
      if (result !== 'done') throw new CgroupError(`systemd could not stop ${this.unit.unit} (job result "${result}")`);
    } catch (e) {
      if (!(e instanceof DbusError && e.dbusName === 'org.freedesktop.systemd1.NoSuchUnit')) throw e;
    }
    try {
      c.call(PATH, MANAGER, 'ResetFailedUnit', 's', [this.unit.unit]); // a failed unit would keep its name taken
    } catch {
      /* not loaded, or not failed */
    }
  }

  update(resources: LinuxResources): void {
    this.inner.update(resources);
    const props = resourceProperties(resources, this.v2);
    if (props.length === 0) return;
    // Tell systemd too, or its next daemon-reload writes the old values back.
    const c = this.connect();
    try {
      c.call(PATH, MANAGER, 'SetUnitProperties', 'sba(sv)', [this.unit.unit, true, props]);
    } catch (e) {
      const msg = `systemd did not take the new limits for ${this.unit.unit} (${(e as Error).message}); they are in force but systemd may restore the old ones on daemon-reload`;
      this.own.push(msg);
      this.opts.onWarning?.(msg);
      this.release(c, e);
    }
  }

  destroy(): void {
    this.joined();
    let first: unknown;
    try {
      const c = this.connect();
      try {
        this.stopUnit(c);
      } catch (e) {
        this.release(c, e);
        throw e;
      }
    } catch (e) {
      first = e;
    }
    // what berth made itself goes even when systemd cannot be reached
    try {
      this.inner.destroy();
    } catch (e) {
      first ??= e;
    }
    if (first) throw first;
  }

  procsFiles(): string[] {
    return this.inner.procsFiles();
  }

  pids(): number[] {
    const own = this.placeholder?.pid;
    return this.inner.pids().filter((p) => p !== own);
  }

  freeze(): void {
    this.inner.freeze();
  }

  thaw(): void {
    this.inner.thaw();
  }

  isFrozen(): boolean {
    return this.inner.isFrozen();
  }

  kill(signal: NodeJS.Signals | number): void {
    this.inner.kill(signal);
  }

  stats(): CgroupStats {
    return this.inner.stats();
  }

  mountPlan(destination: string, hasCgroupNs: boolean): CgroupMountPlan {
    return this.inner.mountPlan(destination, hasCgroupNs);
  }

  dirs(): Record<string, string> {
    return this.inner.dirs();
  }

  oomKillCount(): number {
    return this.inner.oomKillCount();
  }
}
