// Shared helpers of the benchmarks: a busybox bundle, timing, statistics and tables.
// Benchmarks print figures; they assert nothing about time (the machine is noisy: compare the
// ratios measured in one run, not figures across runs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(REPO, 'dist');
export const BERTH_OCI = join(REPO, 'bin', 'berth-oci');

export function requireRootAndBuild() {
  if (process.getuid?.() !== 0) {
    console.error('benchmarks start real containers and must run as root');
    process.exit(1);
  }
  if (!existsSync(join(DIST, 'berth-shim')) || !existsSync(join(DIST, 'src', 'runtime', 'launch.js'))) {
    console.error('berth is not built: run "npm run build" first');
    process.exit(1);
  }
}

export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** A bundle with a busybox rootfs and berth's default spec running `args`, for every runtime. */
export async function makeBenchBundle(args, edit) {
  const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
  const { defaultSpec } = await import(join(DIST, 'src', 'spec', 'default-spec.js'));
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  mkdirSync(join(dir, 'rootfs'));
  makeBusyboxRootfs(join(dir, 'rootfs'));
  const spec = defaultSpec({ args });
  spec.process.terminal = false;
  edit?.(spec);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return { dir, spec };
}

/** Milliseconds since t0 (from process.hrtime.bigint()). */
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Times one synchronous command; throws with its stderr when it fails. */
export function timeCmd(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60000, ...opts });
  const ms = msSince(t0);
  if (r.status !== (opts.expect ?? 0)) {
    throw new Error(`${cmd} ${args.join(' ')}: status ${r.status}${r.error ? ` (${r.error.message})` : ''}: ${r.stderr?.trim()}`);
  }
  return ms;
}

/**
 * Medians of `fb` and `fp` (synchronous spawns) run in turns, `n` times each after one warm-up
 * each: the machine is shared and its load changes within a run, and the ratio is what counts.
 * `fp` may be undefined (no peer). Throws when a command exits non-zero.
 */
export function timePair(fb, fp, n) {
  fb();
  fp?.();
  const bs = [];
  const ps = [];
  for (let i = 0; i < n; i++) {
    for (const [f, xs] of [[fb, bs], [fp, ps]]) {
      if (!f) continue;
      const t0 = process.hrtime.bigint();
      const r = f();
      xs.push(msSince(t0));
      if (r.status !== 0) throw new Error(`status ${r.status}: ${r.stderr}`);
    }
  }
  return [stats(bs).median, fp ? stats(ps).median : undefined];
}

export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { n: s.length, median: q(0.5), min: s[0], max: s[s.length - 1], p90: q(0.9) };
}

export function table(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')).join('\n');
}

export const f1 = (x) => (x === undefined ? '-' : x.toFixed(1));
export const f2 = (x) => (x === undefined ? '-' : x.toFixed(2));

/** Hybrid cgroup layout: crun refuses it while unified/cgroup.controllers is visible. */
export function crunNeedsHiding() {
  return existsSync('/sys/fs/cgroup/unified/cgroup.controllers');
}

/** crun's argv, through a private mount namespace that hides the hybrid layout when needed. */
export function crunCommand(args) {
  if (!crunNeedsHiding()) return ['crun', args];
  return ['unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec crun "$@"', 'sh', ...args]];
}
