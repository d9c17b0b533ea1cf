// Health checks, daemonless: a container's monitor (native/berth-monitor.c) runs
// `berth healthcheck run ID` on the check's interval while the container runs (podman uses
// systemd timers for the same job); each run execs the test in the container, records the
// result in the store (docker's State.Health: status, failing streak, the last 5 results) and
// emits `health_status: ...` events when the status changes.
//
// A probe runs in a cgroup of its own below the container's (health-probe.ts): at its timeout
// everything it started is killed, children forked meanwhile included. While the container is
// paused there is no probe, and a probe caught by a pause is not recorded (docker stops the
// health monitor on pause and drops the probe in flight: its daemon/health.go).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from './engine.js';
import { conflict, EngineError } from './errors.js';
import { effectiveHealth } from './health-config.js';
import { ProbeCgroup } from './health-probe.js';
import { shortId } from './ids.js';
import { readHealth, recordHealth, resetHealth, type HealthResult, type HealthState, type HealthStatus } from './store/health.js';
import type { Store } from './store/db.js';
import { parseRfc3339, rfc3339Nano } from './time.js';
import type { ContainerRecord } from './types.js';

export type { HealthState, HealthStatus, HealthResult };

/** docker keeps this much of a probe's output, and this many results. */
const MAX_OUTPUT = 4096;
const MAX_LOG = 5;

export interface HealthcheckRun {
  /** The probe passed (exit 0). */
  healthy: boolean;
  result: HealthResult;
  state: HealthState;
}

/** The monitor's schedule for a container's check: milliseconds, and the file with the command. */
export function monitorHealthArgs(rec: ContainerRecord, stateDir: string, command: string[] | undefined, cgroupDirs: Record<string, string> = {}): string[] {
  const h = effectiveHealth(rec.config.Healthcheck);
  if (!h || !command) return [];
  // argv as NUL-separated strings: the monitor execs it without a shell
  writeFileSync(join(stateDir, 'healthcmd'), command.map((a) => `${a}\0`).join(''), { mode: 0o600 });
  const ms = (ns: number) => String(Math.max(1, Math.round(ns / 1e6)));
  const a = ['-H', ms(h.interval)];
  if (h.startPeriod > 0) a.push('-P', ms(h.startPeriod), '-I', ms(h.startInterval));
  // where the monitor sees a pause (the freezer that pause uses: v1, or v2 on a hybrid/v2 host),
  // so that it starts no probe then, rather than one that finds the container paused
  if (cgroupDirs.freezer) a.push('-F', join(cgroupDirs.freezer, 'freezer.state'));
  if (cgroupDirs.unified) a.push('-F', join(cgroupDirs.unified, 'cgroup.freeze'));
  return a;
}

/** Called when a container (re)starts: its health is `starting` again. */
export function healthOnStart(store: Store, rec: ContainerRecord): void {
  if (effectiveHealth(rec.config.Healthcheck)) resetHealth(store, rec.id);
}

/** docker's State.Health of a container (undefined without a check). */
export function healthOf(store: Store, rec: ContainerRecord): HealthState | undefined {
  if (!effectiveHealth(rec.config.Healthcheck)) return undefined;
  return readHealth(store, rec.id) ?? { Status: 'starting', FailingStreak: 0, Log: [] };
}

/** docker ps's health filter value: starting, healthy, unhealthy or none. */
export function healthFilterValue(store: Store, rec: ContainerRecord): string {
  return healthOf(store, rec)?.Status ?? 'none';
}

