// `logs -f` against podman's (runc, k8s-file log; podman follows with inotify), in one run on the
// same busybox rootfs: the latency from a line's trigger to its arrival at a running follower,
// and the CPU an idle follower burns. Each container prints "line I" once the file go<I> appears
// in a bind-mounted directory (it looks every 1 ms); the bench creates go<I> and times until the
// follower prints the line, alternating between the two followers (the machine is shared).
// berth's follower was woken by a 100 ms poll before src/engine/logs-wake.ts (inotify).
// Usage: node bench/logs-follow.mjs   (BENCH_N lines, default 30; BENCH_IDLE_S, default 10;
//   BENCH_REF=DIR: also a follower run by the berth built in DIR, e.g. a copy of the previous commit)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, REPO, f1, f2, requireRootAndBuild, stats, table } from './lib.mjs';
import { podmanPeer } from './podman.mjs';

requireRootAndBuild();
const N = Number(process.env.BENCH_N ?? 30);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-logsf-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(rootfs);
const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
makeBusyboxRootfs(rootfs);
const stateRoot = `/run/berth-blf${process.pid}`;
const bg = ['--root', join(dir, 'berth'), '--state-root', stateRoot];
const berth = (args) => spawnSync(BERTH, [...bg, ...args], { encoding: 'utf8' });
const IMAGE = `localhost/berth-bench-logsf:${process.pid}`;
const { ok: podmanOk, podman, env: podmanEnv } = await podmanPeer({ dir, rootfs, image: IMAGE, netns: 'none' });
const pGlobal = ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc'];
const must = (r, what) => {
  if (r.status !== 0) throw new Error(`${what}: status ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
};

const script = 'i=0; while :; do if [ -e /t/go$i ]; then echo "line $i"; i=$((i+1)); fi; usleep 1000; done';
const name = `bench-logsf-${process.pid}`;
const trig = { berth: join(dir, 'tb'), podman: join(dir, 'tp') };
mkdirSync(trig.berth);
mkdirSync(trig.podman);
must(berth(['run', '-d', '--name', name, '--network', 'none', '-v', `${trig.berth}:/t`, '--rootfs', rootfs, 'sh', '-c', script]), 'berth run');
if (podmanOk) must(podman(['run', '-d', '--name', name, '-v', `${trig.podman}:/t`, IMAGE, 'sh', '-c', script]), 'podman run');

/** A follower process; next(i) resolves when "line i" has arrived. */
function follower(cmd, args, env) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], env });
  let out = '';
  let want;
  p.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    if (want && out.includes(`line ${want.i}\n`)) want.res();
  });
  return {
    p,
    next: (i) => new Promise((res) => (out.includes(`line ${i}\n`) ? res() : (want = { i, res }))),
    cpu: () => {
      const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks -> s (USER_HZ 100)
    },
  };
}
const fb = follower(BERTH, [...bg, 'logs', '-f', name]);
const REF = process.env.BENCH_REF;
const fr = REF ? follower(join(REF, 'bin', 'berth'), [...bg, 'logs', '-f', name]) : undefined;
const fp = podmanOk ? follower('podman', [...pGlobal, 'logs', '-f', name], podmanEnv) : undefined;
const lat = { berth: [], podman: [], ref: [] };
trig.ref = trig.berth;
async function one(which, f, i) {
  const t0 = process.hrtime.bigint();
  writeFileSync(join(trig[which], `go${i}`), '');
  await f.next(i);
  lat[which].push(Number(process.hrtime.bigint() - t0) / 1e6);
}
// line 0 of each: the followers are up and reading
await Promise.all([one('berth', fb, 0), fp ? one('podman', fp, 0) : undefined]);
if (fr) await fr.next(0);
lat.berth.length = lat.podman.length = 0;
for (let i = 1; i <= N; i++) {
  // the reference follower reads the same container's log: timed from the same trigger
  const t0 = process.hrtime.bigint();
  const refDone = fr?.next(i).then(() => lat.ref.push(Number(process.hrtime.bigint() - t0) / 1e6));
  await one('berth', fb, i);
  await refDone;
  if (fp) await one('podman', fp, i);
  await new Promise((r) => setTimeout(r, 20 + Math.random() * 80)); // triggers at random points of a poll's period
}
// idle: nothing printed for IDLE_S seconds; the CPU each follower used meanwhile
const c0 = [fb.cpu(), fp?.cpu(), fr?.cpu()];
await new Promise((r) => setTimeout(r, IDLE_S * 1000));
const idle = [fb.cpu() - c0[0], fp ? fp.cpu() - c0[1] : undefined, fr ? fr.cpu() - c0[2] : undefined];

const rows = [['what', 'berth', 'podman+runc', 'ratio']];
const row = (what, b, p, fmt = f1) => rows.push([what, fmt(b), p === undefined ? '-' : fmt(p), p ? f2(b / p) : '-']);
const sb = stats(lat.berth);
const sp = podmanOk ? stats(lat.podman) : undefined;
row('line to logs -f follower, ms (median)', sb.median, sp?.median);
row('line to logs -f follower, ms (max)', Math.max(...lat.berth), podmanOk ? Math.max(...lat.podman) : undefined);
row(`idle follower CPU over ${IDLE_S} s, ms`, idle[0] * 1000, idle[1] === undefined ? undefined : idle[1] * 1000, (x) => String(Math.round(x)));
if (fr) {
  const sr = stats(lat.ref);
  rows.push(['reference build (BENCH_REF): line to follower, ms (median / max)', `${f1(sr.median)} / ${f1(sr.max)}`, '', '']);
  rows.push([`reference build: idle follower CPU over ${IDLE_S} s, ms`, String(Math.round(idle[2] * 1000)), '', '']);
}
console.log(`logs -f: ${N} lines each, alternating; the container looks for its trigger every 1 ms${podmanOk ? '' : '; podman or runc missing: berth only'}`);
console.log(table(rows));
fb.p.kill();
fr?.p.kill();
fp?.p.kill();
berth(['rm', '-f', name]);
if (podmanOk) {
  podman(['rm', '-f', '-t', '0', name]);
  podman(['rmi', '-f', IMAGE]);
}
rmSync(dir, { recursive: true, force: true });
rmSync(stateRoot, { recursive: true, force: true });
