// `exec` against its peers, measured in one run, each pair interleaved (the machine is shared):
//   - `berth exec C true` vs `podman exec C true` (podman with runc, through conmon), the CLIs
//     as users run them, on containers of the same busybox rootfs with no network
//   - `berth-oci exec ID true` vs `runc exec ID true`, on containers of the same bundle
//   - the shim alone (spawn to exit, plan on fd 3): the exec plan as compiled (CGROUP_JOIN:
//     child1 joins the cgroups itself, no kernel grace-period wait) vs the same plan with the
//     parent writing child1's pid to every cgroup.procs (CGROUP_PROCS, as runc and berth's
//     create do); runs are spaced like CLI invocations, so each pays the lock's wait afresh
// Usage: node bench/exec.mjs   (BENCH_N iterations, default 20)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { BERTH_OCI, DIST, REPO, have, makeBenchBundle, msSince, requireRootAndBuild, stats, table, timePair, f1, f2 } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 20);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
const tag = `bx${process.pid}`;
const stateRoot = `/run/berth-${tag}`;
const g = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const sh = (cmd, args, o = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...o });
const must = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: status ${r.status}: ${r.stderr}`);
  return r.stdout;
};

const { dir: bundle } = await makeBenchBundle(['sleep', '1000']);
const rootfs = join(bundle, 'rootfs');
const cleanups = [];
const rows = [['what', 'berth', 'peer', 'ratio']];

const add = (what, [b, p], peer) => rows.push([`${what} (ms)`, f1(b), p === undefined ? '-' : `${f1(p)} ${peer}`, p ? f2(b / p) : '-']);

try {
  // ---- CLI: berth exec vs podman exec
  const bc = must(sh(BERTH, [...g, 'run', '-d', '--network', 'none', '--name', tag, '--rootfs', rootfs, 'sleep', '1000']), 'berth run -d').trim();
  cleanups.push(() => sh(BERTH, [...g, 'rm', '-f', bc]));
  let podmanExec;
  if (have('podman') && have('runc')) {
    const PATH = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);
    const conf = join(dir, 'containers.conf');
    const penv = { ...process.env, PATH, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
    const q = JSON.stringify;
    writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\nnetns = "none"\nlog_driver = "k8s-file"\n[engine]\nconmon_env_vars = [${q(`PATH=${PATH}`)}, ${q(`CONTAINERS_CONF=${conf}`)}, ${q(`CONTAINERS_STORAGE_CONF=${penv.CONTAINERS_STORAGE_CONF}`)}]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = ${q(join(dir, 'events.log'))}\nlock_type = "file"\ntmp_dir = ${q(join(dir, 'tmp'))}\nvolume_path = ${q(join(dir, 'volumes'))}\n[network]\nnetwork_config_dir = ${q(join(dir, 'net'))}\n`);
    writeFileSync(penv.CONTAINERS_STORAGE_CONF, `[storage]\ndriver = "overlay"\ngraphroot = ${q(join(dir, 'graph'))}\nrunroot = ${q(join(dir, 'runroot'))}\n`);
    const pg = ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc'];
    const podman = (args) => sh('podman', [...pg, ...args], { env: penv });
    must(sh('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']), 'tar');
    const image = `localhost/berth-bench-exec:${process.pid}`;
    must(podman(['import', '-q', join(dir, 'rootfs.tar'), image]), 'podman import');
    const pc = must(podman(['run', '-d', '--network=none', '--name', tag, image, 'sleep', '1000']), 'podman run -d').trim();
    cleanups.push(() => podman(['rm', '-f', '-t', '0', pc]), () => podman(['rmi', '-f', image]));
    podmanExec = () => podman(['exec', pc, 'true']);
  }
  add('berth exec C true', timePair(() => sh(BERTH, [...g, 'exec', bc, 'true']), podmanExec, N), 'podman');

  // ---- runtime: berth-oci exec vs runc exec, on containers of the same bundle
  const ociRoot = join(dir, 'oci');
  // distinct ids: with no cgroupsPath in the spec, the id names the cgroup; no stdio pipes: the
  // detached container keeps them open and spawnSync would wait for it
  must(sh(BERTH_OCI, ['--root', ociRoot, 'run', '-d', '--bundle', bundle, `${tag}-b`], { stdio: 'ignore' }), 'berth-oci run -d');
  cleanups.push(() => sh(BERTH_OCI, ['--root', ociRoot, 'delete', '-f', `${tag}-b`]));
  let runcExec;
  if (have('runc')) {
    const runcRoot = join(dir, 'runc');
    must(sh('runc', ['--root', runcRoot, 'run', '-d', '--bundle', bundle, `${tag}-r`], { stdio: 'ignore' }), 'runc run -d');
    cleanups.push(() => sh('runc', ['--root', runcRoot, 'delete', '-f', `${tag}-r`]));
    runcExec = () => sh('runc', ['--root', runcRoot, 'exec', `${tag}-r`, 'true']);
  }
  add('berth-oci exec ID true', timePair(() => sh(BERTH_OCI, ['--root', ociRoot, 'exec', `${tag}-b`, 'true']), runcExec, N), 'runc');

  // ---- the shim alone: CGROUP_JOIN (as compiled) vs CGROUP_PROCS written by the parent
  const { compileExec } = await import(join(DIST, 'src', 'runtime', 'compile.js'));
  const { encodePlan } = await import(join(DIST, 'src', 'runtime', 'plan.js'));
  const { openCgroupManager } = await import(join(DIST, 'src', 'cgroups', 'index.js'));
  const rec = JSON.parse(must(sh(BERTH, [...g, 'inspect', bc]), 'inspect'))[0];
  const initPid = rec.State.Pid;
  const nsOf = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt' };
  const ops = compileExec({
    process: { args: ['true'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    namespaces: Object.entries(nsOf).map(([type, f]) => ({ type, path: `/proc/${initPid}/ns/${f}` })),
    mode: 'wait', cgroupProcs: openCgroupManager(undefined, bc).procsFiles(), setgroups: true,
  });
  const joinPlan = encodePlan(ops);
  const procsPlan = encodePlan(ops.map((o) => (o[0] === 'CGROUP_JOIN' ? ['CGROUP_PROCS', `${o[1]}/cgroup.procs`] : o)));
  const shim = join(DIST, 'berth-shim');
  const runPlan = (plan) => new Promise((resolve, reject) => {
    const c = spawn(shim, ['3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdio[3].on('data', (d) => (out += d));
    c.stdio[3].on('error', () => {});
    c.stdio[3].write(plan);
    c.on('exit', (code) => (code === 0 && !out.includes('ERR') ? resolve() : reject(new Error(`shim: ${code} ${out}`))));
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const js = [];
  const ps = [];
  for (let i = 0; i <= N; i++) {
    for (const [plan, xs] of [[joinPlan, js], [procsPlan, ps]]) {
      await sleep(50); // the lock's grace period ends between CLI runs too
      const t0 = process.hrtime.bigint();
      await runPlan(plan);
      if (i) xs.push(msSince(t0));
    }
  }
  rows.push(['shim exec, spawn to exit (ms)', f1(stats(js).median), `${f1(stats(ps).median)} parent writes cgroup.procs`, f2(stats(js).median / stats(ps).median)]);
} finally {
  for (const c of cleanups.reverse()) c();
  rmSync(dir, { recursive: true, force: true });
  rmSync(bundle, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
console.log(table(rows));
console.log(`median of ${N}, interleaved; aim: berth exec <= 0.5x podman exec`);
