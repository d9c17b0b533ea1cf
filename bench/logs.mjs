// `logs` of a container that wrote a big log, berth against podman (runc, k8s-file log), in one
// run on the same busybox rootfs: `logs --tail 10` (berth reads backwards from the end, so its
// cost should not depend on the log's size) and the whole log to /dev/null; wall time (median,
// interleaved) and peak RSS of the logs process (/usr/bin/time). Each container prints SIZE MB
// of 100-byte lines; berth keeps them in json-file files of 100 MB (max-file 3).
// Usage: node bench/logs.mjs   (BENCH_N iterations, default 10; BENCH_MB log size, default 200)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, f1, f2, requireRootAndBuild, table, timePair } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 10);
const MB = Number(process.env.BENCH_MB ?? 200);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-logs-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
makeBusyboxRootfs(rootfs);
const stateRoot = `/run/berth-bl${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const berth = (args, o = {}) => spawnSync(BERTH, [...bg, ...args], { encoding: 'utf8', maxBuffer: 1 << 20, ...o });
const IMAGE = `localhost/berth-bench-logs:${process.pid}`;
const { ok: podmanOk, podman, env: podmanEnv } = await podmanPeer({ dir, rootfs, image: IMAGE, netns: 'none' });

// 100-byte lines, numbered, SIZE MB of them
const script = `line=$(printf '%090d' 0); while :; do echo "$line"; done | head -c ${MB * 1000000}; echo end`;
const must = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: status ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};
const name = `bench-logs-${process.pid}`;
let t0 = Date.now();
must(berth(['run', '-d', '--name', name, '--network', 'none', '--log-opt', 'max-size=100m', '--log-opt', 'max-file=3', '--rootfs', rootfs, 'sh', '-c', script]), 'berth run');
must(berth(['wait', name]), 'berth wait');
const bWrite = Date.now() - t0;
let pWrite;
if (podmanOk) {
  t0 = Date.now();
  must(podman(['run', '-d', '--name', name, '--log-driver', 'k8s-file', IMAGE, 'sh', '-c', script]), 'podman run');
  must(podman(['wait', name]), 'podman wait');
  pWrite = Date.now() - t0;
}

/** Peak RSS (MiB) and CPU seconds of one command, its output to /dev/null. */
function peak(cmd, args, env = process.env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env });
  const [kb, u, s] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { mb: kb / 1024, cpu: u + s };
}
const pArgs = (args) => ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc', ...args];
const check = (out, what) => {
  if (!out.trim().endsWith('end')) throw new Error(`${what}: the last line is not "end"`);
};
check(berth(['logs', '--tail', '1', name]).stdout, 'berth logs --tail 1');
if (podmanOk) check(podman(['logs', '--tail', '1', name]).stdout, 'podman logs --tail 1');

const rows = [['what', 'berth', 'podman+runc', 'ratio']];
const row = (what, b, p, fmt = f1) => rows.push([what, fmt(b), p === undefined ? '-' : fmt(p), p ? f2(b / p) : '-']);
const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };
const [bTail, pTail] = timePair(() => berth(['logs', '--tail', '10', name], quiet), podmanOk ? () => podman(['logs', '--tail', '10', name], quiet) : undefined, N);
row('logs --tail 10, ms (median)', bTail, pTail);
// the same of a one-line log: what is left is the command's fixed cost, not the log's size
const small = `${name}-small`;
must(berth(['run', '--name', small, '--network', 'none', '--rootfs', rootfs, 'echo', 'hi']), 'berth run small');
if (podmanOk) must(podman(['run', '--name', small, IMAGE, 'echo', 'hi']), 'podman run small');
const [bSmall, pSmall] = timePair(() => berth(['logs', '--tail', '10', small], quiet), podmanOk ? () => podman(['logs', '--tail', '10', small], quiet) : undefined, N);
row('logs --tail 10 of a one-line log, ms (median)', bSmall, pSmall);
const bT = peak(BERTH, [...bg, 'logs', '--tail', '10', name]);
const pT = podmanOk ? peak('podman', pArgs(['logs', '--tail', '10', name]), podmanEnv) : undefined;
row('logs --tail 10, peak RSS MiB', bT.mb, pT?.mb);
row('logs --tail 10, CPU s', bT.cpu, pT?.cpu, f2);
const bA = peak(BERTH, [...bg, 'logs', name]);
const pA = podmanOk ? peak('podman', pArgs(['logs', name]), podmanEnv) : undefined;
row(`whole log (${MB} MB written) > /dev/null, CPU s`, bA.cpu, pA?.cpu, f2);
row('whole log > /dev/null, peak RSS MiB', bA.mb, pA?.mb);
row(`writing the log (run -d + wait), ms`, bWrite, pWrite, (x) => String(Math.round(x)));

console.log(`logs: ${MB} MB of output per container; medians of ${N}${podmanOk ? '' : '; podman or runc missing: berth only'}`);
console.log(table(rows));
berth(['rm', '-f', name, small]);
if (podmanOk) {
  podman(['rm', '-f', '-t', '0', name, small]);
  podman(['rmi', '-f', IMAGE]);
}
rmSync(dir, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });
