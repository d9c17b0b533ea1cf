// The main job on a fresh machine: `berth run --rm host ...` through the engine. The embedded
// image `host` is the host's root file system, read-only, under the container's private writable
// layer (no registry, no download), with its own pid, mount, uts, ipc and network namespaces.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const script = [
  'echo "hello from a berth container"',
  'echo "hostname: $(hostname)"',
  'echo "pid: $$"',
  'echo "processes visible:"; ps -e 2>/dev/null || ls /proc | grep -c "^[0-9]"',
  'ip link 2>/dev/null || cat /proc/net/dev',
  'echo written > /etc/berth-demo && echo "wrote /etc/berth-demo (only in this container)"',
].join('; ');
const r = spawnSync(join(root, 'bin/berth'), ['run', '--rm', '--hostname', 'berth-demo', 'host', 'sh', '-c', script], { stdio: 'inherit' });
process.exit(r.status ?? 1);
