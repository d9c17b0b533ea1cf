// Cost of the network library's extras per container, measured in one run against their
// alternatives: a dual-stack attach against a v4-only one; an attach with an egress limit (tbf
// in the same berth-netlink plan) against a plain attach followed by `tc qdisc replace` run
// through `ip netns exec` (the shelling-out way); and berth's own bridge attach against the same
// attachment delegated to CNI plugins (bridge + host-local, what podman's CNI backend and
// Kubernetes runtimes execute). Needs root; everything it makes is removed at the end.
// Usage: node bench/network-extras.mjs [iterations]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkManager } from '../dist/src/network/index.js';

const N = Number(process.argv[2] ?? 20);
const tag = `e${process.pid % 100000}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-netxbench-'));
const m = new NetworkManager({
  configDir: join(dir, 'cfg'), runDir: join(dir, 'run'), table: `berth_benchx_${tag}`, defaultBridge: `bb${tag}`.slice(0, 15),
  defaultSubnet: '10.214.0.0/22', vethPrefix: 'bz', bridgePrefix: `bn${tag}`.slice(0, 9),
});
const CNI_BRIDGE = `bc${tag}`.slice(0, 15);
const ns = [];
const stats = {};
const rec = (k, ms) => (stats[k] ??= []).push(ms);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const time = async (k, f) => {
  const t = performance.now();
  await f();
  rec(k, performance.now() - t);
};

try {
  for (let i = 0; i < N; i++) {
    execFileSync('ip', ['netns', 'add', `${tag}-${i}`]);
    ns.push(`${tag}-${i}`);
  }
  const opts = { dns: 'false' };
  const v4 = await m.create({ name: `${tag}-v4`, subnet: '10.214.8.0/24', options: opts });
  const v6 = await m.create({ name: `${tag}-v6`, subnet: '10.214.9.0/24', ipv6: true, subnet6: 'fd21:4::/64', options: opts });
  const cni = await m.create({
    name: `${tag}-cni`, driver: 'cni', cni: {
      cniVersion: '1.0.0', name: `berth-bench-${tag}`,
      plugins: [{ type: 'bridge', bridge: CNI_BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.214.10.0/24' }]], dataDir: join(dir, 'host-local') } }],
    },
  });
  // warm up: bridges, nft table, page cache of the plugins
  for (const n of [v4, v6, cni]) {
    await m.attach('warm', `/var/run/netns/${ns[0]}`, { network: n.name });
    await m.detach('warm');
  }
  for (let i = 0; i < N; i++) {
    const path = `/var/run/netns/${ns[i]}`;
    await time('attach+detach v4-only network', async () => { await m.attach(`a${i}`, path, { network: v4.name }); await m.detach(`a${i}`); });
    await time('attach+detach dual-stack network', async () => { await m.attach(`b${i}`, path, { network: v6.name }); await m.detach(`b${i}`); });
    await time('attach+detach with egressRate (tbf via netlink)', async () => { await m.attach(`c${i}`, path, { network: v4.name, egressRate: '10mbit' }); await m.detach(`c${i}`); });
    await time('attach+detach, then tc via ip netns exec (peer way)', async () => {
      await m.attach(`d${i}`, path, { network: v4.name });
      const r = spawnSync('ip', ['netns', 'exec', ns[i], 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '10mbit', 'burst', '12500', 'limit', '137500']);
      if (r.status !== 0) throw new Error(String(r.stderr));
      await m.detach(`d${i}`);
    });
    await time('attach+detach via CNI plugins (bridge+host-local)', async () => { await m.attach(`e${i}`, path, { network: cni.name }); await m.detach(`e${i}`); });
  }
  const w = Math.max(...Object.keys(stats).map((k) => k.length));
  console.log(`network extras, ${N} iterations (ms, median)`);
  for (const [k, v] of Object.entries(stats)) console.log(`  ${k.padEnd(w)}  ${median(v).toFixed(2).padStart(7)}`);
  const md = (k) => median(stats[k]);
  console.log(`  dual-stack / v4-only: ${(md('attach+detach dual-stack network') / md('attach+detach v4-only network')).toFixed(2)}x`);
  console.log(`  egress limit in the plan / plain + tc process: ${(md('attach+detach with egressRate (tbf via netlink)') / md('attach+detach, then tc via ip netns exec (peer way)')).toFixed(2)}x`);
  console.log(`  berth bridge attach / CNI bridge plugin attach: ${(md('attach+detach v4-only network') / md('attach+detach via CNI plugins (bridge+host-local)')).toFixed(2)}x`);
} finally {
  await m.destroyAll().catch((e) => console.error(e.message));
  spawnSync('ip', ['link', 'del', CNI_BRIDGE]);
  for (const n of ns) spawnSync('ip', ['netns', 'del', n]);
  rmSync(dir, { recursive: true, force: true });
}
