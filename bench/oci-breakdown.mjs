// Where the time of one `berth-oci run` (/bin/true, busybox bundle) goes: runs the CLI K times
// under `node --cpu-prof` (50 us sampling), puts every sample of each profile into a phase by its
// stack, and prints the median per phase. "node start-up" is the wall time outside the profile
// (process start to the first line of the entry, plus exit).
// Usage: node bench/oci-breakdown.mjs [runs=10]   (BENCH_N also sets it)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_OCI, f1, makeBenchBundle, msSince, requireRootAndBuild, stats, table } from './lib.mjs';

requireRootAndBuild();
const K = Number(process.argv[2] ?? process.env.BENCH_N ?? 10);
const { dir: bundle } = await makeBenchBundle(['/bin/true']);
const profDir = mkdtempSync(join(tmpdir(), 'berth-prof-'));

const frameName = (cf) => cf.functionName || '(anon)';
const chunkOf = (url) => url.replace(/^.*\//, '').replace(/-[A-Z0-9]{8}\.js$/, '');

/** The phase of one sample, from its stack (leaf first). */
function phase(stack) {
  const leaf = stack[0];
  if (leaf.functionName === '(idle)') return 'idle: waiting for shim/container';
  if (leaf.functionName === '(garbage collector)') return 'GC';
  if (leaf.functionName === '(program)') return 'V8/native (program)';
  const names = new Set(stack.map((cf) => cf.functionName));
  const urls = stack.map((cf) => cf.url);
  if (urls.some((u) => u.startsWith('node:internal/modules/')) || names.has('compileForInternalLoader') || names.has('requireBuiltin')) {
    return 'module loading (resolve/read/compile, builtins)';
  }
  if (names.has('compileCreate') || names.has('encodePlan')) return 'plan compile';
  if (names.has('parseSpec') || names.has('loadSpec')) return 'spec read + validate';
  if (names.has('seccompFor')) return 'seccomp';
  const inCgroups = urls.some((u) => chunkOf(u) === 'cgroups') || names.has('cgroupFor');
  if (inCgroups && (names.has('destroy') || names.has('kill'))) return 'cgroup kill + destroy';
  if (inCgroups) return 'cgroup open + create';
  if (names.has('launch') || names.has('spawn') || names.has('onStreamRead')) return 'spawn shim + sync socket';
  if (names.has('waitGone') || names.has('processStartTime') || names.has('isAlive')) return 'process checks';
  if (['write', 'reserve', 'remove', 'load'].some((n) => names.has(n)) && urls.some((u) => chunkOf(u) === 'runtime')) return 'state files';
  if (urls.some((u) => u.includes('pre_execution') || u.includes('run_main'))) return 'node pre-execution';
  return 'other JS';
}

const perRun = [];
const walls = [];
for (let i = 0; i < K + 1; i++) {
  const dir = join(profDir, String(i));
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '50', BERTH_OCI, '--root', join(bundle, 'state'), 'run', '--bundle', bundle, `bd-${process.pid}-${i}`], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = msSince(t0);
  if (r.status !== 0) throw new Error(`berth-oci run failed (${r.status}): ${r.stderr}`);
  if (i === 0) continue; // warm-up (page cache)
  const p = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const acc = new Map();
  p.samples.forEach((id, j) => {
    const stack = [];
    for (let x = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x).callFrame);
    const k = phase(stack.filter((cf) => cf.functionName !== '(root)'));
    acc.set(k, (acc.get(k) ?? 0) + (p.timeDeltas[j] ?? 0) / 1000);
  });
  const span = (p.endTime - p.startTime) / 1000;
  acc.set('node start-up + exit (outside profile)', wall - span);
  perRun.push(acc);
  walls.push(wall);
}
rmSync(profDir, { recursive: true, force: true });
rmSync(bundle, { recursive: true, force: true });

const keys = [...new Set(perRun.flatMap((m) => [...m.keys()]))];
const rows = [['phase', 'median ms', 'min', 'max']];
const med = keys.map((k) => [k, stats(perRun.map((m) => m.get(k) ?? 0))]).sort((a, b) => b[1].median - a[1].median);
for (const [k, s] of med) rows.push([k, f1(s.median), f1(s.min), f1(s.max)]);
const w = stats(walls);
rows.push(['= wall time of berth-oci run', f1(w.median), f1(w.min), f1(w.max)]);
console.log(`oci-breakdown: ${K} profiled runs of berth-oci run /bin/true (--cpu-prof, 50 us; profiling adds some overhead)`);
console.log(table(rows));
