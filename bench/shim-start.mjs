// The shim alone: one container start of /bin/true from a compiled plan (berth's default spec:
// pid, net, ipc, uts, mnt namespaces, cgroups joined, the /sys/fs/cgroup tree, devices, masked
// paths, capabilities), timed by hyperfine against `crun run` of the same bundle in the same
// run, wall time and CPU time (user + system of the whole process tree, which the machine's
// load disturbs less). The shim reads its plan from a file on fd 3 (its messages to berth are
// dropped); its cgroup is created once and joined by every start, so crun's figures also hold
// its cgroup creation and removal and its state files: the ratio is a bound, not a like-for-like.
// Usage: node bench/shim-start.mjs [runs=40]   (BENCH_N also sets it)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, crunCommand, crunNeedsHiding, f1, f2, have, makeBenchBundle, requireRootAndBuild, table } from './lib.mjs';

requireRootAndBuild();
if (!have('hyperfine')) throw new Error('hyperfine is missing: run scripts/setup-host.sh');
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 40);
const work = mkdtempSync(join(tmpdir(), 'berth-bench-shim-'));
// crun 1.8 refuses ociVersion 1.2.0 ("unknown version specified"): 1.0.2 suits both
const { dir: bundle } = await makeBenchBundle(['/bin/true'], (s) => (s.ociVersion = '1.0.2'));

const { parseSpec } = await import(join(DIST, 'src/spec/validate.js'));
const { compileCreate } = await import(join(DIST, 'src/runtime/compile.js'));
const { encodePlan } = await import(join(DIST, 'src/runtime/plan.js'));
const { containerResources } = await import(join(DIST, 'src/runtime/device-rules.js'));
const { openCgroupManager } = await import(join(DIST, 'src/cgroups/index.js'));
const spec = parseSpec(readFileSync(join(bundle, 'config.json'), 'utf8'), { bundle });
const cg = openCgroupManager(undefined, `berth-bench-shim-${process.pid}`);
cg.create(containerResources(spec));
const planFile = join(work, 'plan');
writeFileSync(planFile, encodePlan(compileCreate({
  spec, bundle, mode: 'wait', consoleProxy: false,
  cgroup: { procsFiles: cg.procsFiles(), mountPlan: (d, ns) => cg.mountPlan(d, ns) },
})));

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const cmds = [['berth-shim start', `${q(join(DIST, 'berth-shim'))} 3 3<${q(planFile)}`]];
let crunId = 0;
if (have('crun')) {
  // a fresh id per run: hyperfine repeats one command line, so the id comes from a counter file
  const counter = join(work, 'n');
  writeFileSync(counter, '0');
  const [cmd, args] = crunCommand(['--root', join(work, 'crun'), 'run', '--bundle', bundle, `bench-crun-${process.pid}-$(cat ${q(counter)})`]);
  const line = [cmd, ...args].map((a, i) => (i === 0 || !a.includes('$(') ? q(a) : `"${a}"`)).join(' ');
  cmds.push(['crun run', `n=$(cat ${q(counter)}); echo $((n+1)) > ${q(counter)}; ${line}`]);
  crunId = 1;
  if (crunNeedsHiding()) cmds.push(['crun wrapper alone', "unshare -m sh -c 'mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec true'"]);
}
const json = join(work, 'out.json');
// hyperfine runs each line through its shell and subtracts the shell's own start-up
const r = spawnSync('hyperfine', ['--warmup', '3', '--runs', String(N), '--export-json', json, ...cmds.flatMap(([name, c]) => ['-n', name, c])], { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) throw new Error('hyperfine failed');
const res = Object.fromEntries(JSON.parse(readFileSync(json, 'utf8')).results.map((x) => [x.command, x]));
const ms = (x) => x.median * 1000;
const cpu = (x) => (x.user + x.system) * 1000;
// crun's own figures: minus the wrapper a hybrid host needs
const wrap = res['crun wrapper alone'];
const crunWall = crunId ? ms(res['crun run']) - (wrap ? ms(wrap) : 0) : undefined;
const crunCpu = crunId ? cpu(res['crun run']) - (wrap ? cpu(wrap) : 0) : undefined;
const shim = res['berth-shim start'];
const rows = [['', 'berth-shim', 'crun run', 'ratio']];
rows.push(['wall, median (ms)', f1(ms(shim)), f1(crunWall), crunWall ? f2(ms(shim) / crunWall) : '-']);
rows.push(['CPU, user+sys mean (ms)', f1(cpu(shim)), f1(crunCpu), crunCpu ? f2(cpu(shim) / crunCpu) : '-']);
console.log(`shim-start: ${N} runs each (hyperfine, 3 warm-up)${wrap ? '; crun minus its hybrid-host wrapper (unshare + mount)' : ''}`);
console.log(table(rows));
cg.destroy();
rmSync(work, { recursive: true, force: true });
rmSync(bundle, { recursive: true, force: true });
