// Cost of cgroups per container, and latency of the resource commands against runc:
//   setup+teardown   openCgroupManager + create(limits) + destroy() in this warm process, N times
//                    (memory+swap, cpu shares/quota/period, pids; then also with runc's default
//                    device rules, as every real container has), against a floor: the same
//                    mkdir/write/rmdir done with bare fs calls, and against runc's own cgroup
//                    manager (libcontainer, Debian's golang-github-opencontainers-runc-dev) doing
//                    Apply+Set+Destroy in a warm Go process (bench/runc-cgroups/main.go)
//   update           `berth-oci update --memory X` vs `runc update --memory X` on a running
//                    container of the same bundle, through the CLIs, interleaved
//   events --stats, pause+resume   the same, for reading the figures above
//   update, warm     resources.update() in this process: the work without node's start-up
// Usage: node bench/cgroups.mjs [N=200] [M=20]   (BENCH_N sets N)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_OCI, DIST, REPO, f2, have, makeBenchBundle, msSince, requireRootAndBuild, stats, table, timeCmd } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 200);
const M = Number(process.argv[3] ?? 20);
const MiB = 1024 * 1024;

const { openCgroupManager, withDefaultDeviceRules, cgroupLayout } = await import(join(DIST, 'src/cgroups/index.js'));

const limits = {
  memory: { limit: 64 * MiB, swap: 64 * MiB },
  cpu: { shares: 512, quota: 50000, period: 100000 },
  pids: { limit: 100 },
};
const withDevices = { ...limits, devices: withDefaultDeviceRules([{ allow: false, access: 'rwm' }], []) };

function setupTeardown(resources, tag) {
  const xs = [];
  for (let i = 0; i < N + 10; i++) {
    const t0 = process.hrtime.bigint();
    const m = openCgroupManager(undefined, `bench-cg-${tag}-${process.pid}-${i}`);
    m.create(resources);
    m.destroy();
    if (i >= 10) xs.push(msSince(t0));
  }
  return stats(xs);
}

/** The floor: the directories and files a manager must touch, with bare fs calls (v1/hybrid). */
function bareFloor() {
  const base = '/sys/fs/cgroup';
  const ctls = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'devices', 'freezer', 'systemd', 'unified'].filter((c) => existsSync(join(base, c)));
  const xs = [];
  for (let i = 0; i < N + 10; i++) {
    const t0 = process.hrtime.bigint();
    const dirs = ctls.map((c) => join(base, c, 'berth', `bench-floor-${process.pid}-${i}`));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    const d = (c) => dirs[ctls.indexOf(c)];
    if (d('cpuset')) {
      writeFileSync(join(d('cpuset'), 'cpuset.cpus'), '0-1');
      writeFileSync(join(d('cpuset'), 'cpuset.mems'), '0');
    }
    writeFileSync(join(d('memory'), 'memory.limit_in_bytes'), String(64 * MiB));
    writeFileSync(join(d('memory'), 'memory.memsw.limit_in_bytes'), String(64 * MiB));
    writeFileSync(join(d('cpu'), 'cpu.shares'), '512');
    writeFileSync(join(d('cpu'), 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(d('cpu'), 'cpu.cfs_quota_us'), '50000');
    writeFileSync(join(d('pids'), 'pids.max'), '100');
    for (const dd of dirs) rmdirSync(dd);
    if (i >= 10) xs.push(msSince(t0));
  }
  return stats(xs);
}

