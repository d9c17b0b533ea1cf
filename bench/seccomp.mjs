// What a seccomp profile costs at container start: `run` of /bin/true with podman's default profile
// (/usr/share/containers/seccomp.json, turned into the OCI form podman hands a runtime for the
// container's capabilities) and without any, for berth-oci, runc and crun, interleaved in one run.
// berth compiles a profile once into its cache (<root>/.seccomp/<sha256>.bpf) and the shim only
// loads the bytes, so the profile should be nearly free; runc and crun compile it with libseccomp
// on every start. Also printed: berth's one-time compile of the profile (the cache's first miss).
// "Runtime.run warm" is berth's lifecycle in this process (no node start-up): the profile's own cost.
// Usage: node bench/seccomp.mjs [iterations=30]   (BENCH_N also sets it)
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_OCI, DIST, crunCommand, crunNeedsHiding, f1, f2, have, makeBenchBundle, msSince, requireRootAndBuild, stats, table, timeCmd } from './lib.mjs';

requireRootAndBuild();
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 30);
const WARMUP = 3;
const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';
if (!existsSync(PODMAN_PROFILE)) {
  console.error(`${PODMAN_PROFILE} is missing (it comes with podman's packages: apt-get install podman)`);
  process.exit(1);
}

/**
 * The OCI linux.seccomp that podman (containers/common) derives from its profile for a container
 * with `caps` on this host: the native architecture and its sub-architectures, the rules whose
 * includes hold (every listed capability held, architecture, minimum kernel) and whose excludes
 * do not (no listed capability held, another architecture).
 */
