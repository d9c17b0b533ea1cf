// cp, healthcheck, info and system df: berth against podman (with runc), measured in one run on
// the same busybox rootfs (podman gets it through `podman import`; berth runs it with --rootfs),
// each against a running container made for the purpose:
//   - `cp FILE C:/tmp/` of a 4 MiB file, and `cp C:/bin DIR` (busybox: ~400 symlinks + 1 binary)
//   - `healthcheck run C` with a `true` probe (one probe: exec in the container + the record)
//   - `info` and `system df`
// Usage: node bench/engine-extras.mjs   (BENCH_N iterations, default 10)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, have, msSince, requireRootAndBuild, stats, table, f1, f2 } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 10);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-extras-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
makeBusyboxRootfs(rootfs);
const file = join(dir, 'payload');
writeFileSync(file, Buffer.alloc(4 << 20, 7));
const stateRoot = `/run/berth-x${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const berth = (args) => spawnSync(BERTH, [...bg, ...args], { encoding: 'utf8' });

const IMAGE = `localhost/berth-bench-extras:${process.pid}`;
const { ok: podmanOk, podman } = await podmanPeer({ dir, rootfs, image: IMAGE, netns: 'none' });

function time(fn, n = N, okStatus = [0]) {
  fn(0); // warm-up
  const xs = [];
  for (let i = 1; i <= n; i++) {
    const t0 = process.hrtime.bigint();
    const r = fn(i);
    xs.push(msSince(t0));
    if (!okStatus.includes(r.status)) throw new Error(`status ${r.status}: ${r.stderr}`);
  }
  return stats(xs).median;
}

const bc = `bx${process.pid}`;
const health = ['--health-cmd', 'true', '--health-interval', '1h'];
const b = berth(['run', '-d', '--name', bc, ...health, '--rootfs', rootfs, 'sleep', '3600']);
if (b.status !== 0) throw new Error(`berth run: ${b.stderr}`);
const pc = `px${process.pid}`;
if (podmanOk) {
  const p = podman(['run', '-d', '--name', pc, ...health, IMAGE, 'sleep', '3600']);
  if (p.status !== 0) throw new Error(`podman run: ${p.stderr}`);
}
const rows = [['what (ms, median)', 'berth', 'podman+runc', 'ratio']];
const row = (what, bfn, pfn, ok) => {
  const bt = time(bfn, N, ok);
  const pt = podmanOk ? time(pfn, N, ok) : undefined;
  rows.push([what, f1(bt), f1(pt), pt ? f2(bt / pt) : '-']);
};
row('cp 4 MiB file into C', () => berth(['cp', file, `${bc}:/tmp/`]), () => podman(['cp', file, `${pc}:/tmp/`]));
row('cp C:/bin (~400 entries) out', (i) => berth(['cp', `${bc}:/bin`, join(dir, `b${i}`)]), (i) => podman(['cp', `${pc}:/bin`, join(dir, `p${i}`)]));
row('healthcheck run (true)', () => berth(['healthcheck', 'run', bc]), () => podman(['healthcheck', 'run', pc]));
row('info', () => berth(['info']), () => podman(['info']));
row('system df', () => berth(['system', 'df']), () => podman(['system', 'df']));

console.log(`engine extras: medians of ${N}${podmanOk ? '' : '; podman or runc missing: berth only'}`);
console.log(table(rows));
berth(['rm', '-f', bc]);
if (podmanOk) {
  podman(['rm', '-f', '-t', '0', pc]);
  podman(['rmi', '-f', IMAGE]);
}
rmSync(dir, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });
