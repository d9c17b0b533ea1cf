// The main job on a fresh machine: run a container whose root filesystem is the host's own,
// read-only (no image, no registry needed), with its own pid, mount, uts, ipc and network
// namespaces, through berth-oci.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { defaultSpec } = await import(join(root, 'dist/src/spec/default-spec.js'));
const bundle = mkdtempSync(join(tmpdir(), 'berth-demo-'));
const spec = defaultSpec({
  args: ['/bin/sh', '-c', 'echo "hello from a berth container"; echo "hostname: $(hostname)"; echo "pid: $$"; echo "processes visible:"; ps -e 2>/dev/null || ls /proc | grep -c "^[0-9]"; ip link 2>/dev/null || cat /proc/net/dev'],
});
spec.process.terminal = false;
// The rootfs is the host's own programs and libraries, bound read-only into an empty directory.
const rootfs = join(bundle, 'rootfs');
for (const d of ['proc', 'sys', 'dev', 'tmp', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
for (const d of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'usr', 'etc']) {
  const host = `/${d}`;
  if (!existsSync(host)) continue;
  if (lstatSync(host).isSymbolicLink()) symlinkSync(readlinkSync(host), join(rootfs, d));
  else spec.mounts.push({ destination: host, type: 'bind', source: host, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
}
spec.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=16m'] });
spec.root = { path: 'rootfs', readonly: true };
spec.hostname = 'berth-demo';
// the host's /sys/fs/cgroup is hidden by the container's /sys: no cgroup view in the demo
spec.mounts = spec.mounts.filter((m) => m.type !== 'cgroup');
writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
const id = `demo-${process.pid}`;
const r = spawnSync(process.execPath, [join(root, 'bin/berth-oci'), '--root', join(bundle, 'state'), 'run', '--bundle', bundle, id], { stdio: 'inherit' });
rmSync(bundle, { recursive: true, force: true });
process.exit(r.status ?? 1);
