// The podman peer of the engine benches (engine, engine-extras, engine-network,
// engine-network-v6): podman with runc, a private store and config under the bench's directory
// (nothing of the host's podman state is read or touched), and the bench's busybox rootfs as an
// image through `podman import`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { DIST, have } from './lib.mjs';

/**
 * Sets up podman in `dir` (containers.conf, storage.conf, IMAGE imported from `rootfs`, a busybox
 * rootfs made there when missing). `netns`: podman's default network mode (e.g. "none");
 * `subnet`: its default network's subnet (pass one no host route overlaps: podman's default is
 * berth0's 10.88.0.0/16); `defaultNetwork`: its name. `run(cmd, args, opts)` runs podman
 * (default: spawnSync; e.g. a wrapper that measures CPU time).
 * Returns { ok: false } without podman or runc; else { ok, podman(args), image, env }.
 */
export async function podmanPeer({ dir, rootfs = join(dir, 'rootfs'), image, netns, subnet, defaultNetwork, run }) {
  if (!(have('podman') && have('runc'))) return { ok: false, podman: () => { throw new Error('podman or runc missing'); }, image, env: process.env };
  const PATH = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);
  const env = { ...process.env, PATH, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  const global = ['--root', join(dir, 'graph'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'runc'];
  const exec = run ?? ((cmd, args, opts) => spawnSync(cmd, args, { encoding: 'utf8', ...opts }));
  const podman = (args) => exec('podman', [...global, ...args], { env });
  const q = (s) => JSON.stringify(s);
  const containers = ['[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]', ...(netns ? [`netns = ${q(netns)}`] : []), 'log_driver = "k8s-file"',
    '[engine]', `conmon_env_vars = [${q(`PATH=${PATH}`)}, ${q(`CONTAINERS_CONF=${env.CONTAINERS_CONF}`)}, ${q(`CONTAINERS_STORAGE_CONF=${env.CONTAINERS_STORAGE_CONF}`)}]`,
    'cgroup_manager = "cgroupfs"', 'events_logger = "file"', `events_logfile_path = ${q(join(dir, 'events.log'))}`, 'lock_type = "file"',
    `tmp_dir = ${q(join(dir, 'tmp'))}`, `volume_path = ${q(join(dir, 'volumes'))}`,
    '[network]', `network_config_dir = ${q(join(dir, 'net'))}`, ...(subnet ? [`default_subnet = ${q(subnet)}`] : []), ...(defaultNetwork ? [`default_network = ${q(defaultNetwork)}`] : [])];
  writeFileSync(env.CONTAINERS_CONF, containers.join('\n') + '\n');
  writeFileSync(env.CONTAINERS_STORAGE_CONF, `[storage]\ndriver = "overlay"\ngraphroot = ${q(join(dir, 'graph'))}\nrunroot = ${q(join(dir, 'runroot'))}\n`);
  if (!existsSync(rootfs)) {
    mkdirSync(rootfs);
    const { makeBusyboxRootfs } = await import(join(DIST, 'test', 'helpers', 'bundle.js'));
    makeBusyboxRootfs(rootfs);
  }
  spawnSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
  const r = podman(['import', '-q', join(dir, 'rootfs.tar'), image]);
  if (r.status !== 0) throw new Error(`podman import: ${r.stderr}`);
  return { ok: true, podman, image, env };
}
