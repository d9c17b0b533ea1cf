// Added cost of networking per container: NetworkManager.attach + detach on a netns, against
// --network none (loopback up only) and against no network work at all, measured in one run.
// Also: the cost of one berth-netlink process (an empty plan), a veth delete, and a port
// publish. Needs root; everything it makes (netns, bridge, nft table) is removed at the end.
// Usage: node bench/network.mjs [iterations]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkManager } from '../dist/src/network/index.js';
import { Plan, runPlan } from '../dist/src/network/netlink.js';
import { createVeth, deleteLink } from '../dist/src/network/links.js';

const N = Number(process.argv[2] ?? 30);
const tag = `b${process.pid % 100000}`;
// State lives where BERTH_BENCH_DIR says (default the temp dir). berth's runtime state belongs
// on /run, a tmpfs on systemd hosts (on this VM /run is ext4: try BERTH_BENCH_DIR=/dev/shm).
const base = process.env.BERTH_BENCH_DIR ?? tmpdir();
const dir = mkdtempSync(join(base, 'berth-netbench-'));
const fsType = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
const m = new NetworkManager({
  configDir: join(dir, 'cfg'), runDir: join(dir, 'run'), table: `berth_bench_${tag}`, defaultBridge: `bb${tag}`.slice(0, 15),
  defaultSubnet: '10.213.0.0/22', vethPrefix: 'bx',
});
const ns = [];
/** The alternative to berth-netlink: `ip -batch -` on the host, then `ip -n NS -batch -` inside. */
const ip = (args, input) => new Promise((resolve, reject) => {
  const c = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  c.stdin.on('error', () => {});
  c.on('close', (code) => (code ? reject(new Error(err)) : resolve()));
  c.stdin.end(input);
});
const stats = {};
const rec = (k, ms) => (stats[k] ??= []).push(ms);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const p90 = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.9)];
const time = async (k, f) => {
  const t = performance.now();
  const r = await f();
  rec(k, performance.now() - t);
  return r;
};

try {
  for (let i = 0; i < N; i++) {
    const name = `${tag}-${i}`;
    execFileSync('ip', ['netns', 'add', name]);
    ns.push(name);
  }
  await m.attach('warmup', `/var/run/netns/${ns[0]}`); // creates the bridge and the nft table
  await m.detach('warmup');
  const net = await m.create({ name: `${tag}-user` });
  for (let i = 0; i < N; i++) {
    const path = `/var/run/netns/${ns[i]}`;
    await time('berth-netlink, empty plan', () => runPlan(new Plan()));
    await time('attach --network none', () => m.attach(`n${i}`, path, { network: 'none' }));
    await time('detach --network none', () => m.detach(`n${i}`));
    await time('attach default bridge', () => m.attach(`c${i}`, path));
    await time('detach default bridge', () => m.detach(`c${i}`));
    await time('attach user network (DNS)', () => m.attach(`u${i}`, path, { network: net.id, name: `u${i}` }));
    await time('detach user network (DNS)', () => m.detach(`u${i}`));
    await time('links via 2x ip -batch (for comparison)', async () => {
      await ip(['-batch', '-'], `link add bxip${tag} mtu 1500 master ${m.inspect('bridge').bridge} up type veth peer name eth0 netns ${ns[i]} mtu 1500\n`);
      await ip(['-n', ns[i], '-batch', '-'], `link set lo up\naddr add 10.213.3.250/22 dev eth0\nlink set eth0 up\nroute add default via 10.213.0.1\n`);
    });
    await ip(['link', 'del', `bxip${tag}`]);
    await time('links via berth-netlink (same steps)', () => createVeth(path, {
      bridge: m.inspect('bridge').bridge, hostIf: `bxnl${tag}`, ifname: 'eth0', mac: '02:42:0a:d5:03:fa', ip: '10.213.3.250', subnet: '10.213.0.0/22', mtu: 1500, gateway: '10.213.0.1', isolated: false,
    }));
    await deleteLink(`bxnl${tag}`);
    await time('attach bridge + -p', () => m.attach(`p${i}`, path, { ports: [`${20000 + i}:80`] }));
    await time('detach bridge + -p', () => m.detach(`p${i}`));
  }
  // The engine's flow: the netns is the container's own (/proc/PID/ns/net) and dies with it, so
  // detach leaves the veth to the kernel (netnsGone).
  for (let i = 0; i < N; i++) {
    const name = `${tag}-g${i}`;
    execFileSync('ip', ['netns', 'add', name]);
    await time('attach default bridge (fresh netns)', () => m.attach(`g${i}`, `/var/run/netns/${name}`));
    await time('detach, netnsGone', () => m.detach(`g${i}`, { netnsGone: true }));
    execFileSync('ip', ['netns', 'del', name]);
  }
  const w = Math.max(...Object.keys(stats).map((k) => k.length));
  console.log(`network attach/detach, ${N} iterations, state on ${fsType} (ms; median, p90, min)`);
  for (const [k, v] of Object.entries(stats)) console.log(`  ${k.padEnd(w)}  ${median(v).toFixed(2).padStart(7)}  ${p90(v).toFixed(2).padStart(7)}  ${Math.min(...v).toFixed(2).padStart(7)}`);
  const added = median(stats['attach default bridge']) + median(stats['detach default bridge']);
  const engine = median(stats['attach default bridge (fresh netns)']) + median(stats['detach, netnsGone']);
  const none = median(stats['attach --network none']) + median(stats['detach --network none']);
  console.log(`  added by bridge networking (attach+detach): ${added.toFixed(2)} ms with link deletion, ${engine.toFixed(2)} ms when the netns dies with the container`);
  console.log(`  over --network none (loopback up by berth-netlink): ${(engine - none).toFixed(2)} ms`);
} finally {
  await m.destroyAll().catch((e) => console.error(e.message));
  for (const n of ns) execFileSync('ip', ['netns', 'del', n]);
  rmSync(dir, { recursive: true, force: true });
}