/** Runs the container's check once and records the result. */
export async function runHealthcheck(engine: Engine, ref: string): Promise<HealthcheckRun> {
  const rec = engine.get(ref);
  const h = effectiveHealth(rec.config.Healthcheck);
  if (!h) throw new EngineError('invalid', `container ${shortId(rec.id)} has no health check (create it with --health-cmd, or from an image with a HEALTHCHECK)`);
  if (rec.state === 'paused') throw conflict(`container ${rec.id} is paused: its health check does not run until it is unpaused`);
  if (rec.state !== 'running') throw conflict(`container ${rec.id} is not running`);
  const start = rfc3339Nano();
  let exitCode: number;
  let output = '';
  const keep = (d: Buffer) => {
    if (output.length < MAX_OUTPUT) output += d.toString('utf8');
  };
  const cg = ProbeCgroup.create(rec);
  try {
    const run = await engine.exec(rec.id, { cmd: h.test, stdio: ['ignore', 'pipe', 'pipe'], ...(cg ? { cgroupProcs: cg.procsFiles } : {}) });
    run.stdout?.on('data', keep);
    run.stderr?.on('data', keep);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), h.timeout / 1e6);
    });
    const r = await Promise.race([run.exit, timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') {
      // everything in the probe's cgroup (whatever it forked), or without one its process tree; then the shim
      if (!cg || !(await cg.killAll())) killTree(run.pid);
      killTree(run.shim.pid ?? 0);
      // let the exec finish its own clean-up (bounded: a process stuck in D state must not hang us)
      await Promise.race([run.exit.catch(() => undefined), new Promise((res) => setTimeout(res, 2000).unref())]);
      exitCode = -1;
      output = output ? `Health check exceeded timeout (${formatSeconds(h.timeout)}): ${output}` : `Health check exceeded timeout (${formatSeconds(h.timeout)})`;
    } else {
      exitCode = r;
      // the shim's 'exit' can come before the last output is read from its pipes: drain them
      // (what the probe left in the background may hold them open: it goes first)
      if (cg) await cg.killAll();
      await drained([run.stdout, run.stderr], 1000);
    }
  } catch (e) {
    // the probe could not start (its program is missing): a failed probe, as in docker
    exitCode = e instanceof EngineError && e.kind === 'commandnotfound' ? 127 : e instanceof EngineError && e.kind === 'notexecutable' ? 126 : 1;
    output = (e as Error).message;
  } finally {
    // a probe leaves nothing behind: what it put in the background goes with it
    await cg?.remove();
  }
  // paused meanwhile (the probe was frozen with the container): no result, as docker drops it
  if (engine.get(rec.id).state === 'paused') throw conflict(`container ${rec.id} was paused during its health check: the result is not recorded`);
  const result: HealthResult = { Start: start, End: rfc3339Nano(), ExitCode: exitCode, Output: output.slice(0, MAX_OUTPUT) };
  const startedNs = parseRfc3339(rec.startedAt) ?? 0n;
  const inStartPeriod = h.startPeriod > 0 && Number(parseRfc3339(start)! - startedNs) < h.startPeriod;
  const rec2 = recordHealth(engine.store, rec.id, (cur) => {
    const Log = [...cur.Log, result].slice(-MAX_LOG);
    if (exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
    // failures in the start period do not count while the container has never been healthy
    if (inStartPeriod && cur.Status === 'starting') return { ...cur, Log };
    const FailingStreak = cur.FailingStreak + 1;
    return { Status: FailingStreak >= h.retries ? 'unhealthy' : cur.Status, FailingStreak, Log };
  });
  if (!rec2) throw new EngineError('notfound', `No such container: ${ref}`);
  if (rec2.after.Status !== rec2.before.Status) engine.store.addEvent('container', `health_status: ${rec2.after.Status}`, rec.id, { image: rec.image, name: rec.name });
  return { healthy: exitCode === 0, result, state: rec2.after };
}

/** Resolves once every stream has ended (or after ms). */
function drained(streams: (NodeJS.ReadableStream | null | undefined)[], ms: number): Promise<void> {
  const ends = streams.filter((x): x is NodeJS.ReadableStream => !!x && !(x as { readableEnded?: boolean }).readableEnded).map((x) => new Promise<void>((res) => {
    x.once('end', res);
    x.once('close', res);
  }));
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([Promise.all(ends).then(() => undefined), new Promise<void>((res) => (timer = setTimeout(res, ms)))]).finally(() => clearTimeout(timer));
}

/** SIGKILL to pid and its descendants as they are now (the fallback without a probe cgroup). */
function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      if (p > 0) process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** pid and its descendants (from /proc: ppid of every process), parents first. */
function processTree(pid: number): number[] {
  if (!(pid > 0)) return [];
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(e));
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Go's Duration.String for whole and fractional seconds ("30s", "1.5s"). */
function formatSeconds(ns: number): string {
  return `${ns / 1e9}s`;
}
