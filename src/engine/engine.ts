// The engine: container and volume lifecycle over the metadata store, the OCI runtime's plan
// compiler and one berth-monitor per running container. Daemonless: every CLI invocation (or
// library user) opens the store, reconciles what changed while nobody was looking (a monitor
// that exited, a state directory wiped by a reboot), and acts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { BerthCgroupManager } from '../cgroups/manager.js';
import { openCgroupManager } from '../cgroups/index.js';
import { compileCreate, compileExec, NS_FILE, type SeccompLoad } from '../runtime/compile.js';
import { containerResources } from '../runtime/device-rules.js';
import { limitToHost } from '../runtime/host-caps.js';
import { parseSignal } from '../runtime/launch.js';
import { encodePlan } from '../runtime/plan.js';
import { processStartTime } from '../runtime/state.js';
import type { LinuxResources, Process, Spec } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import { isCgroup2UnifiedMode } from '../spec/default-spec.js';
import { duBytes, rmTree } from './fsutil.js';
import { conflict, EngineError, invalid, isEngineError, notFound } from './errors.js';
import { checkUpdatedResources } from './resource-checks.js';
import { volumeNameError } from './volume-names.js';
import { newId, randomName, shortId, validName } from './ids.js';
import { readLogs, sleep as abortableSleep, type LogEntry } from './logs.js';
import { AttachClient, markStopped, MONITOR_PATH, readExitFile, readPidFile, startMonitor, writeRestartPolicy } from './monitor.js';
import { monitorWillRestart } from './restart-intent.js';
import { normalizeCreate, type CreateOptions } from './options.js';
import { EngineNetworking } from './networking.js';
import { awaitLeftovers, forgetLeftoversIfDone } from './remove-wait.js';
import { dieStatus } from './die-status.js';
import { withLoopbackUp } from './loopback.js';
import { awaitWindDown } from './wind-down.js';
import { EngineNetworks } from './networks.js';
import { mergeHealth } from './health-config.js';
import { healthFilterValue, healthOnStart, monitorHealthArgs } from './health.js';
import { psFilter } from './ps-filters.js';
import { psFilterDeps } from './ps-filter-deps.js';
import { checkVolumeFilters } from './volume-filters.js';
import { DEFAULT_ROOT, DEFAULT_STATE_ROOT, Paths } from './paths.js';
import { runShim, SIZE_FD, type PendingShim, type ShimRun, type Stdio } from './shim.js';
import { seccompLoadOf, seccompProgramOf } from './seccomp-file.js';
import { buildSpec, resolveUser, resourcesOf, specToValidate, DEFAULT_PATH } from './spec.js';
import { applyUserns, releaseUsernsRootfs, usernsMaps, usernsRootfs } from './userns.js';
import { UsernsRanges } from './userns-ranges.js';
import { isLive, type ContainerState } from './state.js';
import { Store } from './store/db.js';
import { jsonClone } from './store/json-cache.js';
import { ANN_IMAGE_ID, ANN_SNAPSHOT, EngineImages, HOST_IMAGE, imageName, mergeImageSettings } from './images.js';
import { hostImageMismatch, platformMismatch, platformWarning, requestedPlatform } from './image-platform.js';
import { parseReference } from '../image/reference.js';
import { nowNano, parseSince, rfc3339Nano } from './time.js';
import type { ContainerRecord, EngineEvent, HostConfig, RestartPolicy, VolumeRecord } from './types.js';
import { ZERO_TIME } from './types.js';
import { parseCpus, parseRestartPolicy, parseSize, parseSwap, validCpuset } from './units.js';
import { applyBlkioUpdate, specBlockIO, type BlkioOptions } from './update-blkio.js';

/** bin/berth's node side (not its native front: nothing to hand over), run by a monitor as its exit command (from dist/src/engine and from the bundle). */
export const BERTH_BIN = fileURLToPath(new URL('../../../bin/berth-node.cjs', import.meta.url));

export interface EngineOptions {
  /** Persistent data: /var/lib/berth (BERTH_ROOT). */
  root?: string;
  /** Runtime state: /run/berth (BERTH_STATE_ROOT). */
  stateRoot?: string;
  warn?: (msg: string) => void;
  /**
   * What a monitor runs when a detached container ends (the engine's cleanup): by default
   * `node bin/berth-node.cjs --root R --state-root S system cleanup ID`; null to rely on the next
   * reconcile only.
   */
  exitCommand?: ((id: string) => string[]) | null;
  /** Pull progress events (the CLI renders them on stderr like docker). */
  pullProgress?: import('../image/registry/progress.js').ProgressCallback;
  /** docker's pull messages around a run ("Unable to find image ... locally"). */
  pullLog?: (line: string) => void;
}

export interface StartOptions {
  /** Attach from the start (nothing is missed): returns the connection. */
  attach?: boolean;
}

export interface StopOptions {
  /** Seconds to wait after the stop signal before SIGKILL (default: the container's, else 10). */
  timeout?: number;
  signal?: string;
}

export interface RemoveOptions {
  force?: boolean;
  /** Remove the container's anonymous volumes. */
  volumes?: boolean;
}

export interface ListOptions {
  all?: boolean;
  /** docker's filters: id, name, label (key or key=value), status, exited. */
  filters?: Record<string, string[]>;
}

export interface LogsOptions {
  follow?: boolean;
  tail?: number;
  since?: string;
  until?: string;
  signal?: AbortSignal;
  /** Internal (tests): the follow's safety poll in ms; inotify events wake it sooner (logs-wake.ts). */
  pollMs?: number;
}

export interface ExecOptions {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  detach?: boolean;
  privileged?: boolean;
  /** inherit: the caller's stdio (the CLI); pipe: streams on the result (the library); or per fd. */
  stdio?: Stdio | [Stdio, Stdio, Stdio];
  /** Internal (health probes, health-probe.ts): the cgroup.procs files to join instead of the container's. */
  cgroupProcs?: string[];
  /** A shim the caller started early with the same stdio (the CLI: it starts while the store opens). */
  shim?: PendingShim;
  /** With tty: the terminal's size to start with (later ones: the result's resize, piped stdio). */
  size?: { rows: number; cols: number };
}

export interface UpdateOptions extends BlkioOptions {
  memory?: number | string;
  memorySwap?: number | string;
  cpus?: number | string;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  restart?: string;
}

