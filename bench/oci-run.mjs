// `run` of /bin/true, foreground, one config.json for every runtime (berth's default spec: pid,
// net, ipc, uts, mnt namespaces, no seccomp, no terminal), timed interleaved in one run:
//   berth-oci run          the CLI: node start-up + spec + cgroups + shim + delete
//   runc run, crun run     the peers (crun through a private mount namespace on a hybrid host)
//   shim path              the plan compiled once in this warm process, then only launch()+exit
//                          per run (what an engine that keeps node running pays)
//   Runtime.run warm       the whole lifecycle (spec, cgroup create/delete, state) in this process
//   node -e 0, crun wrapper  fixed costs, for reading the figures above
// Usage: node bench/oci-run.mjs [iterations=30]   (BENCH_N also sets it)
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_OCI, DIST, crunCommand, crunNeedsHiding, f1, f2, have, makeBenchBundle, msSince, requireRootAndBuild, stats, table, timeCmd } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 30);
const WARMUP = 3;

// crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified"): 1.0.2 suits all three
const { dir: bundle } = await makeBenchBundle(['/bin/true'], (s) => (s.ociVersion = '1.0.2'));
const root = (name) => join(bundle, `state-${name}`);
let seq = 0;
const nextId = (name) => `bench-${name}-${process.pid}-${seq++}`;

const { parseSpec } = await import(join(DIST, 'src/spec/validate.js'));
const { compileCreate } = await import(join(DIST, 'src/runtime/compile.js'));
const { encodePlan } = await import(join(DIST, 'src/runtime/plan.js'));
const { launch } = await import(join(DIST, 'src/runtime/launch.js'));
const { containerResources } = await import(join(DIST, 'src/runtime/device-rules.js'));
const { openCgroupManager } = await import(join(DIST, 'src/cgroups/index.js'));
const { Runtime } = await import(join(DIST, 'src/runtime/runtime.js'));

// The shim path: one compiled plan and one cgroup (created once, joined by every run).
const spec = parseSpec(readFileSync(join(bundle, 'config.json'), 'utf8'), { bundle });
const shimCg = openCgroupManager(undefined, `berth-bench-shim-${process.pid}`);
shimCg.create(containerResources(spec));
const plan = encodePlan(compileCreate({
  spec, bundle, mode: 'wait', consoleProxy: false,
  cgroup: { procsFiles: shimCg.procsFiles(), mountPlan: (d, ns) => shimCg.mountPlan(d, ns) },
}));
const warmRuntime = new Runtime({ root: root('warm') });

const runners = [
  // the executable, as podman or a user runs it (its shebang starts node without NODE_EXTRA_CA_CERTS)
  { name: 'berth-oci run', run: () => timeCmd(BERTH_OCI, ['--root', root('berth'), 'run', '--bundle', bundle, nextId('b')]) },
];
if (have('runc')) runners.push({ name: 'runc run', run: () => timeCmd('runc', ['--root', root('runc'), 'run', '--bundle', bundle, nextId('r')]) });
if (have('crun')) {
  runners.push({ name: 'crun run', run: () => timeCmd(...crunCommand(['--root', root('crun'), 'run', '--bundle', bundle, nextId('c')])) });
}
runners.push({
  name: 'shim path (warm)',
  run: async () => {
    const t0 = process.hrtime.bigint();
    const l = await launch(plan);
    const code = await l.exit;
    const ms = msSince(t0);
    if (code !== 0) throw new Error(`shim path: container exited with ${code}`);
    return ms;
  },
});
runners.push({
  name: 'Runtime.run (warm)',
  run: async () => {
    const t0 = process.hrtime.bigint();
    const code = await warmRuntime.run(nextId('w'), { bundle });
    const ms = msSince(t0);
    if (code !== 0) throw new Error(`Runtime.run: container exited with ${code}`);
    return ms;
  },
});
// node as bin/berth-oci starts it: without NODE_EXTRA_CA_CERTS (parsed at every start: ~90 ms here)
const nodeEnv = { ...process.env };
delete nodeEnv.NODE_EXTRA_CA_CERTS;
runners.push({ name: 'node -e 0', run: () => timeCmd(process.execPath, ['-e', '0'], { env: nodeEnv }) });
if (have('crun') && crunNeedsHiding()) {
  runners.push({ name: 'crun wrapper alone', run: () => timeCmd('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec true']) });
}

