// The OCI runtime's lifecycle: create, start, run, state, kill, delete, exec, list, ps.
// The CLI (src/cli/oci) and the engine both drive containers through this class.
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, constants as fsc } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { CgroupManager } from '../cgroups/manager.js';
import type { LinuxCapabilities, Process, Spec, State } from '../spec/types.js';
import { limitToHost } from './host-caps.js';
import { containerResources } from './device-rules.js';
import { compileCreate, compileExec, NS_FILE, rootfsPath, type CgroupHooks, type SeccompLoad } from './compile.js';
import { RuntimeError } from './errors.js';
import { runHooks, runHooksWarn } from './hooks.js';
import { forwardSignals, launch } from './launch.js';
import { unmountRootfsDir } from './rootfs-layers.js';
import { encodePlan } from './plan.js';
import { isAlive, processStartTime, StateStore, toState, validateId, type ContainerRecord } from './state.js';

export interface RuntimeOptions {
  root: string;
  systemdCgroup?: boolean;
  /** Run without a cgroup when the host refuses to create one (not delegated), as runc's
   * --rootless: true, false, or 'auto' (default: when not running as root). */
  rootless?: boolean | 'auto';
  debug?: (msg: string) => void;
  warn?: (msg: string) => void;
}

export interface CreateOptions {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
}

export interface ExecOptions {
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach?: boolean;
  preserveFds?: number;
}

export interface ListEntry {
  ociVersion: string;
  id: string;
  pid: number;
  status: State['status'];
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class Runtime {
  readonly store: StateStore;

  constructor(readonly opts: RuntimeOptions) {
    this.store = new StateStore(opts.root);
  }

  private debug(m: string) {
    this.opts.debug?.(m);
  }
  private warn(m: string) {
    (this.opts.warn ?? ((x: string) => process.stderr.write(`berth-oci: warning: ${x}\n`)))(m);
  }

  private async loadSpec(bundle: string): Promise<Spec> {
    const path = join(bundle, 'config.json');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RuntimeError(`bundle ${bundle}: config.json not found (make one with "berth-oci spec")`);
      throw new RuntimeError(`bundle ${bundle}: cannot read config.json: ${(e as Error).message}`);
    }
    const { parseSpec } = await import('../spec/validate.js');
    try {
      return parseSpec(text, { bundle });
    } catch (e) {
      throw new RuntimeError((e as Error).message);
    }
  }

  private async cgroupFor(rec: Pick<ContainerRecord, 'id' | 'cgroupsPath' | 'systemdCgroup'>): Promise<CgroupManager> {
    const { openCgroupManager } = await import('../cgroups/index.js');
    const m = openCgroupManager(rec.cgroupsPath, rec.id, { systemd: rec.systemdCgroup });
    await m.prepare?.(); // the systemd driver connects to systemd here, without a worker thread
    return m;
  }

  private async seccompFor(spec: Spec): Promise<SeccompLoad | undefined> {
    const sc = spec.linux?.seccomp;
    if (!sc) return undefined;
    const { seccompProgramFile, seccompFilterFlags } = await import('../seccomp/index.js');
    const file = seccompProgramFile(sc, join(this.opts.root, '.seccomp'));
    const { flags, notify } = seccompFilterFlags(sc);
    const load: SeccompLoad = { file, flags };
    if (notify) {
      if (!sc.listenerPath) throw new RuntimeError('config.json: linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY');
      load.listenerPath = sc.listenerPath;
      load.listenerMetadata = sc.listenerMetadata ?? '';
    }
    return load;
  }

  private grantableCaps(caps: LinuxCapabilities): LinuxCapabilities {
    const r = limitToHost(caps);
    if (r.dropped.length) this.warn(`${r.dropped.join(', ')}: not available to berth on this host (not in its bounding set); the container runs without them`);
    return r.caps;
  }

  /** newuidmap/newgidmap and setgroups for an unprivileged caller's user namespace (rootless). */
  private async idmapToolsFor(spec: Spec) {
    if ((process.geteuid?.() ?? 0) === 0) return undefined;
    const { planRootlessIdMaps, thisHost } = await import('./rootless.js');
    return planRootlessIdMaps(spec, thisHost());
  }

  /** Rootless: true (after a warning) when the cgroup could not be made for lack of permission. */
  private async withoutCgroup(e: unknown, mgr: CgroupManager, spec: Spec): Promise<boolean> {
    const mode = this.opts.rootless ?? 'auto';
    const euid = process.geteuid?.() ?? 0;
    if (mode === false || (mode === 'auto' && euid === 0)) return false;
    const { isCgroupPermissionError } = await import('./rootless.js');
    if (!isCgroupPermissionError(e)) return false;
    try {
      mgr.destroy(); // whatever part was made
    } catch {
      /* nothing was */
    }
    const r = spec.linux?.resources;
    const limits = r && Object.keys(r).some((k) => k !== 'devices') ? '; linux.resources are NOT applied' : '';
    this.warn(`cgroups are not delegated to uid ${euid} (${(e as Error).message}): running without a cgroup of its own (no limits, pause or kill --all)${limits}`);
    return true;
  }