export interface ContainerStats {
  id: string;
  name: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  memPercent: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const alive = (pid: number, start?: string) => pid > 0 && (start === undefined ? processStartTime(pid) !== null : processStartTime(pid) === start);
// kill(pid, 0): no /proc read (a zombie counts, as for alive(): its monitor has not reaped it yet)
const pidExists = (pid: number) => {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class Engine {
  readonly paths: Paths;
  private storeHandle: Store | undefined;
  /** Exit codes of containers auto-removed by this engine (wait reports them). */
  private removedExit = new Map<string, number>();
  private imagesHandle: EngineImages | undefined;
  private pendingRemovals = new Set<Promise<void>>();
  /** Containers this engine created and has not started yet: no cgroup of a crashed start can exist. */
  private fresh = new Set<string>();
  private networkingHandle: EngineNetworking | undefined;

  constructor(readonly opts: EngineOptions = {}) {
    this.paths = new Paths(opts.root ?? process.env.BERTH_ROOT ?? DEFAULT_ROOT, opts.stateRoot ?? process.env.BERTH_STATE_ROOT ?? DEFAULT_STATE_ROOT);
  }

  get store(): Store {
    this.storeHandle ??= Store.open(this.paths.root);
    return this.storeHandle;
  }

  close(): void {
    this.storeHandle?.close();
    this.storeHandle = undefined;
  }

  private warn(m: string): void {
    (this.opts.warn ?? ((x: string) => process.stderr.write(`WARNING: ${x}\n`)))(m);
  }

  // ---------------------------------------------------------------- reconcile

  /**
   * Brings the store up to date with the processes: a container whose monitor is gone is
   * marked exited (with the status the monitor recorded, or 255 when it could record none, as
   * after a wiped /run), restarts the monitor made are counted, and stopped containers get
   * their cgroup and state directory removed. Cheap: one /proc read per live container.
   */
  reconcile(): void {
    for (const st of this.store.liveStates()) {
      // what nearly every container is: running, its monitor and its init up (refresh's first
      // check), seen without reading its whole record
      if (st.state === 'running' && alive(st.monitorPid, st.monitorStart) && pidExists(st.pid)) continue;
      try {
        const rec = this.store.get(st.id);
        if (rec) this.refresh(rec);
      } catch (e) {
        this.warn(`reconcile ${shortId(st.id)}: ${(e as Error).message}`);
      }
    }
  }

  /** One container's reconcile; returns its current record (undefined once auto-removed). */
  refresh(rec: ContainerRecord): ContainerRecord | undefined {
    if (rec.monitorPid > 0 && (rec.state === 'created' || rec.state === 'exited')) {
      // a start that its CLI did not see through (killed between starting the monitor and
      // recording the result): adopt the running container, or record how it ended
      if (alive(rec.monitorPid, rec.monitorStart)) {
        const pf = readPidFile(this.paths.stateDir(rec.id));
        if (!pf || !(pf.pid > 0 && alive(pf.pid))) return rec; // still starting
        if (this.store.update(rec.id, { state: 'running', pid: pf.pid, startedAt: rfc3339Nano(), cleaned: false }, [rec.state])) this.event(rec, 'start');
        return this.store.get(rec.id);
      }
      const ex = readExitFile(this.paths.stateDir(rec.id));
      const ch: Partial<ContainerRecord> = { monitorPid: 0, monitorStart: '', cleaned: false };
      if (ex) Object.assign(ch, { state: 'exited', exitCode: ex.status, error: ex.error, finishedAt: ex.finished || rfc3339Nano() });
      this.store.update(rec.id, ch, [rec.state]);
      const now = this.store.get(rec.id);
      if (now) this.cleanup(now);
      return this.store.get(rec.id);
    }
    if (!isLive(rec.state)) {
      if (!rec.cleaned) this.cleanup(rec);
      return this.store.get(rec.id);
    }
    const dir = this.paths.stateDir(rec.id);
    if (alive(rec.monitorPid, rec.monitorStart)) {
      // what nearly every command meets: running, its monitor and the init recorded both up (a
      // restart or an exit ends that init first): no file of its own to read
      if (rec.state === 'running' && pidExists(rec.pid)) return rec;
      const pf = readPidFile(dir);
      if (!pf) return rec;
      const initUp = pf.pid > 0 && alive(pf.pid);
      // a monitor that will not run it again is only winding down: live until it is gone
      if (!initUp && rec.state !== 'restarting' && monitorWillRestart(dir, rec.hostConfig.RestartPolicy, pf.restarts, readExitFile(dir)) === false) return rec;
      let state: ContainerState = rec.state;
      if (!initUp && rec.state !== 'paused') state = 'restarting';
      else if (initUp && rec.state === 'restarting') state = 'running';
      if (state === rec.state && pf.pid === rec.pid && pf.restarts === rec.restartCount) return rec;
      const ex = readExitFile(dir);
      const changes: Partial<ContainerRecord> = { state, pid: initUp ? pf.pid : 0, restartCount: pf.restarts };
      if (ex && state === 'restarting') Object.assign(changes, { exitCode: ex.status, oomKilled: ex.oom, finishedAt: ex.finished || rfc3339Nano() });
      if (state === 'running' && pf.restarts !== rec.restartCount) changes.startedAt = rfc3339Nano();
      if (this.store.update(rec.id, changes, [rec.state])) {
        if (pf.restarts > rec.restartCount || (state === 'restarting' && rec.state !== 'restarting')) {
          if (rec.state !== 'restarting') this.event(rec, 'die', { exitCode: String(ex?.status ?? 0) });
          if (state === 'running') this.event(rec, 'restart');
          if (state === 'running') healthOnStart(this.store, rec); // restarted by its policy: starting again, as docker
        }
      }
      return this.store.get(rec.id);
    }
    // the monitor is gone: the container is down
    const ex = readExitFile(dir);
    const changes: Partial<ContainerRecord> = {
      state: 'exited', pid: 0, monitorPid: 0, monitorStart: '', cleaned: false,
      exitCode: ex?.status ?? 255, oomKilled: ex?.oom ?? false, finishedAt: ex?.finished || rfc3339Nano(),
      restartCount: ex?.restarts ?? rec.restartCount,
      error: ex ? ex.error : 'the container monitor is gone (killed, or the host restarted): the container was stopped',
    };
    // the exit, its events and the claim of its cleanup (below) in one transaction (one commit):
    // a crash after it leaves what a crash after cleanup's own claim leaves (rm removes it)
    let claimed = false;
    this.store.tx(() => {
      if (!this.store.update(rec.id, changes, [rec.state])) return;
      this.event(rec, 'die', { exitCode: String(changes.exitCode), ...(changes.oomKilled ? { oomKilled: 'true' } : {}) });
      if (changes.oomKilled) this.event(rec, 'oom');
      claimed = this.store.update(rec.id, { cleaned: true }, ['exited']);
    });
    const now = this.store.get(rec.id);
    if (now && claimed) this.cleanup(now, true);
    else if (now && !now.cleaned && now.state === 'exited') this.cleanup(now);
    return this.store.get(rec.id);
  }

  /** Removes what a stopped container leaves (processes, cgroup, state dir); auto-removes. */
  private cleanup(rec: ContainerRecord, claimed = false): void {
    // claim it: only one of several parallel CLIs does the work (`claimed`: with the exit, refresh)
    if (!claimed) {
      if (!this.store.update(rec.id, { cleaned: true }, ['exited', 'created', 'dead'])) return;
      const cur = this.store.get(rec.id);
      if (!cur || isLive(cur.state)) return;
    } else if (isLive(rec.state)) return;
    this.destroyCgroup(rec);
    releaseUsernsRootfs(this.paths.root, rec.id, (m) => this.warn(m));
    rmTree(this.paths.stateDir(rec.id));
    // a stopped container keeps no address
    this.track(this.networking.release(rec.id));
    if (rec.hostConfig.AutoRemove) this.removeRecord(rec, true);
  }

  private cgroup(rec: Pick<ContainerRecord, 'id' | 'spec'>): BerthCgroupManager {
    return openCgroupManager(rec.spec.linux?.cgroupsPath, rec.id, { onWarning: (m) => this.warn(m) });
  }

  private destroyCgroup(rec: ContainerRecord): void {
    let mgr: BerthCgroupManager;
    try {
      mgr = this.cgroup(rec);
    } catch {
      return;
    }
    // killed processes leave the cgroup only once reaped: under load that can take seconds
    const until = Date.now() + 5000;
    for (;;) {
      try {
        try {
          if (mgr.isFrozen()) mgr.thaw();
        } catch {
          /* gone */
        }
        mgr.kill('SIGKILL');
      } catch {
        /* nothing left */
      }
      try {
        mgr.destroy();
        return;
      } catch (e) {
        if (Date.now() > until) {
          this.warn(`cannot remove the cgroup of ${shortId(rec.id)}: ${(e as Error).message}`);
          return;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  }

  private event(rec: Pick<ContainerRecord, 'id' | 'name' | 'image'>, action: string, extra: Record<string, string> = {}): void {
    // docker's container events carry the container's labels too (`events --filter label=`)
    const labels = (rec as Partial<ContainerRecord>).config?.Labels ?? {};
    this.store.addEvent('container', action, rec.id, { ...labels, image: rec.image, name: rec.name, ...extra });
  }

  // ---------------------------------------------------------------- lookup

  /**
   * The container that holds a name, refreshed: an exited --rm one that no command reconciled yet
   * is removed now and frees it (run/create do not reconcile every container: lazyReconcile).
   */
  private nameHolder(name: string): ContainerRecord | undefined {
    const rec = this.store.byName(name);
    if (!rec) return undefined;
    try {
      return this.refresh(rec);
    } catch (e) {
      this.warn(`reconcile ${shortId(rec.id)}: ${(e as Error).message}`);
      return rec;
    }
  }

  /** The container named by an id, a name or a unique id prefix, reconciled. */
  get(ref: string): ContainerRecord {
    const rec = this.refresh(this.store.resolve(ref));
    if (!rec) throw notFound(`No such container: ${ref}`);
    return rec;
  }

  /** get(), a container only winding down (its init exited, no restart to come) seen once it is down: wind-down.ts. */
  async getSettled(ref: string): Promise<ContainerRecord> {
    const rec = this.get(ref);
    if (!(await awaitWindDown(this.paths.stateDir(rec.id), rec))) return rec;
    const now = this.store.get(rec.id);
    const down = now && this.refresh(now);
    if (!down) throw notFound(`No such container: ${ref}`); // auto-removed on the way down
    return down;
  }

  list(o: ListOptions = {}): ContainerRecord[] {
    this.reconcile();
    const f = o.filters ?? {};
    const all = o.all || f.status?.length || f.exited?.length;
    const recs = this.store.list();
    const keep = psFilter(f, recs, psFilterDeps(this, (c) => healthFilterValue(this.store, c))); // docker's filter keys and checks: ps-filters.ts
    return recs.filter((c) => (all || c.state === 'running' || c.state === 'paused' || c.state === 'restarting') && keep(c));
  }

  // ---------------------------------------------------------------- create

  /** Images, layers and snapshots under the root (opened on first use). */
  /** Container networking (networking.ts): netns, attach, release. */
  get networking(): EngineNetworking {
    this.networkingHandle ??= new EngineNetworking(this.paths, (m) => this.warn(m), (id) => {
      const r = this.store.get(id);
      return !!r && (isLive(r.state) || (r.monitorPid > 0 && alive(r.monitorPid, r.monitorStart)));
    }, (id) => !!this.store.get(id), (ref) => this.get(ref));
    return this.networkingHandle;
  }

  /** network create/ls/inspect/rm/prune/connect/disconnect, port (networks.ts). */
  get networks(): EngineNetworks {
    return new EngineNetworks(this.networking, (ref) => this.get(ref));
  }

  get images(): EngineImages {
    this.imagesHandle ??= new EngineImages(this.paths.root, (imageId) => {
      const c = this.store.list().find((r) => r.spec.annotations?.[ANN_IMAGE_ID] === imageId);
      return c ? shortId(c.id) : undefined;
    });
    return this.imagesHandle;
  }

  /** Pulls an image (progress to opts.pullProgress). */
  async pull(ref: string, o: { platform?: string } = {}): Promise<{ name: string; status: string; digest: string }> {
    const { pull } = await import('../image/registry/pull.js');
    const im = this.images;
    const r = await pull(ref, { content: im.content, images: im.images }, { ...(this.opts.pullProgress ? { onProgress: this.opts.pullProgress } : {}), ...(o.platform ? { platform: o.platform } : {}) });
    return { name: r.name, status: r.status, digest: r.digest };
  }

  /** Waits until a removed container's writable layer is gone (removed by another process, or here). */
  private async settleSnapshot(id: string): Promise<void> {
    await this.flush();
    const snap = this.images.snapshotter;
    for (let i = 0; i < 300 && snap.containers().includes(id); i++) await sleep(10);
    if (snap.containers().includes(id)) await snap.removeContainer(id).catch((e: Error) => this.warn(`cannot remove the root filesystem of ${shortId(id)}: ${e.message}`));
  }

  /** Runs an asynchronous part of a synchronous path; flush() waits for it. */
  private track(p: Promise<void>): void {
    this.pendingRemovals.add(p);
    void p.catch((e: Error) => this.warn(e.message)).finally(() => this.pendingRemovals.delete(p));
  }

  /** Waits for snapshot removals started by synchronous paths (auto-remove on reconcile). */
  async flush(): Promise<void> {
    while (this.pendingRemovals.size) await Promise.allSettled([...this.pendingRemovals]);
  }

  async create(o: CreateOptions): Promise<ContainerRecord> {
    const n = normalizeCreate(o);
    n.hostConfig.NetworkMode = this.networking.resolveMode(n.hostConfig.NetworkMode, n.hostConfig);
    const holder = n.name ? this.nameHolder(n.name) : undefined;
    if (holder) throw conflictName(n.name!, holder.id);
    this.networking.checkPorts(n); // a held host port: refuse before any volume is made (issue 6)
    let sizeLimit = 0;
    for (const so of o.storageOpt ?? []) {
      const m = /^size=(.+)$/.exec(so);
      if (!m) throw invalid(`invalid storage option ${JSON.stringify(so)}: berth supports size=SIZE`);
      try {
        sizeLimit = parseSize(m[1]!);
      } catch (e) {
        throw invalid(`invalid storage option ${JSON.stringify(so)}: ${(e as Error).message}`);
      }
      n.hostConfig.StorageOpt = { size: m[1]! }; // inspect's HostConfig.StorageOpt
    }
    if (sizeLimit && n.rootfs) throw invalid('--storage-opt size= needs an image (a --rootfs directory has no writable layer)');
    if (!n.rootfs) return this.createFromImage(o, n, sizeLimit);
    return this.createIn(n, n.rootfs);
  }

  private async createFromImage(o: CreateOptions, n: ReturnType<typeof normalizeCreate>, sizeLimit: number): Promise<ContainerRecord> {
    const ref = n.image;
    const im = this.images;
    let rec = o.pull === 'always' || ref === HOST_IMAGE ? undefined : im.find(ref);
    const want = requestedPlatform(o.platform);
    const miss = rec && want ? platformMismatch(imageName(ref), im.images.config(rec), want) : undefined;
    if (want && ref === HOST_IMAGE) {
      const hostMiss = hostImageMismatch(want);
      if (hostMiss) throw notFound(hostMiss);
    }
    if (miss && o.pull === 'never') throw notFound(miss);
    if (miss) rec = undefined; // as docker: the requested platform is pulled
    if (!rec && ref !== HOST_IMAGE) {
      if (o.pull === 'never') throw notFound(`No such image: ${imageName(ref)}`);
      try {
        parseReference(ref);
      } catch (e) {
        throw invalid(`invalid reference format: ${(e as Error).message}`);
      }
      if (o.pull !== 'always') this.opts.pullLog?.(`Unable to find image '${imageName(ref)}' locally\n`);
      try {
        const r = await this.pull(ref, o.platform ? { platform: o.platform } : {});
        this.opts.pullLog?.(`${r.status}\n`);
      } catch (e) {
        throw notFound((e as Error).message);
      }
      rec = im.find(ref);
      if (!rec) throw notFound(`No such image: ${imageName(ref)}`);
    }
    let img;
    try {
      img = await im.prepare(ref, rec);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw new EngineError('system', `${imageName(ref)}: ${(e as Error).message}`);
    }
    const foreign = img.record ? platformWarning(im.images.config(img.record), want) : undefined;
    if (foreign) this.warn(foreign);
    n.config = mergeImageSettings(n.config, img.settings, { entrypoint: o.entrypoint !== undefined, stopSignal: o.stopSignal !== undefined });
    n.config.Image = imageName(ref);
    const health = mergeHealth(n.config.Healthcheck, img.settings.Healthcheck);
    if (health) n.config.Healthcheck = health;
    const id = newId();
    const snap = im.snapshotter;
    let mount;
    try {
      mount = await snap.prepareContainer(id, img.chainIds, sizeLimit ? { sizeLimit } : {});
    } catch (e) {
      await snap.removeContainer(id).catch(() => {});
      throw new EngineError('system', `cannot prepare the root filesystem: ${(e as Error).message}`);
    }
    try {
      return await this.createIn({ ...n, image: imageName(ref) }, mount.path, id, { [ANN_IMAGE_ID]: img.id, [ANN_SNAPSHOT]: snap.kind });
    } catch (e) {
      await snap.removeContainer(id).catch(() => {});
      throw e;
    }
  }

  private async createIn(n: ReturnType<typeof normalizeCreate>, rootfsDir: string, givenId?: string, annotations?: Record<string, string>): Promise<ContainerRecord> {
    let st;
    try {
      st = statSync(rootfsDir);
    } catch {
      throw notFound(`rootfs ${rootfsDir}: no such directory`);
    }
    if (!st.isDirectory()) throw invalid(`rootfs ${rootfsDir}: not a directory`);
    const rootfs = rootfsDir;
    const holder = n.name ? this.nameHolder(n.name) : undefined;
    if (holder) throw conflictName(n.name!, holder.id);
    const id = givenId ?? newId();
    // volumes first: the spec binds their directories
    const volumeSources = new Map<string, string>();
    const links: { volume: string; destination: string; anonymous: boolean }[] = [];
    for (const m of n.hostConfig.Mounts) {
      if (m.Type === 'bind') {
        if (!existsSync(m.Source)) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        continue;
      }
      if (m.Type !== 'volume') continue;
      const anonymous = !m.Source;
      const name = m.Source || newId();
      links.push({ volume: name, destination: m.Target, anonymous });
      volumeSources.set(m.Target, this.paths.volumeData(name));
    }
    const spec = buildSpec({
      id, config: n.config, hostConfig: n.hostConfig, rootfs, volumeSources, initBinary: MONITOR_PATH, cgroupNs: isCgroup2UnifiedMode(),
      hostsPath: this.paths.hostsPath(id), hostnamePath: this.paths.hostnamePath(id), resolvConfPath: this.paths.resolvConfPath(id),
    });
    if (annotations) spec.annotations = { ...(spec.annotations ?? {}), ...annotations };
    const userns = usernsMaps(n.hostConfig, id, new UsernsRanges(this.paths.root), (x) => !!this.store.get(x));
    if (userns) applyUserns(spec, userns);
    try {
      validateSpec(specToValidate(spec, n.hostConfig));
    } catch (e) {
      throw invalid((e as Error).message);
    }
    const rec: ContainerRecord = {
      id, name: n.name ?? '', image: n.image, rootfs, created: rfc3339Nano(), state: 'created', pid: 0, monitorPid: 0, monitorStart: '',
      startedAt: ZERO_TIME, finishedAt: ZERO_TIME, exitCode: 0, oomKilled: false, error: '', restartCount: 0, cleaned: true,
      config: n.config, hostConfig: n.hostConfig, spec, seccompFile: await this.seccompFile(spec, ''),
    };
    // one transaction: the name (unique in the database), the volumes and their links
    for (let attempt = 0; ; attempt++) {
      if (!n.name) rec.name = randomName(attempt);
      try {
        this.store.tx(() => {
          this.store.insertContainer(rec);
          for (const l of links) {
            this.store.insertVolume({ name: l.volume, driver: 'local', mountpoint: this.paths.volumeData(l.volume), created: rec.created, labels: {}, options: {}, anonymous: l.anonymous });
            this.store.linkVolume(id, l.volume, l.destination);
          }
          this.event(rec, 'create');
        });
        break;
      } catch (e) {
        if (!n.name && isEngineError(e, 'conflict') && attempt < 10) continue;
        throw e;
      }
    }
    try {
      for (const l of links) mkdirSync(this.paths.volumeData(l.volume), { recursive: true, mode: 0o755 });
      this.writeContainerFiles(rec);
      this.fresh.add(id);
    } catch (e) {
      this.removeRecord(rec, true);
      throw e;
    }
    return rec;
  }

  /** hosts, hostname and resolv.conf in the container's directory (bind-mounted into it). */
  private writeContainerFiles(rec: ContainerRecord): void {
    const dir = this.paths.containerDir(rec.id);
    mkdirSync(dir, { recursive: true, mode: 0o710 });
    const hostname = rec.spec.hostname ?? shortId(rec.id);
    const hostNet = rec.hostConfig.NetworkMode === 'host';
    const read = (p: string) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return '';
      }
    };
    if (!existsSync(this.paths.hostsPath(rec.id))) {
      const hosts = hostNet
        ? read('/etc/hosts')
        : `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t${hostname}\n`;
      writeFileSync(this.paths.hostsPath(rec.id), hosts);
    }
    if (!existsSync(this.paths.hostnamePath(rec.id))) writeFileSync(this.paths.hostnamePath(rec.id), `${hostname}\n`);
    if (!existsSync(this.paths.resolvConfPath(rec.id))) {
      let resolv = read('/etc/resolv.conf');
      if (!hostNet) {
        // docker: loopback name servers are unreachable from a container's own network
        resolv = resolv.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l)).join('\n');
        if (!/^\s*nameserver\s/m.test(resolv)) resolv += '\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n';
      }
      writeFileSync(this.paths.resolvConfPath(rec.id), resolv);
    }
  }

  // ---------------------------------------------------------------- start

  async start(ref: string, o: StartOptions = {}): Promise<{ rec: ContainerRecord; attach?: AttachClient }> {
    let rec = await this.getSettled(ref);
    if (rec.state === 'paused') throw conflict(`cannot start a paused container, try unpause instead`);
    if (rec.state === 'running' || rec.state === 'restarting') return { rec };
    if (rec.state === 'dead') throw conflict(`container ${rec.id} is marked for removal and cannot be started`);
    // the last run's exit command (`system cleanup`) may still be removing its cgroup and state dir
    if (!this.fresh.has(rec.id)) await awaitLeftovers(this.paths.stateDir(rec.id), (m) => this.warn(m), `starting ${shortId(rec.id)}`); // remove-wait.ts
    if (!rec.cleaned) {
      this.cleanup(rec);
      rec = this.store.get(rec.id) ?? rec;
    }
    // created by this engine just now (run): its files are written and it never had a cgroup
    const fresh = this.fresh.delete(rec.id);
    const stateDir = this.paths.stateDir(rec.id);
    rmTree(stateDir);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    if (!fresh) this.writeContainerFiles(rec);
    const rootMount = rec.spec.annotations?.[ANN_SNAPSHOT] ? await this.images.snapshotter.mountContainer(rec.id) : undefined; // again after a reboot
    // the plan's own copy (capabilities and the netns path change below): rec.spec is parsed JSON (a store record)
    const spec: Spec = jsonClone(rec.spec);
    let mgr: BerthCgroupManager | undefined;
    // the network is set up while the cgroup and the plan are made
    const netSetup = this.networking.setUp(rec);
    netSetup.catch(() => {});
    try {
      mgr = this.cgroup(rec);
      try {
        if (!fresh) mgr.destroy(); // a stale one from a crash
      } catch {
        /* none, or busy: create reports it */
      }
      mgr.create(containerResources(spec));
      for (const w of mgr.warnings) this.warn(w);
      const m = mgr;
      const seccomp = await this.seccompLoad(rec);
      if (spec.process?.capabilities) {
        const r = limitToHost(spec.process.capabilities);
        if (r.dropped.length && !rec.hostConfig.Privileged) this.warn(`${r.dropped.join(', ')}: not available to berth on this host; the container runs without them`);
        spec.process.capabilities = r.caps;
      }
      // a bridge netns's path is known while its helper still makes it: the plan is compiled meanwhile
      const plannedNetns = this.networking.plannedNetns(rec);
      const netns = plannedNetns ?? (await netSetup);
      if (netns) for (const ns of spec.linux?.namespaces ?? []) if (ns.type === 'network') ns.path = netns;
      const owners = await usernsRootfs(spec, rec.rootfs, rootMount?.overlay, this.paths, rec.id, (m) => this.warn(m));
      const plan = withLoopbackUp(compileCreate({
        spec, bundle: this.paths.containerDir(rec.id), mode: 'detach', ...owners,
        cgroup: { procsFiles: m.procsFiles(), mountPlan: (d, ns) => m.mountPlan(d, ns) },
        ...(spec.process?.terminal ? { consoleSocket: 'console.sock' } : {}),
        keyringName: rec.id,
        ...(seccomp ? { seccomp } : {}),
      }), spec); // docker's lo up in a --network none container (loopback.ts)
      if (plannedNetns) await netSetup;
      const dirs = m.dirs();
      const oomFile = dirs.memory ? join(dirs.memory, 'memory.oom_control') : dirs.unified && m.layout === 'v2' ? join(dirs.unified, 'memory.events') : undefined;
      const lc = rec.hostConfig.LogConfig;
      const exitCommand = this.opts.exitCommand === null ? undefined
        : this.opts.exitCommand ? this.opts.exitCommand(rec.id)
        : [process.execPath, BERTH_BIN, '--root', this.paths.root, '--state-root', this.paths.stateRoot, 'system', 'cleanup', rec.id];
      // the monitor runs the health check on its interval (health.ts)
      const health = monitorHealthArgs(rec, stateDir, [process.execPath, BERTH_BIN, '--root', this.paths.root, '--state-root', this.paths.stateRoot, 'healthcheck', 'run', rec.id], dirs);
      if (health.length) healthOnStart(this.store, rec);
      let monitorSeen: { pid: number; start: string } | undefined;
      const started = await startMonitor({
        stateDir, plan: encodePlan(plan), logPath: this.paths.logPath(rec.id, lc.Type), logType: lc.Type,
        maxSize: lc.Config['max-size'] ? parseSize(lc.Config['max-size']) : 0, maxFiles: Number(lc.Config['max-file'] ?? 1),
        restart: rec.hostConfig.RestartPolicy, openStdin: rec.config.OpenStdin, stdinOnce: rec.config.StdinOnce, tty: rec.config.Tty,
        ...(oomFile ? { oomFile } : {}), ...(exitCommand ? { exitCommand } : {}), attach: !!o.attach, extraArgs: health,
        onMonitor: (pid) => {
          monitorSeen = { pid, start: processStartTime(pid) ?? '' };
          this.store.update(rec.id, { monitorPid: pid, monitorStart: monitorSeen.start, cleaned: false });
        },
      });
      // the monitor's start time, read once (onMonitor's, for the same pid)
      const monitorStart = monitorSeen?.pid === started.monitorPid ? monitorSeen.start : (processStartTime(started.monitorPid) ?? '');
      const changes: Partial<ContainerRecord> = {
        state: 'running', pid: started.pid, monitorPid: started.monitorPid, monitorStart,
        startedAt: rfc3339Nano(), exitCode: 0, oomKilled: false, error: '', restartCount: 0, cleaned: false,
      };
      this.store.tx(() => {
        this.store.update(rec.id, changes);
        this.event(rec, 'start');
      });
      this.networking.started(rec.id);
      return { rec: { ...rec, ...changes } as ContainerRecord, ...(started.attach ? { attach: started.attach } : {}) };
    } catch (e) {
      if (mgr) this.destroyCgroup(rec);
      releaseUsernsRootfs(this.paths.root, rec.id, (m) => this.warn(m));
      rmTree(stateDir);
      await netSetup.catch(() => {});
      await this.networking.release(rec.id).catch(() => {});
      this.networking.started(rec.id);
      const err = e instanceof EngineError ? e : new EngineError('system', (e as Error).message);
      const code = err.kind === 'commandnotfound' ? 127 : err.kind === 'notexecutable' ? 126 : 128;
      this.store.update(rec.id, { exitCode: code, error: err.message, monitorPid: 0, monitorStart: '', cleaned: true });
      throw err;
    }
  }

  /** The compiled seccomp program of a spec (seccomp-file.ts); `known`: the file recorded at create. */
  private seccompFile(spec: Spec, known: string): Promise<string> {
    return seccompProgramOf(spec, this.paths.seccompCache(), known);
  }

  private seccompLoad(rec: ContainerRecord): Promise<SeccompLoad | undefined> {
    return seccompLoadOf(rec.spec, this.paths.seccompCache(), rec.seccompFile);
  }

  // ---------------------------------------------------------------- stop, kill, wait

  private signalInit(rec: ContainerRecord, sig: number): void {
    const pf = readPidFile(this.paths.stateDir(rec.id));
    const pid = pf?.pid || rec.pid;
    if (pid > 0 && alive(rec.monitorPid, rec.monitorStart)) {
      try {
        process.kill(pid, sig);
      } catch {
        /* exited meanwhile */
      }
    }
  }

  /** Waits until the monitor is gone (the container is down); false on timeout. */
  private async monitorGone(rec: ContainerRecord, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (let i = 0; Date.now() < until; i++) {
      if (!alive(rec.monitorPid, rec.monitorStart)) return true;
      await sleep(i < 50 ? 2 : 20);
    }
    return !alive(rec.monitorPid, rec.monitorStart);
  }

  private wakeMonitor(rec: ContainerRecord): void {
    if (alive(rec.monitorPid, rec.monitorStart)) {
      try {
        process.kill(rec.monitorPid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }

  private async forceDown(rec: ContainerRecord): Promise<void> {
    markStopped(this.paths.stateDir(rec.id));
    this.wakeMonitor(rec);
    try {
      const mgr = this.cgroup(rec);
      mgr.kill('SIGKILL');
      if (mgr.isFrozen()) mgr.thaw();
    } catch {
      /* no cgroup left */
    }
    this.signalInit(rec, 9);
    if (!(await this.monitorGone(rec, 10000))) {
      try {
        process.kill(rec.monitorPid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await this.monitorGone(rec, 2000);
    }
  }

  async stop(ref: string, o: StopOptions = {}): Promise<ContainerRecord> {
    const rec = this.get(ref);
    if (!isLive(rec.state)) return rec;
    const stateDir = this.paths.stateDir(rec.id);
    markStopped(stateDir);
    this.wakeMonitor(rec);
    const sig = parseSignal(o.signal ?? rec.config.StopSignal ?? 'SIGTERM');
    if (sig === null) throw invalid(`Invalid signal: ${o.signal}`);
    const timeout = o.timeout ?? rec.config.StopTimeout ?? 10;
    this.event(rec, 'kill', { signal: String(sig) });
    this.signalInit(rec, sig);
    if (rec.state === 'paused') {
      try {
        this.cgroup(rec).thaw();
      } catch {
        /* gone */
      }
    }
    if (timeout < 0 ? !(await this.monitorGone(rec, 24 * 3600 * 1000)) : !(await this.monitorGone(rec, timeout * 1000))) {
      await this.forceDown(rec);
    }
    const now = this.refresh(this.store.get(rec.id) ?? rec) ?? rec;
    this.event(rec, 'stop');
    return now;
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<ContainerRecord> {
    const rec = this.get(ref);
    const sig = parseSignal(signal);
    if (sig === null) throw invalid(`Invalid signal: ${signal}`);
    if (!isLive(rec.state) || rec.state === 'restarting') throw conflict(`Cannot kill container: ${ref}: container ${rec.id} is not running`);
    if (sig === 9 || sig === parseSignal(rec.config.StopSignal)) markStopped(this.paths.stateDir(rec.id));
    this.signalInit(rec, sig);
    if (rec.state === 'paused' && sig === 9) {
      try {
        this.cgroup(rec).thaw();
      } catch {
        /* gone */
      }
    }
    this.event(rec, 'kill', { signal: String(sig) });
    if (sig === 9) {
      if (!(await this.monitorGone(rec, 5000))) await this.forceDown(rec);
      return this.refresh(this.store.get(rec.id) ?? rec) ?? rec;
    }
    return rec;
  }

  async restart(ref: string, o: StopOptions = {}): Promise<ContainerRecord> {
    const rec = await this.stop(ref, o);
    const r = await this.start(rec.id);
    this.event(rec, 'restart');
    return r.rec;
  }

  /** Waits for the container to stop; returns its exit code. */
  async wait(ref: string, o: { signal?: AbortSignal } = {}): Promise<number> {
    const seq = this.store.lastEventSeq(); // removed elsewhere unseen: its status from the 'die' event (die-status.ts)
    const first = this.store.resolve(ref);
    const id = first.id;
    let rec = this.refresh(first);
    const restarts = rec?.restartCount ?? 0;
    let exited: number | undefined;
    let removal = 0;
    for (let i = 0; ; i++) {
      if (!rec) {
        // auto-removed on the way down, maybe by the monitor's cleanup: its root file system too
        if (first.spec.annotations?.[ANN_SNAPSHOT]) await this.settleSnapshot(id);
        // the remover releases the network too; a host port or a static address is free on return
        if (this.networking.holdsReusable(first)) await this.networking.release(id);
        await awaitLeftovers(this.paths.stateDir(id), (m) => this.warn(m), `removing ${shortId(id)}`); // remove-wait.ts
        return this.removedExit.get(id) ?? exited ?? dieStatus(this.store, id, seq) ?? 0;
      }
      if (!isLive(rec.state)) {
        // --rm whose cleanup another process claimed (the monitor's exit command, a parallel
        // CLI) and is doing now: answer once the container is gone, so `run --rm` returns with
        // nothing left. Bounded: a remover killed midway leaves the row to `rm`.
        if (!rec.hostConfig.AutoRemove || !rec.cleaned) return rec.exitCode;
        exited = rec.exitCode;
        removal ||= Date.now() + 3000;
        if (Date.now() > removal) return rec.exitCode;
        await sleep(i < 20 ? 1 : 5);
        rec = this.store.get(id);
        continue;
      }
      if (rec.state === 'restarting' || rec.restartCount !== restarts) return readExitFile(this.paths.stateDir(id))?.status ?? rec.exitCode;
      if (o.signal?.aborted) throw new EngineError('system', 'wait aborted');
      // a monitor winding down is gone within a few ms: poll finely at first (run --rm waits on it)
      if (alive(rec.monitorPid, rec.monitorStart)) await sleep(i < 20 ? 1 : i < 100 ? 5 : 100);
      rec = this.refresh(this.store.get(id) ?? rec);
    }
  }

  // ---------------------------------------------------------------- remove

  async remove(ref: string, o: RemoveOptions = {}): Promise<void> {
    let rec: ContainerRecord | undefined = o.force ? this.get(ref) : await this.getSettled(ref);
    if (isLive(rec.state)) {
      if (!o.force) {
        // docker 23+'s words, naming the container as its daemon does ("/name")
        if (rec.state === 'paused') throw conflict(`cannot remove container "/${rec.name}": container is paused and must be unpaused first`);
        throw conflict(`cannot remove container "/${rec.name}": container is ${rec.state}: stop the container before removing or force remove`);
      }
      await this.forceDown(rec);
      const id = rec.id;
      rec = this.refresh(this.store.get(rec.id) ?? rec);
      if (!rec) return awaitLeftovers(this.paths.stateDir(id), (m) => this.warn(m), `removing ${shortId(id)}`); // auto-removed on the way down
    }
    if (!rec.cleaned) this.cleanup(rec);
    else await this.networking.releaseAbandoned(rec.id); // a start killed before its monitor (issue 7)
    // the cleanup may have been claimed by another process (the monitor's exit command) that is
    // still at it: the cgroup is gone when rm returns, as docker's (idempotent, ~0.1 ms if gone)
    this.destroyCgroup(rec);
    const still = this.store.get(rec.id);
    if (still) this.removeRecord(still, !!o.volumes);
    await this.flush();
    // what the monitor left running (its exit command, a probe): gone too when rm returns (remove-wait.ts)
    await awaitLeftovers(this.paths.stateDir(rec.id), (m) => this.warn(m), `removing ${shortId(rec.id)}`);
  }

  private removeRecord(rec: ContainerRecord, anonymousVolumes: boolean): void {
    const vols = this.store.containerVolumes(rec.id);
    // the row and its destroy event in one transaction (one commit)
    const removed = this.store.tx(() => {
      if (!this.store.removeContainer(rec.id)) return false;
      this.event(rec, 'destroy');
      return true;
    });
    if (!removed) return;
    this.removedExit.set(rec.id, rec.exitCode);
    rmTree(this.paths.containerDir(rec.id));
    releaseUsernsRootfs(this.paths.root, rec.id, (m) => this.warn(m));
    rmTree(this.paths.stateDir(rec.id));
    forgetLeftoversIfDone(this.paths.stateDir(rec.id)); // else a waiting rm, wait or exit command does (remove-wait.ts)
    if (rec.hostConfig.UsernsMode?.startsWith('auto')) new UsernsRanges(this.paths.root).release(rec.id);
    if (rec.spec.annotations?.[ANN_SNAPSHOT]) {
      const p: Promise<void> = this.images.snapshotter.removeContainer(rec.id).catch((e: Error) => this.warn(`cannot remove the root filesystem of ${shortId(rec.id)}: ${e.message}`));
      this.pendingRemovals.add(p);
      void p.finally(() => this.pendingRemovals.delete(p));
    }
    if (anonymousVolumes) {
      for (const v of vols) {
        const vol = this.store.volume(v.volume);
        if (vol?.anonymous && this.store.volumeUsers(v.volume).length === 0) this.removeVolumeRecord(vol);
      }
    }
  }

  // ---------------------------------------------------------------- pause, rename, update

  pause(ref: string): ContainerRecord {
    const rec = this.get(ref);
    if (rec.state === 'paused') throw conflict(`Container ${rec.id} is already paused`);
    if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
    this.cgroup(rec).freeze();
    this.store.update(rec.id, { state: 'paused' }, ['running']);
    this.event(rec, 'pause');
    return { ...rec, state: 'paused' };
  }

  unpause(ref: string): ContainerRecord {
    const rec = this.get(ref);
    if (rec.state !== 'paused') throw conflict(`Container ${rec.id} is not paused`);
    this.cgroup(rec).thaw();
    this.store.update(rec.id, { state: 'running' }, ['paused']);
    this.event(rec, 'unpause');
    return { ...rec, state: 'running' };
  }

  rename(ref: string, newName: string): void {
    const rec = this.get(ref);
    const name = newName.replace(/^\//, '');
    if (!validName(name)) throw invalid(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (name === rec.name) throw conflict(`Renaming a container with the same name as its current name`);
    this.store.rename(rec.id, name);
    this.store.addEvent('container', 'rename', rec.id, { image: rec.image, name, oldName: `/${rec.name}` });
  }

  update(ref: string, u: UpdateOptions): ContainerRecord {
    const rec = this.get(ref);
    const hc: HostConfig = { ...rec.hostConfig };
    const field = <T>(flag: string, v: unknown, f: () => T): T => {
      try {
        return f();
      } catch (e) {
        throw invalid(`invalid argument "${String(v)}" for "${flag}" flag: ${(e as Error).message}`);
      }
    };
    if (u.memory !== undefined) hc.Memory = field('-m, --memory', u.memory, () => parseSize(u.memory!));
    if (u.memorySwap !== undefined) hc.MemorySwap = field('--memory-swap', u.memorySwap, () => parseSwap(u.memorySwap!));
    if (u.cpus !== undefined) hc.NanoCpus = field('--cpus', u.cpus, () => parseCpus(u.cpus!));
    if (u.cpuShares !== undefined) hc.CpuShares = u.cpuShares;
    if (u.cpusetCpus !== undefined) {
      if (!validCpuset(u.cpusetCpus)) throw invalid(`Invalid value ${u.cpusetCpus} for cpuset cpus`);
      hc.CpusetCpus = u.cpusetCpus;
    }
    if (u.pidsLimit !== undefined) hc.PidsLimit = u.pidsLimit;
    const blkioLive = applyBlkioUpdate(hc, u); // update-blkio.ts: null when no block I/O option
    let restart: RestartPolicy | undefined;
    if (u.restart !== undefined) {
      restart = field('--restart', u.restart, () => parseRestartPolicy(u.restart!));
      if (hc.AutoRemove && restart.Name !== 'no') throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
      hc.RestartPolicy = restart;
    }
    if (hc.Memory > 0 && hc.Memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
    if (hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
    checkUpdatedResources(hc); // resource-checks.ts: --cpus range, CPUs the host has, shares bounds
    const resources = resourcesOf(hc);
    const blockIO = specBlockIO(hc, rec.spec.linux?.resources?.blockIO);
    if (blockIO) resources.blockIO = blockIO;
    const spec: Spec = JSON.parse(JSON.stringify(rec.spec));
    spec.linux ??= {};
    spec.linux.resources = { ...resources, ...(rec.spec.linux?.resources?.devices ? { devices: rec.spec.linux.resources.devices } : {}) };
    if (isLive(rec.state)) {
      const { devices: _d, blockIO: _b, ...rest } = resources;
      const live: LinuxResources = { ...rest, ...(blkioLive ? { blockIO: blkioLive } : {}) };
      try {
        this.cgroup(rec).update(live);
      } catch (e) {
        throw new EngineError('system', `Cannot update container ${rec.id}: ${(e as Error).message}`);
      }
      if (restart) writeRestartPolicy(this.paths.stateDir(rec.id), restart);
    }
    this.store.update(rec.id, { hostConfig: hc, spec });
    this.event(rec, 'update');
    return { ...rec, hostConfig: hc, spec };
  }

  // ---------------------------------------------------------------- logs, exec, top, stats

  async *logs(ref: string, o: LogsOptions = {}): AsyncGenerator<LogEntry> {
    const rec = this.get(ref);
    const lc = rec.hostConfig.LogConfig;
    if (lc.Type === 'none') throw conflict(`configured logging driver does not support reading`);
    const since = o.since ? parseSince(o.since) : undefined;
    if (since === null) throw invalid(`invalid value for "since": ${o.since}`);
    const until = o.until ? parseSince(o.until) : undefined;
    if (until === null) throw invalid(`invalid value for "until": ${o.until}`);
    // (a timer of more than 2^31-1 ms fires after 1 ms: node's TimeoutOverflowWarning)
    if (o.pollMs !== undefined && !(Number.isFinite(o.pollMs) && o.pollMs > 0 && o.pollMs <= 0x7fffffff)) throw invalid(`invalid pollMs ${o.pollMs}: give a number of milliseconds > 0 and <= 2147483647`);
    const id = rec.id;
    yield* readLogs(this.paths.logPath(id, lc.Type), {
      format: lc.Type, maxFiles: Number(lc.Config['max-file'] ?? 1),
      ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}),
      ...(o.tail !== undefined && o.tail >= 0 ? { tail: o.tail } : {}),
      follow: !!o.follow,
      stillWriting: () => {
        const r = this.store.get(id);
        return !!r && isLive(r.state) && alive(r.monitorPid, r.monitorStart);
      },
      ...(o.signal ? { signal: o.signal } : {}), ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
      stateDir: this.paths.stateDir(id),
    });
  }

  /** Runs a process in a running container (through the runtime's exec plan). */
  async exec(ref: string, o: ExecOptions): Promise<ShimRun> {
    const rec = this.get(ref);
    if (rec.state === 'paused') throw conflict(`Container ${ref} is paused, unpause the container before exec`); // docker names it as given
    if (rec.state !== 'running') throw conflict(`Container ${rec.id} is not running`);
    if (!o.cmd.length) throw invalid('exec: no command given');
    const sp = rec.spec.process!;
    const env = new Map<string, string>();
    for (const e of [...(sp.env ?? [DEFAULT_PATH]), ...(o.env ?? [])]) {
      const i = e.indexOf('=');
      env.set(i < 0 ? e : e.slice(0, i), i < 0 ? (process.env[e] ?? '') : e.slice(i + 1));
    }
    if (o.tty && !env.has('TERM')) env.set('TERM', 'xterm');
    const user = o.user ? resolveUser(o.user, rec.rootfs) : undefined;
    let caps = sp.capabilities;
    if (o.privileged) {
      const { CAPABILITY_NAMES } = await import('../spec/capabilities.js');
      const all = [...CAPABILITY_NAMES];
      caps = { bounding: all, effective: all, permitted: all };
    }
    if (caps) caps = limitToHost(caps).caps;
    const p: Process = {
      terminal: !!o.tty, ...(o.tty && o.size ? { consoleSize: { height: o.size.rows, width: o.size.cols } } : {}), args: o.cmd, env: [...env].map(([k, v]) => `${k}=${v}`), cwd: o.workdir || sp.cwd || '/',
      user: user ? { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } : sp.user,
      ...(caps ? { capabilities: caps } : {}), ...(sp.noNewPrivileges ? { noNewPrivileges: true } : {}),
      ...(sp.rlimits ? { rlimits: sp.rlimits } : {}),
    };
    const pid = readPidFile(this.paths.stateDir(rec.id))?.pid || rec.pid;
    const namespaces = (rec.spec.linux?.namespaces ?? []).map((n) => ({ type: n.type, path: n.path ?? `/proc/${pid}/ns/${NS_FILE[n.type]}` }));
    const seccomp = o.privileged ? undefined : await this.seccompLoad(rec);
    const stdio = o.stdio ?? 'pipe';
    // a terminal is proxied by the shim to the caller's own (the CLI) or to pipes (the library:
    // no terminal to read sizes from, so they come on the shim's SIZE_FD)
    const out = Array.isArray(stdio) ? stdio[1] : stdio;
    if (o.tty && !o.detach && out === 'ignore') throw invalid('exec: a terminal (tty) needs stdout: the caller\'s own or a pipe');
    const sized = !!o.tty && !o.detach && out === 'pipe' && !o.shim;
    const plan = compileExec({
      process: p, namespaces, mode: o.detach ? 'detach' : 'wait', cgroupProcs: o.cgroupProcs ?? this.cgroup(rec).procsFiles(), setgroups: true,
      ...(o.tty && !o.detach ? { consoleProxy: true } : {}), ...(sized ? { consoleSizeFd: SIZE_FD } : {}), ...(seccomp ? { seccomp } : {}),
    });
    if (o.tty && o.detach) throw invalid('exec: -t with -d is not supported (no terminal to attach later)');
    const run = await (o.shim ? o.shim.run(encodePlan(plan)) : runShim(encodePlan(plan), o.detach ? 'ignore' : stdio, { sizeFd: sized }));
    this.event(rec, 'exec_start', { execID: String(run.pid) });
    return run;
  }

  /** `ps` of the container's processes (docker top). */
  top(ref: string, psArgs: string[] = ['-ef']): { Titles: string[]; Processes: string[][] } {
    const rec = this.get(ref);
    if (!isLive(rec.state)) throw conflict(`Container ${rec.id} is not running`);
    const pids = new Set(this.cgroup(rec).pids());
    const out = execFileSync('ps', psArgs, { encoding: 'utf8' });
    const lines = out.split('\n').filter(Boolean);
    const header = lines.shift() ?? '';
    const titles = header.trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw invalid(`Couldn't find PID field in ps output`);
    const procs: string[][] = [];
    for (const l of lines) {
      const f = l.trim().split(/\s+/);
      if (!pids.has(Number(f[pidCol]))) continue;
      procs.push([...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')]);
    }
    return { Titles: titles, Processes: procs };
  }

  /** One sample of resource use; CPU % over `intervalMs`. */
  async stats(ref: string, intervalMs = 500): Promise<ContainerStats> {
    const rec = this.get(ref);
    const base: ContainerStats = { id: rec.id, name: rec.name, cpuPercent: 0, memUsage: 0, memLimit: 0, memPercent: 0, pids: 0, blockRead: 0, blockWrite: 0 };
    if (!isLive(rec.state)) return base;
    const mgr = this.cgroup(rec);
    const a = mgr.stats();
    const t0 = process.hrtime.bigint();
    await sleep(intervalMs);
    let b;
    try {
      b = mgr.stats();
    } catch {
      return base;
    }
    const dt = Number(process.hrtime.bigint() - t0);
    const cpu = ((b.cpu?.usageNs ?? 0) - (a.cpu?.usageNs ?? 0)) / dt;
    const hostMem = Number(readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0) * 1024;
    const limit = b.memory?.limit && b.memory.limit > 0 && b.memory.limit < hostMem ? b.memory.limit : hostMem;
    const usage = b.memory?.usage ?? 0;
    return {
      ...base, cpuPercent: Math.max(0, cpu * 100), memUsage: usage, memLimit: limit, memPercent: limit ? (usage / limit) * 100 : 0,
      pids: b.pids?.current ?? 0, blockRead: b.blkio?.readBytes ?? 0, blockWrite: b.blkio?.writeBytes ?? 0,
    };
  }

  /** Connects to a running container's stdio. */
  async attach(ref: string): Promise<AttachClient> {
    const rec = await this.getSettled(ref);
    if (!isLive(rec.state)) throw conflict(`You cannot attach to a stopped container, start it first`);
    if (rec.state === 'paused') throw conflict(`You cannot attach to a paused container, unpause it first`);
    const c = await AttachClient.connect(this.paths.stateDir(rec.id));
    this.event(rec, 'attach');
    return c;
  }

  // ---------------------------------------------------------------- volumes

  createVolume(o: { name?: string; labels?: Record<string, string>; driver?: string; options?: Record<string, string> } = {}): VolumeRecord {
    if (o.driver && o.driver !== 'local') throw notFound(`plugin "${o.driver}" not found: berth has the local volume driver only`);
    if (o.options && Object.keys(o.options).length) throw invalid(`invalid option for the local volume driver: ${Object.keys(o.options).join(', ')} (berth's local driver takes no options yet)`);
    const name = o.name ?? newId();
    const bad = volumeNameError(name); // volume-names.ts: docker's local driver rule and words
    if (bad) throw invalid(`create ${name}: ${bad}`);
    const v: VolumeRecord = { name, driver: 'local', mountpoint: this.paths.volumeData(name), created: rfc3339Nano(), labels: o.labels ?? {}, options: {}, anonymous: !o.name };
    mkdirSync(v.mountpoint, { recursive: true, mode: 0o755 });
    if (this.store.insertVolume(v)) this.store.addEvent('volume', 'create', name, { driver: 'local' });
    return this.store.volume(name)!;
  }

  listVolumes(filters: Record<string, string[]> = {}): VolumeRecord[] {
    checkVolumeFilters(filters); // volume-filters.ts: docker's keys
    return this.store.volumes().filter((v) => {
      if (filters.name?.length && !filters.name.some((n) => v.name.includes(n))) return false;
      if (filters.driver?.length && !filters.driver.includes(v.driver)) return false;
      if (filters.dangling?.length) {
        const dangling = this.store.volumeUsers(v.name).length === 0;
        if (!filters.dangling.some((d) => (d === 'true' || d === '1') === dangling)) return false;
      }
      if (filters.label?.length) {
        for (const l of filters.label) {
          const i = l.indexOf('=');
          const k = i < 0 ? l : l.slice(0, i);
          if (!(k in v.labels) || (i >= 0 && v.labels[k] !== l.slice(i + 1))) return false;
        }
      }
      return true;
    });
  }

  volume(name: string): VolumeRecord {
    const v = this.store.volume(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  removeVolume(name: string, o: { force?: boolean } = {}): void {
    const v = this.store.volume(name);
    if (!v) {
      if (o.force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    this.removeVolumeRecord(v);
  }

  private removeVolumeRecord(v: VolumeRecord): void {
    if (this.store.removeVolume(v.name)) {
      rmSync(join(this.paths.volumesDir(), v.name), { recursive: true, force: true });
      this.store.addEvent('volume', 'destroy', v.name, { driver: 'local' });
    }
  }

  /** Removes unused volumes (anonymous ones only unless `all`); returns names and bytes freed. */
  pruneVolumes(o: { all?: boolean } = {}): { removed: string[]; bytes: number } {
    const removed: string[] = [];
    let bytes = 0;
    for (const v of this.store.volumes()) {
      if (!o.all && !v.anonymous) continue;
      if (this.store.volumeUsers(v.name).length) continue;
      bytes += duBytes(v.mountpoint);
      try {
        this.removeVolumeRecord(v);
        removed.push(v.name);
      } catch (e) {
        if (!isEngineError(e, 'conflict')) throw e; // taken meanwhile
      }
    }
    return { removed, bytes };
  }

  // ---------------------------------------------------------------- events

  /** Events from the store (after `since`), then new ones as they happen until aborted. */
  async *events(o: { since?: string; until?: string; signal?: AbortSignal; follow?: boolean; pollMs?: number } = {}): AsyncGenerator<EngineEvent> {
    const since = o.since ? parseSince(o.since) : undefined;
    if (since === null) throw invalid(`invalid value for "since": ${o.since}`);
    const until = o.until ? parseSince(o.until) : undefined;
    if (until === null) throw invalid(`invalid value for "until": ${o.until}`);
    let seq = since === undefined ? this.store.lastEventSeq() : 0;
    const follow = o.follow ?? until === undefined;
    for (;;) {
      this.reconcile();
      for (const e of this.store.events(seq, since ?? 0n)) {
        seq = e.seq;
        if (until !== undefined && e.timeNano > until) return;
        yield e;
      }
      if (!follow || o.signal?.aborted) return;
      if (until !== undefined && nowNano() > until) return;
      await abortableSleep(o.pollMs ?? 200, o.signal); // removes its abort listener each poll
      if (o.signal?.aborted) return;
    }
  }
}

function conflictName(name: string, id: string): EngineError {
  return conflict(`Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
}