function podmanProfile(caps) {
  const raw = JSON.parse(readFileSync(PODMAN_PROFILE, 'utf8'));
  const goArch = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64' }[process.arch] ?? process.arch;
  const scmp = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', 386: 'SCMP_ARCH_X86', riscv64: 'SCMP_ARCH_RISCV64' }[goArch];
  const entry = raw.archMap.find((a) => a.architecture === scmp);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split(/[.-]/).map(Number);
  const kernelAtLeast = (v) => {
    const want = v.split('.').map(Number);
    for (let i = 0; i < want.length; i++) if ((kernel[i] ?? 0) !== want[i]) return (kernel[i] ?? 0) > want[i];
    return true;
  };
  const syscalls = [];
  for (const r of raw.syscalls) {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(goArch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;
    if (exc.arches?.includes(goArch)) continue;
    if (exc.caps?.length && exc.caps.some((c) => caps.includes(c))) continue;
    const out = { names: r.names, action: r.action };
    if (r.args?.length) out.args = r.args;
    if (r.errnoRet !== undefined) out.errnoRet = r.errnoRet;
    syscalls.push(out);
  }
  return {
    defaultAction: raw.defaultAction,
    ...(raw.defaultErrnoRet !== undefined ? { defaultErrnoRet: raw.defaultErrnoRet } : {}),
    architectures: entry ? [entry.architecture, ...entry.subArchitectures] : [],
    syscalls,
  };
}

// crun 1.8 refuses ociVersion 1.2.0: 1.0.2 suits all three runtimes
const plain = await makeBenchBundle(['/bin/true'], (s) => (s.ociVersion = '1.0.2'));
let profile;
const filtered = await makeBenchBundle(['/bin/true'], (s) => {
  s.ociVersion = '1.0.2';
  profile = podmanProfile(s.process.capabilities.bounding);
  s.linux.seccomp = profile;
});
const states = join(plain.dir, 'states');
mkdirSync(states);
const root = (name) => join(states, name);
let seq = 0;
const nextId = (name) => `bench-sc-${name}-${process.pid}-${seq++}`;

// berth's one-time cost: compiling the profile to BPF (what the first start with it pays)
const { compileSeccomp } = await import(join(DIST, 'src/seccomp/index.js'));
const compileTimes = [];
let instructions = 0;
for (let i = 0; i < 20; i++) {
  const t0 = process.hrtime.bigint();
  instructions = compileSeccomp(profile).program.length / 8;
  compileTimes.push(msSince(t0));
}

const runners = [];
for (const [tag, b] of [['', plain], [' +seccomp', filtered]]) {
  runners.push({ name: `berth-oci run${tag}`, run: () => timeCmd(process.execPath, [BERTH_OCI, '--root', root('berth'), 'run', '--bundle', b.dir, nextId('b')]) });
  if (have('runc')) runners.push({ name: `runc run${tag}`, run: () => timeCmd('runc', ['--root', root('runc'), 'run', '--bundle', b.dir, nextId('r')]) });
  if (have('crun')) runners.push({ name: `crun run${tag}`, run: () => timeCmd(...crunCommand(['--root', root('crun'), 'run', '--bundle', b.dir, nextId('c')])) });
}

// the same lifecycle in this warm process: no node start-up in the figures, so the profile's own
// cost (hash lookup in the cache, loading 300-odd instructions, filtered syscalls) shows
const { Runtime } = await import(join(DIST, 'src/runtime/runtime.js'));
const warm = new Runtime({ root: root('warm') });
for (const [tag, b] of [['', plain], [' +seccomp', filtered]]) {
  runners.push({
    name: `Runtime.run warm${tag}`,
    run: async () => {
      const t0 = process.hrtime.bigint();
      const code = await warm.run(nextId('w'), { bundle: b.dir });
      if (code !== 0) throw new Error(`exit status ${code}`);
      return msSince(t0);
    },
  });
}

const times = new Map(runners.map((r) => [r.name, []]));
const failed = new Map();
for (let i = 0; i < WARMUP + N; i++) {
  for (let k = 0; k < runners.length; k++) {
    const r = runners[(i + k) % runners.length];
    if (failed.has(r.name)) continue;
    try {
      const ms = await r.run();
      if (i >= WARMUP) times.get(r.name).push(ms);
    } catch (e) {
      failed.set(r.name, e.message);
    }
  }
}

console.log(`seccomp: ${N} runs each (after ${WARMUP} warm-up), interleaved; /bin/true in a busybox bundle`);
console.log(`profile: ${PODMAN_PROFILE} for the default spec's capabilities -> ${profile.syscalls.length} rules, ${profile.architectures.join(' ')}; berth's BPF: ${instructions} instructions`);
if (crunNeedsHiding()) console.log('crun runs through `unshare -m` hiding /sys/fs/cgroup/unified (hybrid layout)');
const S = new Map([...times].filter(([, v]) => v.length).map(([k, v]) => [k, stats(v)]));
const rows = [['', 'median ms', 'min', 'p90', 'max']];
for (const [k, s] of S) rows.push([k, f1(s.median), f1(s.min), f1(s.p90), f1(s.max)]);
console.log(table(rows));
const ratio = (name) => {
  const a = S.get(`${name} +seccomp`);
  const b = S.get(name);
  return a && b ? `${name}: ${f2(a.median / b.median)}x (+${f1(a.median - b.median)} ms)` : null;
};
console.log('with / without the profile (medians): ' + ['berth-oci run', 'Runtime.run warm', 'runc run', 'crun run'].map(ratio).filter(Boolean).join('; '));
const c = stats(compileTimes);
console.log(`berth's compile of the profile (once per profile, then cached): median ${f2(c.median)} ms, min ${f2(c.min)} ms`);
for (const [k, m] of failed) console.log(`FAILED ${k}: ${m}`);

const left = [];
for (const d of readdirSync(states)) {
  const ids = readdirSync(join(states, d)).filter((n) => !n.startsWith('.'));
  if (ids.length) left.push(`${d}: ${ids.join(' ')}`);
}
if (left.length) console.log(`left behind: ${left.join('; ')}`);
rmSync(plain.dir, { recursive: true, force: true });
rmSync(filtered.dir, { recursive: true, force: true });
if (failed.size) process.exitCode = 1;
