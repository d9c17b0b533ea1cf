// `npm run bench`: runs every benchmark in turn (each in its own node process) and prints its
// figures. Benchmarks assert nothing about time; compare the ratios measured in one run.
// Usage: node bench/run.mjs [name-filter]    BENCH_N=... sets the iterations of each bench.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = [
  'cli-start.mjs', 'oci-run.mjs', 'shim-start.mjs', 'oci-breakdown.mjs', 'oci-memory.mjs', 'cgroups.mjs', 'seccomp.mjs', 'userns.mjs', 'engine.mjs',
  'engine-extras.mjs', 'images.mjs', 'network.mjs', 'network-extras.mjs', 'engine-network.mjs', 'logs.mjs', 'logs-follow.mjs',
  // boots systemd in a container first (minutes): only when named, `node bench/run.mjs cgroups-systemd`
  ...(process.argv[2] === 'cgroups-systemd' ? ['cgroups-systemd.mjs'] : []),
];
const filter = process.argv[2];
let failed = 0;
for (const b of benches) {
  if (filter && !b.includes(filter)) continue;
  console.log(`\n== ${b}`);
  const r = spawnSync(process.execPath, [join(here, b)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`== ${b} failed (status ${r.status})`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
