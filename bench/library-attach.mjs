// The library's exec (all output collected) and start with attach, in a warm process, against
// podman (runc, through conmon) doing the same, interleaved in one run (the machine is shared):
//   - berth.exec(C, seq 1 2000) vs `podman exec C seq 1 2000`
//   - berth.start(C, { attach: true }) of a created `true` vs `podman start -a C`
// Usage: node bench/library-attach.mjs   (BENCH_N iterations, default 10)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { DIST, have, makeBenchBundle, msSince, requireRootAndBuild, stats, table, f1, f2 } from './lib.mjs';

requireRootAndBuild();
const { Berth } = await import(join(DIST, 'src', 'index.js'));
const N = Number(process.env.BENCH_N ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-libattach-'));
const tag = `bla${process.pid}`;
const stateRoot = `/run/berth-${tag}`;
const sh = (cmd, args, o = {}) => spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, ...o });
const must = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: status ${r.status}: ${r.stderr}`);
  return r.stdout;
};
const { dir: bundle } = await makeBenchBundle(['sleep', '1000']);
const rootfs = join(bundle, 'rootfs');
const berth = new Berth({ root: join(dir, 'berth'), stateRoot, exitCommand: null });
const cleanups = [];
const rows = [['what', 'berth library', 'podman', 'ratio']];
const want = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join('');

/** Medians of fb (async) and fp (sync) run in turns, N times each after one warm-up each. */
async function pair(what, fb, fp) {
  await fb();
  fp?.();
  const bs = [];
  const ps = [];
  for (let i = 0; i < N; i++) {
    let t0 = process.hrtime.bigint();
    await fb();
    bs.push(msSince(t0));
    if (!fp) continue;
    t0 = process.hrtime.bigint();
    fp();
    ps.push(msSince(t0));
  }
  const b = stats(bs).median;
  const p = fp ? stats(ps).median : undefined;
  rows.push([`${what} (ms)`, f1(b), f1(p), p ? f2(b / p) : '-']);
}

try {
  const { id } = await berth.run({ rootfs, network: 'none', cmd: ['sleep', '1000'], detach: true });
  cleanups.push(() => berth.remove(id, { force: true }));
  let podman;
  let pc;
  if (have('podman') && have('runc')) {
    const PATH = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);
    const conf = join(dir, 'containers.conf');
    const storage = join(dir, 'storage.conf');
    const penv = { ...process.env, PATH, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
    const q = JSON.stringify;
    writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\nnetns = "none"\nlog_driver = "k8s-file"\n[engine]\nconmon_env_vars = [${q(`PATH=${PATH}`)}, ${q(`CONTAINERS_CONF=${conf}`)}, ${q(`CONTAINERS_STORAGE_CONF=${storage}`)}]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = ${q(join(dir, 'events.log'))}\nlock_type = "file"\ntmp_dir = ${q(join(dir, 'tmp'))}\nvolume_path = ${q(join(dir, 'volumes'))}\n[network]\nnetwork_config_dir = ${q(join(dir, 'net'))}\n`);
    writeFileSync(storage, `[storage]\ndriver = "overlay"\ngraphroot = ${q(join(dir, 'graph'))}\nrunroot = ${q(join(dir, 'runroot'))}\n`);
    const pg = ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc'];
    podman = (args) => sh('podman', [...pg, ...args], { env: penv });
    must(sh('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']), 'tar');
    const image = `localhost/berth-bench-libattach:${process.pid}`;
    must(podman(['import', '-q', join(dir, 'rootfs.tar'), image]), 'podman import');
    cleanups.push(() => podman(['rmi', '-f', image]));
    pc = must(podman(['run', '-d', '--network=none', '--name', tag, image, 'sleep', '1000']), 'podman run -d').trim();
    cleanups.push(() => podman(['rm', '-f', '-t', '0', pc]));
    const ps = must(podman(['create', '--network=none', '--name', `${tag}-s`, image, 'true']), 'podman create').trim();
    cleanups.push(() => podman(['rm', '-f', '-t', '0', ps]));
    pc = { exec: pc, start: ps };
  }
  await pair('exec seq 1 2000, all output', async () => {
    const r = await berth.exec(id, { cmd: ['seq', '1', '2000'] });
    if (r.stdout !== want) throw new Error(`berth exec: ${r.stdout.length} bytes`);
  }, podman && (() => {
    const out = must(podman(['exec', pc.exec, 'seq', '1', '2000']), 'podman exec');
    if (out !== want) throw new Error(`podman exec: ${out.length} bytes`);
  }));
  const s = await berth.create({ rootfs, network: 'none', cmd: ['true'] });
  cleanups.push(() => berth.remove(s.id, { force: true }));
  await pair('start -a of true', async () => {
    const r = await berth.start(s.id, { attach: true });
    if (r.exitCode !== 0) throw new Error(`berth start -a: ${JSON.stringify(r)}`);
  }, podman && (() => must(podman(['start', '-a', pc.start]), 'podman start -a')));
} finally {
  for (const c of cleanups.reverse()) await c();
  berth.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(bundle, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
console.log(table(rows));
console.log(`median of ${N}, interleaved; the library runs in this (warm) process, podman is a CLI per call`);