const times = new Map(runners.map((r) => [r.name, []]));
// dist/ may be rebuilt under a running bench (EACCES/ETXTBSY): a runner is given up only after
// three failures in a row; every failure is reported
const failed = new Map();
const errors = new Map();
const streak = new Map();
try {
  for (let i = 0; i < WARMUP + N; i++) {
    // rotate the order so no runner always follows the same one
    for (let k = 0; k < runners.length; k++) {
      const r = runners[(i + k) % runners.length];
      if (failed.has(r.name)) continue;
      try {
        const ms = await r.run();
        if (i >= WARMUP) times.get(r.name).push(ms);
        streak.set(r.name, 0);
      } catch (e) {
        errors.set(r.name, [...(errors.get(r.name) ?? []), e.message]);
        streak.set(r.name, (streak.get(r.name) ?? 0) + 1);
        if (streak.get(r.name) >= 3) failed.set(r.name, e.message);
      }
    }
  }
} finally {
  shimCg.destroy();
}

console.log(`oci-run: ${N} runs each (after ${WARMUP} warm-up), interleaved; /bin/true in a busybox bundle, one config.json (${bundle})`);
if (crunNeedsHiding()) console.log('crun runs through `unshare -m sh -c "mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec crun ..."` (it refuses the hybrid layout otherwise); "crun wrapper alone" is that overhead');
console.log('shim path: plan compiled once, one cgroup created once and joined per run; times launch() + exit only');
const S = new Map([...times].filter(([, v]) => v.length).map(([k, v]) => [k, stats(v)]));
const rows = [['', 'median ms', 'min', 'p90', 'max']];
for (const [k, s] of S) rows.push([k, f1(s.median), f1(s.min), f1(s.p90), f1(s.max)]);
console.log(table(rows));
const ratio = (a, b) => (S.get(a) && S.get(b) ? `${a} / ${b} = ${f2(S.get(a).median / S.get(b).median)}` : null);
const ratios = [
  ratio('berth-oci run', 'runc run'),
  ratio('berth-oci run', 'crun run'),
  ratio('shim path (warm)', 'crun run'),
  ratio('shim path (warm)', 'runc run'),
  ratio('Runtime.run (warm)', 'crun run'),
].filter(Boolean);
console.log('ratios of medians: ' + ratios.join('; '));
if (S.get('berth-oci run') && S.get('node -e 0') && S.get('Runtime.run (warm)')) {
  for (const q of ['median', 'min']) {
    const b = S.get('berth-oci run')[q], n = S.get('node -e 0')[q], w = S.get('Runtime.run (warm)')[q], sh = S.get('shim path (warm)')?.[q];
    console.log(`berth-oci run (${q}s) ~ node start ${f1(n)} + cold module load and first-run costs ${f1(b - n - w)} + warm lifecycle ${f1(w)} (of which shim path ${f1(sh)}) ms`);
  }
}
for (const [k, es] of errors) console.log(`${failed.has(k) ? 'FAILED' : `${es.length} failed run(s) of`} ${k}: ${es[es.length - 1]}`);

// nothing may be left: state directories are empty after foreground runs
const left = [];
for (const d of readdirSync(bundle).filter((n) => n.startsWith('state-'))) {
  const ids = readdirSync(join(bundle, d)).filter((n) => !n.startsWith('.'));
  if (ids.length) left.push(`${d}: ${ids.join(' ')}`);
}
if (left.length) console.log(`left behind: ${left.join('; ')}`);
spawnSync('sync');
rmSync(bundle, { recursive: true, force: true });
if (failed.size) process.exitCode = 1;
