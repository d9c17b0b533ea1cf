// The engine against podman (with runc), measured in one run on the same busybox rootfs
// (podman gets it through `podman import`; berth runs the directory with --rootfs):
//   - `run --rm IMAGE true` (podman with --network=none)
//   - `exec C true` on a running container
//   - N detached containers started in turns with podman (berth i, podman i), then back to back
//   - memory per idle container, monitor included (PSS of every process the container leaves on
//     the host: berth-monitor + the container's; conmon + the container's)
//   - through the library in a warm process: run-to-exit of /bin/true, against `crun run` of the
//     same rootfs (minus the wrapper crun needs on a hybrid host), in turns (library, crun, wrapper)
//   - fixed costs for reading the figures: `node -e 0` as started here and without
//     NODE_EXTRA_CA_CERTS (bin/berth starts node without it), `berth version`
// berth is run as users run it: the executable bin/berth (its native front, which hands the
// repeating verbs, run, exec and run -d among them, to a node started ahead:
// native/berth-prestart.c), with
// --network none like podman.
// Usage: node bench/engine.mjs   (BENCH_N iterations, BENCH_D detached containers, default 50)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, crunCommand, crunNeedsHiding, have, makeBenchBundle, msSince, timePair, requireRootAndBuild, stats, table, timeCmd, f1, f2 } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 10);
const D = Number(process.env.BENCH_D ?? 50);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-engine-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
makeBusyboxRootfs(rootfs);
const stateRoot = `/run/berth-b${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const berth = (args, o = {}) => spawnSync(BERTH, [...bg, ...args], { encoding: 'utf8', ...o });

const IMAGE = `localhost/berth-bench:${process.pid}`;
const { ok: podmanOk, podman } = await podmanPeer({ dir, rootfs, image: IMAGE, netns: 'none' });

function time(fn, n = N) {
  fn(); // warm-up (seccomp cache, page cache)
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = fn();
    xs.push(msSince(t0));
    if (r.status !== 0) throw new Error(`status ${r.status}: ${r.stderr}`);
  }
  return stats(xs).median;
}

const read = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const pss = (pid) => Number(/^Pss:\s+(\d+)/m.exec(read(`/proc/${pid}/smaps_rollup`))?.[1] ?? 0);
const children = () => {
  const m = new Map();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    const ppid = Number(read(`/proc/${p}/stat`).replace(/^.*\) /, '').split(' ')[1]);
    if (!m.has(ppid)) m.set(ppid, []);
    m.get(ppid).push(Number(p));
  }
  return m;
};
const tree = (pid, kids) => [pid, ...(kids.get(pid) ?? []).flatMap((c) => tree(c, kids))];

const rows = [['what', 'berth', 'podman+runc', 'ratio']];
const add = (what, b, p, fmt = f1) => rows.push([what, fmt(b), p === undefined ? '-' : fmt(p), p ? f2(b / p) : '-']);


// run --rm true
const [bRun, pRun] = timePair(() => berth(['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'true']),
  podmanOk ? () => podman(['run', '--rm', '--network=none', IMAGE, 'true']) : undefined, N);
add('run --rm true (ms)', bRun, pRun);

// exec
const bc = berth(['run', '-d', '--network', 'none', '--name', 'bench-exec', '--rootfs', rootfs, 'sleep', '1000']).stdout.trim();
const pc = podmanOk ? podman(['run', '-d', '--network=none', '--name', `bench-exec-${process.pid}`, IMAGE, 'sleep', '1000']).stdout.trim() : '';
const [bExec, pExec] = timePair(() => berth(['exec', bc, 'true']), podmanOk ? () => podman(['exec', pc, 'true']) : undefined, N);
if (podmanOk) podman(['rm', '-f', '-t', '0', pc]);
berth(['rm', '-f', bc]);
add('exec true (ms)', bExec, pExec);

// D detached (started in turns: berth i, podman i), then memory per idle container
const peers = [
  { start: (i) => berth(['run', '-d', '--network', 'none', '--name', `bench-d${i}`, '--rootfs', rootfs, 'sleep', '1000']),
    monitorOf: (id) => Number(/^\S+ \S+ (\d+)/.exec(read(join(stateRoot, 'containers', id, 'pid')))?.[1] ?? 0), ms: 0, ids: [] },
];
if (podmanOk) {
  peers.push({ start: (i) => podman(['run', '-d', '--network=none', '--name', `bench-d${i}-${process.pid}`, IMAGE, 'sleep', '1000']),
    monitorOf: (id) => Number(read(join(dir, 'runroot', 'overlay-containers', id, 'userdata', 'conmon.pid')).trim()), ms: 0, ids: [] });
}
// A pause (not timed) after each start: what a command leaves running in the background (berth's
// listener starting its next node, podman's own) must not land in the other's timing.
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let i = 0; i < D; i++) {
  for (const p of peers) {
    const t0 = process.hrtime.bigint();
    const r = p.start(i);
    p.ms += msSince(t0);
    if (r.status !== 0) throw new Error(r.stderr);
    p.ids.push(r.stdout.trim());
    pause(100);
  }
}
spawnSync('sleep', ['1']);
const kids = children();
for (const p of peers) {
  let total = 0;
  for (const id of p.ids) for (const pid of tree(p.monitorOf(id), kids)) total += pss(pid);
  p.kib = total / D;
}
const [bd, pd] = peers;
add(`start ${D} detached (s)`, bd.ms / 1000, pd && pd.ms / 1000, f2);
add('idle container incl. monitor, PSS (KiB)', bd.kib, pd?.kib);
// what berth keeps between commands while they come (native/berth-prestart.c): the listener and
// its waiting node, once per user (not per container); gone 30 s after the last command
const listeners = readdirSync('/proc').filter((x) => /^\d+$/.test(x) && read(`/proc/${x}/cmdline`).startsWith('berth-prestart\0prestart\0/run/berth-prestart/'));
const prestartKib = listeners.flatMap((l) => tree(Number(l), kids)).reduce((a, pid) => a + pss(pid), 0);
add('berth: prestarted node + listener, PSS (KiB, once per user)', prestartKib, undefined);
berth(['rm', '-f', ...bd.ids]);
if (pd) podman(['rm', '-f', '-t', '0', ...pd.ids]);

// the same D, back to back: all berth's, then all podman's (a script starting containers in a
// loop; berth's next node is still starting when the next command comes)
for (const p of peers) {
  p.ms = 0;
  p.ids = [];
  for (let i = 0; i < D; i++) {
    const t0 = process.hrtime.bigint();
    const r = p.start(D + i);
    p.ms += msSince(t0);
    if (r.status !== 0) throw new Error(r.stderr);
    p.ids.push(r.stdout.trim());
  }
}
add(`start ${D} detached back to back (s)`, bd.ms / 1000, pd && pd.ms / 1000, f2);
berth(['rm', '-f', ...bd.ids]);
if (pd) podman(['rm', '-f', '-t', '0', ...pd.ids]);

// the library, warm: run-to-exit of /bin/true against `crun run` of a bundle of the same rootfs
// (crun 1.8 refuses ociVersion 1.2.0: 1.0.2), minus the wrapper crun needs on a hybrid host (a
// private mount namespace hiding unified/cgroup.controllers). Interleaved, one library run, one
// crun run, one wrapper run per turn, as timePair does for the CLI rows: the machine is shared
// and its load changes within seconds (crun alone has measured 9 to 49 ms), so figures taken in
// two separate loops compare two different machines; in turns, each pair sees the same load.
// Each timed command starts after a short pause (SETTLE_MS), so that what the one before left to
// the kernel or in the background (a netns torn down after either; the library's next standby
// monitors finishing their start, its directories' last close on a libuv worker) is charged to
// neither: the figure is the latency of one run. The library spawns its standbys within a run,
// so that spawn is in its figure.
const SETTLE_MS = 10;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
const { Berth } = await import(join(DIST, 'src', 'index.js'));
const lib = new Berth({ root: join(dir, 'berth'), stateRoot, exitCommand: null });
const libOpts = { rootfs, cmd: ['true'], autoRemove: true, network: 'none' };
const libRun = async () => {
  const t0 = process.hrtime.bigint();
  const r = await lib.run(libOpts);
  if (r.exitCode !== 0) throw new Error(`library run: status ${r.exitCode}: ${r.stderr}`);
  return msSince(t0);
};
let crunStep;
let cb;
if (have('crun')) {
  ({ dir: cb } = await makeBenchBundle(['/bin/true'], (sp) => (sp.ociVersion = '1.0.2')));
  let seq = 0;
  const crun = () => timeCmd(...crunCommand(['--root', join(cb, 'state'), 'run', '--bundle', cb, `bench-crun-${process.pid}-${seq++}`]));
  const wrapper = () => (crunNeedsHiding() ? timeCmd('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /sys/fs/cgroup/unified && exec true']) : 0);
  crunStep = { crun, wrapper };
}
// warm-up: the library's first runs compile the seccomp program and start its standby monitors
for (let i = 0; i < 3; i++) await libRun();
crunStep?.crun();
crunStep?.wrapper();
const xs = [];
const cs = [];
const ws = [];
for (let i = 0; i < N; i++) {
  await settle();
  xs.push(await libRun());
  if (!crunStep) continue;
  await settle();
  cs.push(crunStep.crun());
  await settle();
  ws.push(crunStep.wrapper());
}
lib.close();
if (cb) rmSync(cb, { recursive: true, force: true });
const crunMs = crunStep ? stats(cs).median - stats(ws).median : undefined;
rows.push(['library run-to-exit, warm (ms)', f1(stats(xs).median), crunMs === undefined ? '-' : `crun ${f1(crunMs)}`, crunMs ? f2(stats(xs).median / crunMs) : '-']);

// fixed costs
const envNoCa = { ...process.env };
delete envNoCa.NODE_EXTRA_CA_CERTS;
const fixed = (what, cmd, args, env) => rows.push([what, f1(time(() => spawnSync(cmd, args, { env }))), '-', '-']);
fixed('node -e 0, environment as given (ms)', process.execPath, ['-e', '0'], process.env);
if (process.env.NODE_EXTRA_CA_CERTS) fixed('node -e 0 without NODE_EXTRA_CA_CERTS (ms)', process.execPath, ['-e', '0'], envNoCa);
fixed('berth version (ms)', BERTH, ['version'], process.env);

console.log(`engine: medians of ${N}; ${D} detached containers${podmanOk ? '' : '; podman or runc missing: berth only'}`);
console.log(table(rows));
if (podmanOk) podman(['rmi', '-f', IMAGE]);
rmSync(dir, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });
