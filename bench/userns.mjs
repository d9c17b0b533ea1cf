// What a user namespace costs at container start, and what berth's idmapped rootfs adds:
// `run` of /bin/true without a user namespace, and with one (0 -> 300000, 65536 ids), for
// berth-oci, runc and crun, interleaved in one run. runc and crun get a rootfs chowned to the
// mapped range beforehand (what they need); berth also runs the host-root-owned rootfs with
// run.oci.berth.idmap-rootfs=true (an idmapped mount made at each start, nothing chowned).
// Usage: node bench/userns.mjs [iterations=30]   (BENCH_N also sets it)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_OCI, crunCommand, crunNeedsHiding, f1, f2, have, makeBenchBundle, requireRootAndBuild, stats, table, timeCmd } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 30);
const WARMUP = 3;
const MAP = [{ containerID: 0, hostID: 300000, size: 65536 }];
const userns = (s) => {
  s.ociVersion = '1.0.2'; // crun 1.8 refuses 1.2.0
  s.linux.namespaces = [...s.linux.namespaces.filter((n) => n.type !== 'user'), { type: 'user' }];
  s.linux.uidMappings = MAP;
  s.linux.gidMappings = MAP;
};
const plain = await makeBenchBundle(['/bin/true'], (s) => (s.ociVersion = '1.0.2'));
const chowned = await makeBenchBundle(['/bin/true'], userns);
execFileSync('chown', ['-R', '300000:300000', join(chowned.dir, 'rootfs')]);
const idmapped = await makeBenchBundle(['/bin/true'], (s) => {
  userns(s);
  s.annotations = { 'run.oci.berth.idmap-rootfs': 'true' };
});
for (const b of [plain, chowned, idmapped]) execFileSync('chmod', ['755', b.dir]);
const states = join(plain.dir, 'states');
mkdirSync(states);
const root = (name) => join(states, name);
let seq = 0;
const nextId = (name) => `bench-un-${name}-${process.pid}-${seq++}`;

const runners = [];
for (const [tag, b] of [['', plain], [' +userns (chowned rootfs)', chowned]]) {
  runners.push({ name: `berth-oci run${tag}`, run: () => timeCmd(process.execPath, [BERTH_OCI, '--root', root('berth'), 'run', '--bundle', b.dir, nextId('b')]) });
  if (have('runc')) runners.push({ name: `runc run${tag}`, run: () => timeCmd('runc', ['--root', root('runc'), 'run', '--bundle', b.dir, nextId('r')]) });
  if (have('crun')) runners.push({ name: `crun run${tag}`, run: () => timeCmd(...crunCommand(['--root', root('crun'), 'run', '--bundle', b.dir, nextId('c')])) });
}
runners.push({ name: 'berth-oci run +userns (idmapped rootfs)', run: () => timeCmd(process.execPath, [BERTH_OCI, '--root', root('berth'), 'run', '--bundle', idmapped.dir, nextId('i')]) });

const times = new Map(runners.map((r) => [r.name, []]));
const failed = new Map();
for (let i = 0; i < WARMUP + N; i++) {
  for (let k = 0; k < runners.length; k++) {
    const r = runners[(i + k) % runners.length];
    if (failed.has(r.name)) continue;
    try {
      const ms = r.run();
      if (i >= WARMUP) times.get(r.name).push(ms);
    } catch (e) {
      failed.set(r.name, e.message);
    }
  }
}

console.log(`userns: ${N} runs each (after ${WARMUP} warm-up), interleaved; /bin/true in a busybox bundle, mapping 0:300000:65536`);
if (crunNeedsHiding()) console.log('crun runs through `unshare -m` hiding /sys/fs/cgroup/unified (hybrid layout)');
const S = new Map([...times].filter(([, v]) => v.length).map(([k, v]) => [k, stats(v)]));
const rows = [['', 'median ms', 'min', 'p90', 'max']];
for (const [k, s] of S) rows.push([k, f1(s.median), f1(s.min), f1(s.p90), f1(s.max)]);
console.log(table(rows));
const ratio = (name, tag) => {
  const a = S.get(`${name} ${tag}`);
  const b = S.get(name);
  return a && b ? `${name} ${tag}: ${f2(a.median / b.median)}x (+${f1(a.median - b.median)} ms)` : null;
};
console.log('with / without a user namespace (medians):');
for (const line of [
  ratio('berth-oci run', '+userns (chowned rootfs)'), ratio('berth-oci run', '+userns (idmapped rootfs)'),
  ratio('runc run', '+userns (chowned rootfs)'), ratio('crun run', '+userns (chowned rootfs)'),
].filter(Boolean)) console.log(`  ${line}`);
for (const [k, m] of failed) console.log(`FAILED ${k}: ${m}`);
const left = [];
for (const d of readdirSync(states)) {
  const ids = readdirSync(join(states, d)).filter((n) => !n.startsWith('.'));
  if (ids.length) left.push(`${d}: ${ids.join(' ')}`);
}
if (left.length) console.log(`left behind: ${left.join('; ')}`);
for (const b of [plain, chowned, idmapped]) rmSync(b.dir, { recursive: true, force: true });
if (failed.size) process.exitCode = 1;
