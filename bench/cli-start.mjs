// CLI cold start: how long a `bin/berth` / `bin/berth-oci` command takes when it does (almost)
// nothing, against `node -e 0` started the same way (through env, without NODE_EXTRA_CA_CERTS,
// as the bin scripts start node) and against podman and runc doing the same, all in one run.
// The commands are interleaved round by round (the machine is shared and noisy); medians.
//   berth version / berth ps -a (empty store) / berth-oci --version / berth-oci list (empty root)
//   podman version / podman ps -a (empty store) / runc --version / runc list (empty root)
// Usage: node bench/cli-start.mjs   (BENCH_N rounds, default 30)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, have, msSince, requireRootAndBuild, stats, table, f1, f2 } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-cli-'));
const stateRoot = `/run/berth-bcli${process.pid}`;
const BERTH = join(REPO, 'bin', 'berth');
const OCI = join(REPO, 'bin', 'berth-oci');
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const ociRoot = join(dir, 'oci');
const runcRoot = join(dir, 'runc');
mkdirSync(ociRoot);
mkdirSync(runcRoot);
const pg = ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];

const cases = [
  ['node -e 0 (as bin/ starts it)', '/usr/bin/env', ['-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '-e', '0']],
  ['berth version', BERTH, ['version']],
  ['berth ps -a', BERTH, [...bg, 'ps', '-a']],
  ['berth-oci --version', OCI, ['--version']],
  ['berth-oci list', OCI, ['--root', ociRoot, 'list']],
  ...(have('podman') ? [['podman version', 'podman', ['version']], ['podman ps -a', 'podman', [...pg, 'ps', '-a']]] : []),
  ...(have('runc') ? [['runc --version', 'runc', ['--version']], ['runc list', 'runc', ['--root', runcRoot, 'list']]] : []),
];

const times = new Map(cases.map(([name]) => [name, []]));
const once = ([name, cmd, args]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60000 });
  const ms = msSince(t0);
  if (r.status !== 0) throw new Error(`${name}: status ${r.status}: ${r.stderr}`);
  return ms;
};
try {
  for (const c of cases) once(c); // warm-up: page cache, code caches, the stores created
  for (let i = 0; i < N; i++) {
    // rotate the order each round so no command always follows the same one
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      times.get(c[0]).push(once(c));
    }
  }
} finally {
  spawnSync(BERTH, [...bg, 'system', 'prune', '-f'], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}

const med = (name) => (times.has(name) ? stats(times.get(name)).median : undefined);
const node = med('node -e 0 (as bin/ starts it)');
const peerOf = {
  'berth version': 'podman version',
  'berth ps -a': 'podman ps -a',
  'berth-oci --version': 'runc --version',
  'berth-oci list': 'runc list',
};
const rows = [['command', 'median ms', 'p90 ms', 'minus node ms', 'peer', 'peer ms', 'x peer']];
for (const [name] of cases) {
  const s = stats(times.get(name));
  const peer = peerOf[name];
  rows.push([name, f1(s.median), f1(s.p90), f1(s.median - node), peer ?? '', peer ? f1(med(peer)) : '', peer && med(peer) ? f2(s.median / med(peer)) : '']);
}
console.log(`CLI start, ${N} interleaved rounds, wall time medians (ratios: berth / peer, same run)`);
console.log(table(rows));