/** runc's cgroup manager, same work (built once per source change; undefined without Go). */
function runcManager(devices) {
  const src = join(REPO, 'bench', 'runc-cgroups');
  if (!have('go') || !existsSync('/usr/share/gocode/src/github.com/opencontainers/runc/libcontainer/cgroups')) return undefined;
  const bin = join(tmpdir(), `berth-bench-runc-cgroups-${statSync(join(src, 'main.go')).mtimeMs}`);
  if (!existsSync(bin)) {
    const env = { ...process.env, GO111MODULE: 'off', GOPATH: `${join(tmpdir(), 'berth-bench-gopath')}:/usr/share/gocode`, GOCACHE: join(tmpdir(), 'berth-bench-gocache') };
    const b = spawnSync('go', ['build', '-o', bin, '.'], { cwd: src, env, encoding: 'utf8' });
    if (b.status !== 0) {
      console.log(`(runc's cgroup manager could not be built: ${b.stderr.trim().split('\n').pop()})`);
      return undefined;
    }
  }
  const r = spawnSync(bin, [String(N + 10), devices ? 'devices' : 'limits'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runc cgroup manager bench: ${r.stderr}`);
  return stats(r.stdout.trim().split('\n').map(Number).slice(10));
}

if (cgroupLayout() === 'v2') {
  console.log('(the bare-fs floor is written for v1/hybrid hosts; skipped on cgroup v2)');
}
const floor = cgroupLayout() === 'v2' ? undefined : bareFloor();
const lim = setupTeardown(limits, 'l');
const dev = setupTeardown(withDevices, 'd');
const rLim = runcManager(false);
const rDev = runcManager(true);
console.log(`cgroup setup+teardown per container, warm process, N=${N} (${cgroupLayout()} layout), ms`);
const rows = [['what', 'median', 'p90', 'x floor', 'berth/runc']];
const x = (a, b) => (a && b ? f2(a.median / b.median) : '-');
if (floor) rows.push(['bare mkdir/write/rmdir (floor)', f2(floor.median), f2(floor.p90), '1.00', '-']);
rows.push(['berth manager, limits', f2(lim.median), f2(lim.p90), x(lim, floor), x(lim, rLim)]);
if (rLim) rows.push(['runc manager (libcontainer), limits', f2(rLim.median), f2(rLim.p90), x(rLim, floor), '-']);
rows.push(['berth manager, limits + device rules', f2(dev.median), f2(dev.p90), x(dev, floor), x(dev, rDev)]);
if (rDev) rows.push(['runc manager (libcontainer), + device rules', f2(rDev.median), f2(rDev.p90), x(rDev, floor), '-']);
console.log(table(rows));
if (!rLim) console.log('(runc\'s cgroup manager not measured: needs go and golang-github-opencontainers-runc-dev, see scripts/setup-host.sh)');

// --- the CLIs against runc on running containers of one bundle
if (!have('runc')) {
  console.log('\nrunc is not installed: CLI comparison skipped');
  process.exit(0);
}
const { dir: bundle } = await makeBenchBundle(['sleep', '1000'], (s) => {
  s.ociVersion = '1.0.2';
  s.linux.resources = { ...s.linux.resources, memory: { limit: 64 * MiB } };
});
const bRoot = join(bundle, 'state-berth');
const rRoot = join(bundle, 'state-runc');
const bId = `bench-upd-b-${process.pid}`;
const rId = `bench-upd-r-${process.pid}`;
const berth = (args, expect = 0) => timeCmd(process.execPath, [BERTH_OCI, '--root', bRoot, ...args], { expect });
const runc = (args, expect = 0) => timeCmd('runc', ['--root', rRoot, ...args], { expect });
try {
  // detached containers keep their stdio: no pipes, or spawnSync waits for them to exit
  for (const [cmd, args] of [[process.execPath, [BERTH_OCI, '--root', bRoot, 'run', '-d', '--bundle', bundle, bId]], ['runc', ['--root', rRoot, 'run', '-d', '--bundle', bundle, rId]]]) {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: status ${r.status}`);
  }
  const samples = { update: [[], []], 'events --stats': [[], []], 'pause+resume': [[], []] };
  for (let i = 0; i < M + 2; i++) {
    const mem = `${64 + 32 * (i % 2)}m`;
    const pair = [
      ['update', () => berth(['update', '--memory', mem, bId]), () => runc(['update', '--memory', mem, rId])],
      ['events --stats', () => berth(['events', '--stats', bId]), () => runc(['events', '--stats', rId])],
      ['pause+resume', () => berth(['pause', bId]) + berth(['resume', bId]), () => runc(['pause', rId]) + runc(['resume', rId])],
    ];
    for (const [name, b, r] of pair) {
      // alternate who goes first
      const [tb, tr] = i % 2 ? [b(), r()] : (() => { const x = r(); return [b(), x]; })();
      if (i >= 2) {
        samples[name][0].push(tb);
        samples[name][1].push(tr);
      }
    }
  }
  // the same update in this warm process (what an engine that keeps node running pays)
  const { Runtime } = await import(join(DIST, 'src/runtime/runtime.js'));
  const { update } = await import(join(DIST, 'src/runtime/resources.js'));
  const rt = new Runtime({ root: bRoot });
  const warm = [];
  for (let i = 0; i < M + 2; i++) {
    const t0 = process.hrtime.bigint();
    await update(rt, bId, { memory: { limit: (64 + 32 * (i % 2)) * MiB } });
    if (i >= 2) warm.push(msSince(t0));
  }
  const check = spawnSync(process.execPath, [BERTH_OCI, '--root', bRoot, 'events', '--stats', bId], { encoding: 'utf8' });
  const limit = JSON.parse(check.stdout).data.memory.usage.limit;
  console.log(`\nresource commands through the CLI on a running container, ${M} runs each, median ms (berth's memory limit now ${limit / MiB} MiB)`);
  const out = [['command', 'berth-oci', 'runc', 'berth/runc']];
  for (const [name, [b, r]] of Object.entries(samples)) {
    const sb = stats(b);
    const sr = stats(r);
    out.push([name, f2(sb.median), f2(sr.median), f2(sb.median / sr.median)]);
  }
  out.push(['update, warm in-process Runtime', f2(stats(warm).median), '-', '-']);
  console.log(table(out));
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  console.log(`(an empty node start here: ${f2(msSince(t0))} ms)`);
} finally {
  spawnSync(process.execPath, [BERTH_OCI, '--root', bRoot, 'delete', '--force', bId], { stdio: 'ignore' });
  spawnSync('runc', ['--root', rRoot, 'delete', '--force', rId], { stdio: 'ignore' });
  rmSync(bundle, { recursive: true, force: true });
  for (const c of readdirSync('/sys/fs/cgroup')) {
    const b = join('/sys/fs/cgroup', c, 'berth');
    if (!existsSync(b)) continue;
    for (const d of readdirSync(b)) if (d.startsWith('bench-') && d.includes(String(process.pid))) spawnSync('rmdir', [join(b, d)]);
  }
}
