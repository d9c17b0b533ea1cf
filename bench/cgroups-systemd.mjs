// Cost of the systemd cgroup driver against runc's, in the same run. This host does not run
// systemd, so the bench boots one in a system container (test/helpers/systemd-container.ts) and
// runs, inside it, `berth-oci run` and `runc run` of one busybox bundle (/bin/true, memory and
// pids limits), each with the cgroupfs driver and with --systemd-cgroup, interleaved, timed in
// the container's shell. The systemd driver's price is the difference between the two drivers
// of the same runtime (a transient scope over D-Bus: StartTransientUnit + job, StopUnit + job).
// Usage: node bench/cgroups-systemd.mjs [M=15]   (BENCH_N sets M)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_OCI, DIST, f1, f2, requireRootAndBuild, stats, table } from './lib.mjs';

requireRootAndBuild();
const M = Number(process.argv[2] ?? process.env.BENCH_N ?? 15);
if (!existsSync('/lib/systemd/systemd')) {
  console.log('systemd is not installed: nothing to measure');
  process.exit(0);
}
const { bootSystemdContainer } = await import(join(DIST, 'test', 'helpers', 'systemd-container.js'));
const sd = bootSystemdContainer(`bench-${process.pid}`);
try {
  console.log(`systemd in a container: ${sd.systemState}`);
  sd.nestedBundle('b', ['true'], (s) => {
    s.ociVersion = '1.0.2';
    s.linux.resources = { ...s.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 64 } };
    s.linux.cgroupsPath = '/bench/x'; // set per run below
  });
  const node = process.execPath;
  const cmds = {
    'berth-oci, cgroupfs': (i) => `${node} ${BERTH_OCI} --root /run/bb run --bundle /nested/b bb${i}`,
    'berth-oci, systemd': (i) => `${node} ${BERTH_OCI} --root /run/bs --systemd-cgroup run --bundle /nested/b bs${i}`,
    'runc, cgroupfs': (i) => `runc --root /run/rb run --bundle /nested/b rb${i}`,
    'runc, systemd': (i) => `runc --root /run/rs --systemd-cgroup run --bundle /nested/b rs${i}`,
  };
  // each run gets its own cgroupsPath (the systemd driver wants slice:prefix:name)
  const samples = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let i = 0; i < M + 2; i++) {
    const names = Object.keys(cmds);
    if (i % 2) names.reverse();
    const script = names.map((k) => {
      const c = cmds[k](i);
      const path = k.endsWith('systemd') ? `system.slice:${k.startsWith('runc') ? 'runc' : 'berth'}:${k.startsWith('runc') ? 'r' : 'b'}${i}` : `/bench/${k.startsWith('runc') ? 'r' : 'b'}${i}`;
      return `sed -i 's#"cgroupsPath": "[^"]*"#"cgroupsPath": "${path}"#' /nested/b/config.json; s=$(date +%s%N); ${c} </dev/null >/dev/null 2>&1 || echo "FAIL ${k}"; e=$(date +%s%N); echo "${k}=$(( (e - s) / 1000 ))"`;
    }).join('\n');
    const r = sd.sh(script, 120000);
    if (/FAIL/.test(r.out)) throw new Error(`a run failed:\n${r.out}`);
    if (i < 2) continue;
    for (const line of r.out.trim().split('\n')) {
      const [k, us] = line.split('=');
      samples[k]?.push(Number(us) / 1000);
    }
  }
  const med = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, stats(xs).median]));
  console.log(`\n\`run\` of /bin/true inside a systemd container (hybrid cgroups), ${M} runs each, median ms`);
  const rows = [['runtime', 'cgroupfs driver', 'systemd driver', 'systemd driver costs']];
  const bDelta = med['berth-oci, systemd'] - med['berth-oci, cgroupfs'];
  const rDelta = med['runc, systemd'] - med['runc, cgroupfs'];
  rows.push(['berth-oci', f1(med['berth-oci, cgroupfs']), f1(med['berth-oci, systemd']), f1(bDelta)]);
  rows.push(['runc', f1(med['runc, cgroupfs']), f1(med['runc, systemd']), f1(rDelta)]);
  rows.push(['berth/runc', f2(med['berth-oci, cgroupfs'] / med['runc, cgroupfs']), f2(med['berth-oci, systemd'] / med['runc, systemd']), f2(bDelta / rDelta)]);
  console.log(table(rows));
} finally {
  sd.stop();
}
