// Interleaved comparison of CLI installs (a copy of bin/ + dist/ each, e.g. before and after a
// start-up change): each round runs every command with every install in turn, on one store, so
// load on the shared machine hits them alike; prints medians and ratios against the first.
// Usage: node bench/cli-variants.mjs DIR_A DIR_B...   (BENCH_ROUNDS, default 20)
// Each DIR holds bin/berth and dist/ (node_modules may be a symlink to the repo's).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, msSince, requireRootAndBuild, stats, table, f1, f2 } from './lib.mjs';

requireRootAndBuild();
const dirs = process.argv.slice(2);
if (dirs.length < 2) throw new Error('usage: node bench/cli-variants.mjs DIR_A DIR_B...');
const R = Number(process.env.BENCH_ROUNDS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-variants-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
makeBusyboxRootfs(rootfs);
const g = ['--root', join(dir, 'berth'), '--state-root', `/run/berth-v${process.pid}`];
const berth = (d, args) => spawnSync(join(d, 'bin', 'berth'), [...g, ...args], { encoding: 'utf8' });
const must = (r) => {
  if (r.status !== 0) throw new Error(`status ${r.status}: ${r.stderr}`);
  return r;
};

const sfx = Math.random().toString(36).slice(2, 8);
const live = `bv-${sfx}`;
const detached = [];
try {
  must(berth(dirs[0], ['run', '-d', '--name', live, '--network', 'none', '--rootfs', rootfs, 'sleep', '3600']));
  const CMDS = {
    'run --rm': () => ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'true'],
    'run -d': (d, i) => {
      const n = `bv-${sfx}-${detached.length}-${i}`;
      detached.push(n);
      return ['run', '-d', '--name', n, '--network', 'none', '--rootfs', rootfs, 'sleep', '3600'];
    },
    exec: () => ['exec', live, 'true'],
    'ps -a': () => ['ps', '-a'],
    version: () => ['version'],
  };
  for (const d of dirs) must(berth(d, CMDS['run --rm']())); // each install's first hot command
  const t = Object.fromEntries(Object.keys(CMDS).map((c) => [c, dirs.map(() => [])]));
  for (let r = 0; r < R; r++) {
    for (const [c, args] of Object.entries(CMDS)) {
      dirs.forEach((d, i) => {
        const a = args(d, i);
        const t0 = process.hrtime.bigint();
        must(berth(d, a));
        t[c][i].push(msSince(t0));
      });
    }
  }
  const rows = [['command', ...dirs.map((d, i) => `${i ? `${d} (ratio)` : d} ms`)]];
  for (const [c, per] of Object.entries(t)) {
    const m = per.map((xs) => stats(xs).median);
    rows.push([c, ...m.map((x, i) => (i ? `${f1(x)} (${f2(x / m[0])})` : f1(x)))]);
  }
  console.log(`${R} rounds, interleaved, medians\n${table(rows)}`);
} finally {
  for (const n of [live, ...detached]) berth(dirs[0], ['rm', '-f', n]);
  spawnSync('umount', ['-R', '-l', `/run/berth-v${process.pid}`], { stdio: 'ignore' });
  rmSync(`/run/berth-v${process.pid}`, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