  status(rec: ContainerRecord, mgr?: CgroupManager): State['status'] {
    if (!isAlive(rec)) return 'stopped';
    // frozen first: a created container can be paused too (as runc)
    if (mgr && rec.cgroup) {
      try {
        if (mgr.isFrozen()) return 'paused';
      } catch {
        /* the cgroup may be gone already */
      }
    }
    if (existsSync(this.store.fifo(rec.id))) return 'created';
    return 'running';
  }

  async statusOf(id: string): Promise<{ rec: ContainerRecord; status: State['status']; mgr: CgroupManager | undefined }> {
    const rec = this.store.load(id);
    const mgr = rec.cgroup ? await this.cgroupFor(rec) : undefined;
    return { rec, status: this.status(rec, mgr), mgr };
  }

  async state(id: string): Promise<State> {
    const { rec, status } = await this.statusOf(id);
    return toState(rec, status);
  }

  /** Creates the container and leaves its init blocked before exec until start(). */
  async create(id: string, o: CreateOptions): Promise<ContainerRecord> {
    return this.launchNew(id, o, 'detach');
  }

  private async launchNew(id: string, o: CreateOptions, mode: 'wait' | 'detach'): Promise<ContainerRecord & { exit?: Promise<number> }> {
    validateId(id);
    const bundle = resolve(o.bundle);
    const spec = await this.loadSpec(bundle);
    const seccomp = await this.seccompFor(spec);
    if (spec.process?.capabilities) spec.process.capabilities = this.grantableCaps(spec.process.capabilities);
    const idmapTools = await this.idmapToolsFor(spec);
    this.store.reserve(id);
    const rec: ContainerRecord = {
      id, bundle, pid: 0, pidStart: '', created: new Date().toISOString(), owner: process.getuid?.() === 0 ? 'root' : String(process.getuid?.()),
      spec, cgroup: false, systemdCgroup: !!this.opts.systemdCgroup, namespaces: [], setgroups: !idmapTools?.setgroupsDeny,
      ...(spec.linux?.cgroupsPath ? { cgroupsPath: spec.linux.cgroupsPath } : {}),
      ...(seccomp ? { seccomp: { ...seccomp } } : {}),
    };
    if (seccomp?.listenerPath) {
      const { listenerStateTemplate } = await import('./seccomp-listener.js');
      seccomp.listenerState = listenerStateTemplate(toState(rec, 'creating'), seccomp.listenerMetadata, { statePidIsProcess: true });
    }
    let mgr: CgroupManager | undefined;
    let pid = 0;
    try {
      mgr = await this.cgroupFor(rec);
      try {
        mgr.create(containerResources(spec));
        rec.cgroup = true;
      } catch (e) {
        if (!(await this.withoutCgroup(e, mgr, spec))) throw e;
        mgr = undefined;
      }
      const m = mgr;
      const cgroup: CgroupHooks | undefined = m ? { procsFiles: m.procsFiles(), mountPlan: (d, ns) => m.mountPlan(d, ns) } : undefined;
      const execFifo = mode === 'detach' ? this.store.fifo(id) : undefined;
      const { planRootfsOwnership } = await import('./idmap-rootfs.js');
      const owners = await planRootfsOwnership(spec, rootfsPath(spec, bundle), {
        cacheRoot: join(this.opts.root, '.rootfs-shift'), mountDir: join(this.opts.root, '.rootfs-mounts', id),
        warn: (m) => this.warn(m), debug: (m) => this.debug(m),
      });
      if (owners.mountDir) rec.rootfsMounts = owners.mountDir;
      const plan = compileCreate({
        ...(owners.idmapRootfs ? { idmapRootfs: true } : {}),
        ...(owners.rootfsOverride ? { rootfsOverride: owners.rootfsOverride } : {}),
        spec, bundle, mode,
        ...(cgroup ? { cgroup } : {}),
        ...(idmapTools ? { idmapTools } : {}),
        ...(execFifo ? { execFifo } : {}),
        ...(o.consoleSocket ? { consoleSocket: resolve(o.consoleSocket) } : { consoleProxy: mode === 'wait' }),
        ...(o.noPivot ? { noPivot: true } : {}),
        ...(o.noNewKeyring ? { noNewKeyring: true } : { keyringName: id }),
        ...(o.preserveFds ? { preserveFds: o.preserveFds } : {}),
        ...(seccomp ? { seccomp } : {}),
      });
      this.store.write(rec);
      const onPid = (p: number) => {
        pid = p;
        rec.pid = p;
        rec.pidStart = processStartTime(p) ?? '';
        rec.namespaces = (spec.linux?.namespaces ?? []).map((n) => ({ type: n.type, path: n.path ?? `/proc/${p}/ns/${NS_FILE[n.type]}` }));
        this.store.write(rec);
      };
      const onHooks = async (p: number) => {
        const st = JSON.stringify({ ...toState(rec, 'creating'), pid: p });
        // prestart (deprecated) keeps its old view of the state: the container is created
        await runHooks(spec.hooks?.prestart, JSON.stringify({ ...toState(rec, 'created'), pid: p }), 'prestart');
        await runHooks(spec.hooks?.createRuntime, st, 'createRuntime');
        return JSON.stringify({ ...toState(rec, 'created'), pid: p });
      };
      const launched = await launch(encodePlan(plan), { onPid, onHooks, ...(o.preserveFds ? { preserveFds: o.preserveFds } : {}) });
      mgr?.joined?.(); // the init is in the cgroup (the systemd driver's placeholder can go)
      if (o.pidFile) writePidFile(o.pidFile, launched.pid);
      this.debug(`container ${id}: init pid ${launched.pid}`);
      if (mode === 'wait') return { ...rec, exit: launched.exit };
      return rec;
    } catch (e) {
      // leave nothing behind: no process, cgroup or state directory
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        waitGone(pid, rec.pidStart, 2000);
      }
      if (mgr && rec.cgroup) {
        try {
          mgr.kill('SIGKILL');
          mgr.destroy();
        } catch (err) {
          this.warn(`cleanup of cgroup: ${(err as Error).message}`);
        }
      }
      if (rec.rootfsMounts) this.removeRootfsMounts(rec.rootfsMounts);
      this.store.remove(id);
      throw e;
    }
  }

  private removeRootfsMounts(dir: string): void {
    const left = unmountRootfsDir(dir);
    if (left.length) this.warn(`could not unmount ${left.join(', ')}`);
  }

  /** Lets a created container's init exec its process. */
  async start(id: string): Promise<void> {
    const { rec, status } = await this.statusOf(id);
    if (status !== 'created') {
      throw new RuntimeError(status === 'stopped' ? `cannot start a container that has stopped` : `cannot start an already ${status} container`);
    }
    if (!rec.spec.process) throw new RuntimeError(`cannot start container "${id}": its config.json has no process to run`);
    const fifo = this.store.fifo(id);
    const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
    try {
      const b = Buffer.alloc(1);
      for (let i = 0; ; i++) {
        try {
          if (readSync(fd, b, 0, 1, null) === 1) break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
        if (!isAlive(rec)) throw new RuntimeError('container init exited before start');
        sleep(i < 100 ? 1 : 10);
      }
    } finally {
      closeSync(fd);
    }
    unlinkSync(fifo);
    await runHooksWarn(rec.spec.hooks?.poststart, JSON.stringify(toState(rec, 'running')), 'poststart', (m) => this.warn(m));
  }

  /** create + start; in the foreground, waits and returns the container's exit status. */
  async run(id: string, o: CreateOptions & { detach?: boolean; keep?: boolean }): Promise<number> {
    if (o.detach) {
      await this.create(id, o);
      try {
        await this.start(id);
      } catch (e) {
        await this.delete(id, true);
        throw e;
      }
      return 0;
    }
    const rec = await this.launchNew(id, o, 'wait');
    const exit = rec.exit!;
    const stopForwarding = forwardSignals(rec.pid);
    await runHooksWarn(rec.spec.hooks?.poststart, JSON.stringify(toState(rec, 'running')), 'poststart', (m) => this.warn(m));
    const status = await exit;
    stopForwarding();
    if (!o.keep) await this.delete(id, true);
    return status;
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    const { rec, status, mgr } = await this.statusOf(id);
    if (status === 'stopped') throw new RuntimeError(`container "${id}" is not running`);
    if (all && mgr) {
      mgr.kill(signal);
      return;
    }
    process.kill(rec.pid, signal);
  }

  async delete(id: string, force = false): Promise<void> {
    validateId(id);
    let rec: ContainerRecord;
    try {
      rec = this.store.load(id);
    } catch (e) {
      if (force && existsSync(this.store.dir(id))) {
        this.store.remove(id);
        return;
      }
      throw e;
    }
    const mgr = rec.cgroup ? await this.cgroupFor(rec) : undefined;
    const status = this.status(rec, mgr);
    // the runtime spec: deleting a container that is not stopped is an error (runc allows
    // deleting a created one; --force does that here)
    if (status !== 'stopped' && !force) {
      throw new RuntimeError(`cannot delete container "${id}" that is not stopped: ${status} (use --force)`);
    }
    if (status !== 'stopped') {
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* raced with its exit */
      }
    }
    if (mgr) {
      try {
        mgr.kill('SIGKILL');
        if (status === 'paused') mgr.thaw();
      } catch {
        /* nothing left to kill */
      }
    }
    waitGone(rec.pid, rec.pidStart, 5000);
    if (mgr) {
      for (let i = 0; ; i++) {
        try {
          mgr.destroy();
          break;
        } catch (e) {
          if (i >= 50) throw new RuntimeError(`cannot remove the cgroup of "${id}": ${(e as Error).message}`);
          try {
            mgr.kill('SIGKILL');
          } catch {
            /* empty */
          }
          sleep(10);
        }
      }
    }
    if (!rec.spec.linux?.namespaces?.some((n) => n.type === 'mount')) {
      const { unmountUnder } = await import('./host-mounts.js');
      const root = rec.spec.root?.path ?? '';
      const left = unmountUnder(isAbsolute(root) ? root : join(rec.bundle, root));
      if (left.length) this.warn(`could not unmount ${left.join(', ')}`);
    }
    await runHooksWarn(rec.spec.hooks?.poststop, JSON.stringify(toState(rec, 'stopped')), 'poststop', (m) => this.warn(m));
    if (rec.rootfsMounts) this.removeRootfsMounts(rec.rootfsMounts);
    this.store.remove(id);
  }

  async list(): Promise<ListEntry[]> {
    const out: ListEntry[] = [];
    for (const id of this.store.ids()) {
      let rec: ContainerRecord;
      try {
        rec = this.store.load(id);
      } catch {
        continue; // being created or removed right now
      }
      const mgr = rec.cgroup ? await this.cgroupFor(rec).catch(() => undefined) : undefined;
      const status = this.status(rec, mgr);
      const root = rec.spec.root?.path ?? '';
      out.push({
        ociVersion: rec.spec.ociVersion, id, pid: status === 'stopped' ? 0 : rec.pid, status, bundle: rec.bundle,
        rootfs: isAbsolute(root) ? root : join(rec.bundle, root), created: rec.created, owner: rec.owner,
        ...(rec.spec.annotations ? { annotations: rec.spec.annotations } : {}),
      });
    }
    return out;
  }

  async pids(id: string): Promise<number[]> {
    const { rec, status, mgr } = await this.statusOf(id);
    if (status === 'stopped') return [];
    return mgr ? mgr.pids() : [rec.pid];
  }

  /** Starts another process inside a running container. Returns its status (or 0 detached). */
  async exec(id: string, o: ExecOptions): Promise<number> {
    const { rec, status, mgr } = await this.statusOf(id);
    if (status !== 'running' && status !== 'created') throw new RuntimeError(`cannot exec in a ${status} container "${id}"`);
    if (status === 'created' && (process.geteuid?.() ?? 0) !== 0) {
      // the init is still berth-shim, not dumpable: only host root may open its namespaces
      throw new RuntimeError(`cannot exec in container "${id}" before it is started when not running as root: start it first`);
    }
    const seccomp: SeccompLoad | undefined = rec.seccomp ? { ...rec.seccomp } : undefined;
    if (seccomp?.listenerPath) {
      // the agent hears of the exec'd process (pid) in the running container (state.pid: its init)
      const { listenerStateTemplate } = await import('./seccomp-listener.js');
      seccomp.listenerState = listenerStateTemplate(toState(rec, status), seccomp.listenerMetadata, { statePidIsProcess: false });
    }
    if (o.process.capabilities) o.process.capabilities = this.grantableCaps(o.process.capabilities);
    const detach = !!o.detach;
    const plan = compileExec({
      process: o.process, namespaces: rec.namespaces, mode: detach ? 'detach' : 'wait',
      cgroupProcs: mgr ? mgr.procsFiles() : [], setgroups: rec.setgroups,
      ...(o.consoleSocket ? { consoleSocket: resolve(o.consoleSocket) } : { consoleProxy: !detach }),
      ...(seccomp ? { seccomp } : {}),
      ...(o.preserveFds ? { preserveFds: o.preserveFds } : {}),
    });
    const launched = await launch(encodePlan(plan), o.preserveFds ? { preserveFds: o.preserveFds } : {});
    if (o.pidFile) writePidFile(o.pidFile, launched.pid);
    if (detach) return 0;
    const stopForwarding = forwardSignals(launched.pid);
    const code = await launched.exit;
    stopForwarding();
    return code;
  }
}

/** Writes a pid file atomically, as runc does (tools poll for it). */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = `${abs}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

/** Waits until the pid is gone or a zombie (its parent reaps it, not us). */
function waitGone(pid: number, start: string, ms: number): void {
  if (pid <= 0) return;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = processStartTime(pid);
    if (st === null || st !== start) return;
    sleep(2);
  }
}
