// The newer network options through the engine against podman (runc + netavark), in one run:
//   - `run --rm true` on a dual-stack (--ipv6) user network vs on a v4-only one, for berth and
//     for podman: the ratio berth/podman and what the v6 half adds to each
//   - berth only (podman has no such flag): what `--egress-rate` (a tbf qdisc) adds to a start
// Runs are interleaved so load drifts into all alike; figures are medians. Podman gets a busybox
// rootfs through `podman import` and its own storage and network config directory.
// Usage: node bench/engine-network-v6.mjs   (BENCH_N iterations, default 15)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, f1, f2, have, msSince, requireRootAndBuild, stats, table } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 15);
const BERTH = join(REPO, 'bin', 'berth');
const TAG = `bv${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-net6-'));
const stateRoot = `/run/berth-bv${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const berth = (args) => spawnSync(BERTH, [...bg, ...args], { encoding: 'utf8' });

const IMAGE = `localhost/berth-bench-net6:${process.pid}`;

// subnets no host route overlaps, and random ULAs
const { hostRoutes } = await import(join(DIST, 'src', 'network', 'host.js'));
const { overlaps, parseCidr } = await import(join(DIST, 'src', 'network', 'cidr.js'));
const free = Array.from({ length: 400 }, (_, i) => `10.${160 + Math.floor(i / 100)}.${(i * 7) % 256}.0/24`).filter((s) => !hostRoutes().some((r) => overlaps(r.dest, parseCidr(s))));
const ula = () => `fd${randomBytes(1).toString('hex')}:${(randomBytes(2).readUInt16BE() | 0x1000).toString(16)}::/64`;
const check = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: status ${r.status}: ${r.stderr}`);
  return r;
};

check(berth(['network', 'create', '--label', `bench=${TAG}`, '--subnet', free[0], `${TAG}-4`]), 'berth network create v4');
check(berth(['network', 'create', '--label', `bench=${TAG}`, '--ipv6', '--subnet', free[1], '--subnet', ula(), `${TAG}-6`]), 'berth network create v6');
const { ok: podmanOk, podman } = await podmanPeer({ dir, image: IMAGE, subnet: free[2] });
if (podmanOk) {
  check(podman(['network', 'create', '--subnet', free[3], `${TAG}-4`]), 'podman network create v4');
  check(podman(['network', 'create', '--ipv6', '--subnet', free[4], '--subnet', ula(), `${TAG}-6`]), 'podman network create v6');
}

/** Medians of interleaved runs (each warmed up once). */
function interleaved(fns) {
  fns.forEach((fn, k) => check(fn(), `warm-up ${k}`));
  const xs = fns.map(() => []);
  for (let i = 0; i < N; i++) {
    fns.forEach((fn, k) => {
      const t0 = process.hrtime.bigint();
      const r = fn();
      xs[k].push(msSince(t0));
      check(r, `run ${k}`);
    });
  }
  return xs.map((x) => stats(x).median);
}

try {
  const [b4, b6, bEg] = interleaved([
    () => berth(['run', '--rm', '--network', `${TAG}-4`, 'host', 'true']),
    () => berth(['run', '--rm', '--network', `${TAG}-6`, 'host', 'true']),
    () => berth(['run', '--rm', '--network', `${TAG}-4`, '--egress-rate', '10mbit', 'host', 'true']),
  ]);
  let p4;
  let p6;
  if (podmanOk) [p4, p6] = interleaved([() => podman(['run', '--rm', '--network', `${TAG}-4`, IMAGE, 'true']), () => podman(['run', '--rm', '--network', `${TAG}-6`, IMAGE, 'true'])]);
  const rows = [['what', 'berth', 'podman+runc', 'ratio berth/podman']];
  const add = (what, b, p) => rows.push([what, f1(b), p === undefined ? '-' : f1(p), p ? f2(b / p) : '-']);
  add('run --rm true, v4 user network (ms)', b4, p4);
  add('run --rm true, --ipv6 dual-stack network (ms)', b6, p6);
  add('dual stack added over v4 (ms)', b6 - b4, podmanOk ? p6 - p4 : undefined);
  add('--egress-rate 10mbit added over none (ms)', bEg - b4, undefined);
  console.log(`engine-network-v6: medians of ${N} interleaved runs${podmanOk ? '' : '; podman or runc missing: berth only'}; load average ${loadavg()[0].toFixed(1)}`);
  console.log(table(rows));
} finally {
  berth(['network', 'rm', `${TAG}-4`, `${TAG}-6`]);
  if (podmanOk) {
    podman(['network', 'rm', '-f', `${TAG}-4`, `${TAG}-6`]);
    podman(['rmi', '-f', IMAGE]);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
