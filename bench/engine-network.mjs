// Networking through the engine against podman (runc + netavark), in one run:
//   - `berth run --rm host true` on the default bridge (berth0) vs `podman run --rm IMAGE true` on
//     podman's default network: the ratio (aim: at most 0.3x podman)
//   - what bridge networking adds over `--network none`, for both (aim for berth: < 10 ms)
//   - through the library in a warm process (no node start-up, no exit-command process):
//     run-to-exit on the bridge vs --network none
// Runs are interleaved (bridge, none, bridge, ...) so that the machine's load drifts into both
// alike; figures are medians. On a loaded machine wall times swing by hundreds of ms, so the CLI
// runs also report CPU time (user+sys of the CLI and of the children it waits for, by
// /usr/bin/time; means: the kernel counts in 10 ms ticks), which load disturbs far less (berth there starts node per command: /usr/bin/time cannot see a
// prestarted node, native/berth-prestart.c). Podman gets a busybox rootfs through `podman import`, its own
// storage, and a default subnet of its own (its 10.88.0.0/16 would collide with berth0's).
// Usage: node bench/engine-network.mjs   (BENCH_N iterations, default 20)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, f1, f2, have, msSince, requireRootAndBuild, stats, table } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 20);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
const stateRoot = `/run/berth-bn${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const TIME = have('/usr/bin/time') ? '/usr/bin/time' : undefined;
/** spawnSync through /usr/bin/time when there is one: the result carries cpuMs. */
function timed(cmd, args, opts) {
  if (!TIME) return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  const r = spawnSync(TIME, ['-f', 'berth-bench-cpu %U %S', cmd, ...args], { encoding: 'utf8', ...opts });
  const m = /berth-bench-cpu (\S+) (\S+)\s*$/.exec(r.stderr ?? '');
  return { ...r, stderr: m ? r.stderr.slice(0, m.index) : r.stderr, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined };
}
const berth = (args) => timed(BERTH, [...bg, ...args]);
// /usr/bin/time sees the processes it starts: a command bin/berth hands to its prestarted node
// (native/berth-prestart.c) runs outside them, so the CPU rows start node per command
const berthOwnNode = (args) => timed(BERTH, [...bg, ...args], { env: { ...process.env, BERTH_PRESTART: '0' } });

// podman's default network on a /24 no host route overlaps (its default is berth0's 10.88.0.0/16)
const { hostRoutes } = await import(join(DIST, 'src', 'network', 'host.js'));
const { overlaps, parseCidr } = await import(join(DIST, 'src', 'network', 'cidr.js'));
const subnet = Array.from({ length: 200 }, (_, i) => `10.${210 + Math.floor(i / 100)}.${i % 100}.0/24`).find((s) => !hostRoutes().some((r) => overlaps(r.dest, parseCidr(s))));
const IMAGE = `localhost/berth-bench-net:${process.pid}`;
const { ok: podmanOk, podman } = await podmanPeer({ dir, image: IMAGE, subnet, defaultNetwork: 'podman', run: timed });

/** Medians of interleaved runs of several commands (each warmed up once); and their mean CPU times. */
function interleaved(fns) {
  for (const fn of fns) check(fn());
  const xs = fns.map(() => []);
  const cpu = fns.map(() => []);
  for (let i = 0; i < N; i++) {
    fns.forEach((fn, k) => {
      const t0 = process.hrtime.bigint();
      const r = fn();
      xs[k].push(msSince(t0));
      check(r);
      if (r.cpuMs !== undefined) cpu[k].push(r.cpuMs);
    });
  }
  const out = xs.map((x) => stats(x).median);
  out.cpu = cpu.map((c) => (c.length ? c.reduce((a, b) => a + b, 0) / c.length : undefined));
  return out;
}
function check(r) {
  if (r.status !== 0) throw new Error(`status ${r.status}: ${r.stderr}`);
}

const bRuns = interleaved([() => berth(['run', '--rm', 'host', 'true']), () => berth(['run', '--rm', '--network', 'none', 'host', 'true'])]);
const [bBridge, bNone] = bRuns;
const bCpuRuns = TIME ? interleaved([() => berthOwnNode(['run', '--rm', 'host', 'true']), () => berthOwnNode(['run', '--rm', '--network', 'none', 'host', 'true'])]) : undefined;
let pBridge;
let pNone;
let pRuns;
if (podmanOk) [pBridge, pNone] = pRuns = interleaved([() => podman(['run', '--rm', IMAGE, 'true']), () => podman(['run', '--rm', '--network=none', IMAGE, 'true'])]);

// the library, warm: the cost of the network itself, without node's start-up
const { Berth } = await import(join(DIST, 'src', 'index.js'));
const lib = new Berth({ root: join(dir, 'berth'), stateRoot, exitCommand: null });
const libRun = (network) => async () => {
  const r = await lib.run({ image: 'host', cmd: ['true'], autoRemove: true, network });
  return { status: r.exitCode, stderr: r.stderr };
};
async function interleavedAsync(fns) {
  for (const fn of fns) check(await fn());
  const xs = fns.map(() => []);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < fns.length; k++) {
      const t0 = process.hrtime.bigint();
      const r = await fns[k]();
      xs[k].push(msSince(t0));
      check(r);
    }
  }
  return xs.map((x) => stats(x).median);
}
const [lBridge, lNone] = await interleavedAsync([libRun('bridge'), libRun('none')]);
lib.close();

const rows = [['what', 'berth', 'podman+runc', 'ratio berth/podman']];
const add = (what, b, p) => rows.push([what, f1(b), p === undefined ? '-' : f1(p), p ? f2(b / p) : '-']);
add('run --rm true, default bridge (ms)', bBridge, pBridge);
add('run --rm true, --network none (ms)', bNone, pNone);
add('bridge added over none (ms)', bBridge - bNone, podmanOk ? pBridge - pNone : undefined);
if (TIME) {
  const [cb, cn] = bCpuRuns.cpu;
  const [pb, pn] = pRuns?.cpu ?? [];
  add('CPU of run --rm, default bridge (ms; berth: node per command)', cb, pb);
  add('CPU of run --rm, --network none (ms; berth: node per command)', cn, pn);
  add('CPU added by bridge over none (ms)', cb - cn, pb === undefined ? undefined : pb - pn);
}
rows.push(['library run-to-exit, bridge / none (ms)', `${f1(lBridge)} / ${f1(lNone)}`, '-', '-']);
rows.push(['library: bridge added over none (ms)', f1(lBridge - lNone), '-', '-']);
console.log(`engine-network: medians of ${N} interleaved runs${podmanOk ? '' : '; podman or runc missing: berth only'}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.log(table(rows));
if (podmanOk) {
  podman(['rmi', '-f', IMAGE]);
  podman(['network', 'prune', '-f']);
}
rmSync(dir, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });
