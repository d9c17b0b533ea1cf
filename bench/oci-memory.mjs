// Memory per idle container, and what each runtime leaves running per container.
// For berth-oci, runc and crun in turn: start N detached containers (`sleep 1000`, busybox
// bundle, one config.json), then measure
//   - processes left on the host per container besides the container's own (a monitor, a shim):
//     berth should leave none (its shim exits once the init runs)
//   - PSS and RSS of the container's processes, and of the leftovers
//   - the container cgroup's memory.usage_in_bytes (v1) / memory.current (v2): user + kernel memory
// and the time to start the N containers. Then deletes them all.
// Usage: node bench/oci-memory.mjs [containers=20]   (BENCH_N also sets it)
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BERTH_OCI, crunCommand, crunNeedsHiding, f1, have, makeBenchBundle, msSince, requireRootAndBuild, table } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 20);
// crun 1.8 refuses ociVersion 1.2.0; 1.0.2 suits all three
const { dir: bundle } = await makeBenchBundle(['sleep', '1000'], (s) => (s.ociVersion = '1.0.2'));

const runtimes = [{ name: 'berth-oci', cmd: (args) => [process.execPath, [BERTH_OCI, ...args]], start: (id, r) => ['--root', r, 'run', '--detach', '--bundle', bundle, id] }];
if (have('runc')) runtimes.push({ name: 'runc', cmd: (args) => ['runc', args], start: (id, r) => ['--root', r, 'run', '--detach', '--bundle', bundle, id] });
if (have('crun')) runtimes.push({ name: 'crun', cmd: crunCommand, start: (id, r) => ['--root', r, 'run', '--detach', '--bundle', bundle, id] });

const TAG = `berth-bench-${process.pid}-${Date.now()}`;
const pids = () => new Set(readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number));
const read = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
const nsOf = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return '';
  }
};
const comm = (pid) => read(`/proc/${pid}/comm`).trim();

function cgroupMemory(pid) {
  const lines = read(`/proc/${pid}/cgroup`).split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) return Number(read(`/sys/fs/cgroup/memory${v1.split(':')[2]}/memory.usage_in_bytes`)) / 1024;
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2) return Number(read(`/sys/fs/cgroup${v2.slice(3)}/memory.current`)) / 1024;
  return NaN;
}

const results = [];
for (const rt of runtimes) {
  const root = join(bundle, `state-${rt.name}`);
  const ids = Array.from({ length: N }, (_, i) => `mem-${rt.name}-${process.pid}-${i}`);
  const before = pids();
  const errLog = join(bundle, `${rt.name}.err`);
  const err = openSync(errLog, 'a');
  const t0 = process.hrtime.bigint();
  let started = 0;
  for (const id of ids) {
    const [c, a] = rt.cmd(rt.start(id, root));
    const r = spawnSync(c, a, { stdio: ['ignore', 'ignore', err], timeout: 60000, env: { ...process.env, BERTH_BENCH_TAG: TAG } });
    if (r.status !== 0) break;
    started++;
  }
  const startMs = msSince(t0);
  closeSync(err);
  if (started < N) {
    console.log(`${rt.name}: only ${started} of ${N} containers started: ${read(errLog).trim().split('\n').pop()}`);
  }
  spawnSync('sleep', ['1']); // let short-lived helpers exit
  const inits = ids.slice(0, started).map((id) => {
    const [c, a] = rt.cmd(['--root', root, 'state', id]);
    const r = spawnSync(c, a, { encoding: 'utf8' });
    return JSON.parse(r.stdout || '{}').pid ?? 0;
  });
  const namespaces = new Set(inits.map(nsOf));
  const fresh = [...pids()].filter((p) => !before.has(p) && p !== process.pid);
  const inside = fresh.filter((p) => namespaces.has(nsOf(p)));
  // what a runtime leaves (a monitor, a shim) still carries the tag in its environment; the
  // container's processes have the spec's environment (and our namespaces)
  const stat = (p) => read(`/proc/${p}/stat`).replace(/^.*\) /, '').split(' ');
  const leftover = fresh.filter((p) => !namespaces.has(nsOf(p)) && stat(p)[0] !== 'Z' && read(`/proc/${p}/environ`).includes(TAG));
  const sum = (ps, key) => ps.reduce((a, p) => a + kb(read(`/proc/${p}/smaps_rollup`), key), 0);
  const cg = inits.map(cgroupMemory).filter((x) => !Number.isNaN(x));
  results.push({
    name: rt.name, started, startMs,
    leftover: leftover.length / Math.max(1, started),
    leftoverWhat: [...new Set(leftover.map(comm))].join(',') || '-',
    leftoverPss: sum(leftover, 'Pss') / Math.max(1, started),
    pss: sum(inside, 'Pss') / Math.max(1, started),
    rss: sum(inside, 'Rss') / Math.max(1, started),
    cg: cg.length ? cg.reduce((a, b) => a + b, 0) / cg.length : NaN,
  });
  for (const id of ids.slice(0, started)) {
    const [c, a] = rt.cmd(['--root', root, 'delete', '--force', id]);
    spawnSync(c, a, { stdio: 'ignore' });
  }
  const left = existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')) : [];
  if (left.length) console.log(`${rt.name}: ${left.length} containers left after delete --force`);
}

console.log(`oci-memory: ${N} idle containers (sleep 1000, detached) per runtime, one config.json; KiB per container`);
if (crunNeedsHiding()) console.log('crun runs through `unshare -m sh -c "mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec crun ..."` (hybrid layout)');
const rows = [['runtime', 'host procs left/ctr', 'which', 'their PSS', 'ctr PSS', 'ctr RSS', 'cgroup mem', `start ${N} (s)`]];
for (const r of results) {
  rows.push([r.name, r.leftover.toFixed(2), r.leftoverWhat, f1(r.leftoverPss), f1(r.pss), f1(r.rss), f1(r.cg), (r.startMs / 1000).toFixed(2)]);
}
console.log(table(rows));
rmSync(bundle, { recursive: true, force: true });
