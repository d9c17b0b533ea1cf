// Loading and attaching cgroup v2 device programs (v2/device-bpf.ts compiles them): Node has no
// bpf(2), so `berth-shim devices-bpf DIR -` does it, with the program on stdin. It runs once per
// create()/update() that has device rules (spawnSync; about 2-3 ms here) and is on the container
// create path. This file sits two levels below dist/ (as runtime/launch.ts), so the relative
// path to dist/berth-shim also holds inside the CJS bundles of dist/bundle/cjs/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CgroupError } from './errors.js';

const SHIM = fileURLToPath(new URL('../../berth-shim', import.meta.url));

/**
 * Attach `code` (raw eBPF instructions) as the device program of the cgroup v2 directory `dir`,
 * replacing the one berth attached before (the new one is attached first); `code` null: detach
 * berth's program. `dir` is a real host path.
 */
export type DeviceProgramLoader = (dir: string, code: Buffer | null) => void;

export const shimDeviceProgramLoader: DeviceProgramLoader = (dir, code) => {
  const r = spawnSync(SHIM, ['devices-bpf', dir, code ? '-' : '--detach'], { input: code ?? undefined, encoding: 'utf8', timeout: 30_000 });
  // EPIPE: the helper exited without reading the program; its message says why.
  if (r.error && !(r.status !== null && (r.error as NodeJS.ErrnoException).code === 'EPIPE')) throw new CgroupError(`cannot run ${SHIM} for the cgroup v2 device program: ${r.error.message}`, 'linux.resources.devices');
  if (r.status !== 0) {
    const msg = (r.stderr || `exit status ${r.status ?? r.signal}`).trim().replace(/^berth-shim devices-bpf: /, '');
    throw new CgroupError(`cannot ${code ? 'attach the eBPF device program to' : 'detach the eBPF device program from'} ${dir}: ${msg}`, 'linux.resources.devices');
  }
};
