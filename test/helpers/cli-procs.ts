// Helpers for CLI tests that start many `berth` processes at once or kill them (root): the CLI
// as a child process, a bounded pool, polling with a generous limit, and a leak scan of what a
// container can leave on the host (cgroups, mounts, processes, host veths).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { BERTH, type R, type TestBerth } from './berth-cli.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CliProc {
  child: ReturnType<typeof spawn>;
  /** Resolves when the process has ended and its pipes are drained. */
  done: Promise<R>;
  /** stdout so far. */
  stdout(): string;
}

/** `berth ARGS` of t's root as a child process (stdin: input, or a pipe left open). */
export function startCli(t: TestBerth, args: string[], input?: string): CliProc {
  const child = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.on('error', () => {});
  if (input !== undefined) child.stdin!.end(input);
  const done = new Promise<R>((res) => child.on('close', (status) => res({ status, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

/** Polls fn until it returns something truthy; fails the test after ms. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 20000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const v = await fn();
    if (v) return v;
  }
  return assert.fail(`timed out waiting for ${what}`);
}

/** Runs fn over items, at most n at a time; results in the items' order. */
export async function pool<I, O>(items: I[], n: number, fn: (i: I, k: number) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]!, k);
    }
  }));
  return out;
}

/** The host end of a container's veth on a network (src/network/links.ts names it so). */
export function vethOf(networkId: string, containerId: string): string {
  return 'bv' + createHash('sha256').update(`${networkId}/${containerId}`).digest('hex').slice(0, 13);
}

/** What berth could leave behind for these container ids: cgroups, mounts (rootfs, netns), processes, host veths. */
export function leaks(ids: string[], networkIds: string[] = []): string[] {
  const out: string[] = [];
  for (const h of ['memory', 'pids', 'cpu', 'cpuacct', 'freezer', 'blkio', 'devices', 'cpuset', 'unified']) {
    const d = `/sys/fs/cgroup/${h}/berth`;
    if (existsSync(d)) for (const e of readdirSync(d)) if (ids.includes(e)) out.push(`cgroup ${d}/${e}`);
  }
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) if (ids.some((id) => l.includes(id))) out.push(`mount ${l}`);
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      // a zombie holds nothing but its pid; it is its (new) parent's to reap, not berth's
      if (/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${p}/stat`, 'utf8'))) continue;
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const cg = readFileSync(`/proc/${p}/cgroup`, 'utf8');
      if (ids.some((id) => cmd.includes(id) || cg.includes(id))) out.push(`process ${p} ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  const links = new Set(readdirSync('/sys/class/net'));
  for (const net of networkIds) for (const id of ids) if (links.has(vethOf(net, id))) out.push(`link ${vethOf(net, id)} of ${id}`);
  return out;
}

/** Full ids of the containers (any state) carrying `label`. */
export const labelledIds = (t: TestBerth, label: string): string[] =>
  t.run(['ps', '-aq', '--no-trunc', '--filter', `label=${label}`]).stdout.split('\n').filter(Boolean);

/** Ids of the containers named TAG-* from the event log's `action` events. */
export function eventIds(t: TestBerth, action: string, tag: string): string[] {
  const ev = t.run(['events', '--since', '30m', '--until', '0s', '--filter', `event=${action}`, '--format', 'json']).stdout;
  return ev.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Actor: { ID: string; Attributes: { name?: string } } })
    .filter((e) => e.Actor.Attributes.name?.startsWith(`${tag}-`)).map((e) => e.Actor.ID);
}
