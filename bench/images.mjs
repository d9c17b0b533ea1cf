// Images, in one run against peers:
//   1. pull + unpack of a multi-layer image (busybox-static plus a few tens of MB of files from
//      /usr) from a local docker-registry started here: `berth pull` (downloads and unpacks into
//      overlay layers, as docker does) against `podman pull` (containers-storage, overlay) and
//      `skopeo copy` into containers-storage: and into dir: (download only). MB/s of the
//      compressed image and ratios berth/peer (> 1: berth is faster).
//   2. rootfs creation (an overlay snapshot: upper/work dirs + one mount) for a small image and
//      for a ~500 MB image, through the library in a warm process and with `berth create`.
// Usage: node bench/images.mjs   (BENCH_N repetitions, medians; BENCH_BIG_MB size of the big image, 0: skip part 2)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { DIST, REPO, have, msSince, requireRootAndBuild, stats, table, f1, f2 } from './lib.mjs';

requireRootAndBuild();
if (!existsSync('/usr/bin/docker-registry')) {
  console.error('docker-registry is not installed (scripts/setup-host.sh)');
  process.exit(1);
}
const N = Number(process.env.BENCH_N ?? 3);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 500);
const BERTH = join(REPO, 'bin', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-images-'));
const stateRoot = `/run/berth-bi${process.pid}`;
const reg = await import(join(DIST, 'test', 'helpers', 'registry.js'));
const { FileContentStore } = await import(join(DIST, 'src', 'image', 'content-store.js'));
const { ImageStore } = await import(join(DIST, 'src', 'image', 'image-store.js'));
const { push } = await import(join(DIST, 'src', 'image', 'registry', 'push.js'));

/** An uncompressed tarball of host paths, owners 0 (what a base image layer looks like). */
function tarOf(paths) {
  const r = spawnSync('tar', ['-C', '/', '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-cf', '-', ...paths.map((p) => p.replace(/^\//, ''))], { maxBuffer: 2 ** 31 - 1 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`tar ${paths}: ${r.stderr}`);
  return r.stdout;
}
/** Unmounts whatever containers-storage left mounted under d (its graph root binds itself). */
function umountUnder(d) {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === d || m.startsWith(`${d}/`));
  for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}
/** CPU time (user + system) of this process's waited-for children, in ms (/proc/self/stat cutime + cstime). */
function childCpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // fields 16 and 17; USER_HZ is 100 on Linux
}
let lastCpuMs = 0;
const sizeMB = (desc) => desc.layers.reduce((s, l) => s + l.size, desc.config.size) / 1e6;

class SkipBig extends Error {} // BENCH_BIG_MB=0: the pull comparison only
const registry = await reg.startRegistry();
try {
  // ---- build and push the images ----
  const src = new FileContentStore(join(dir, 'src', 'content'));
  const srcImages = new ImageStore(join(dir, 'src', 'images'), src);
  const layersOf = (ps) => ps.filter((p) => existsSync(p));
  const pullImg = reg.buildImage(src, [reg.busyboxLayerTar(), ...[['/usr/sbin'], ['/usr/share/perl'], layersOf(['/usr/lib/python3.11', '/usr/lib/python3'])].map(tarOf)]);
  const pullRef = `${registry.host}/bench/multi:1`;
  await srcImages.set(pullRef, pullImg.manifest);
  await push(pullRef, { content: src, images: srcImages }, { anonymous: true });
  const pullMB = sizeMB(pullImg);

  // ---- 1. pull + unpack ----
  const PATH = [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(delimiter);
  const penv = { ...process.env, PATH, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  writeFileSync(penv.CONTAINERS_REGISTRIES_CONF, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
  const podmanOk = have('podman');
  const skopeoOk = have('skopeo');
  const run = (cmd, args, env = penv) => {
    const c0 = childCpuMs();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    const ms = msSince(t0);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: status ${r.status}: ${r.stderr}`);
    lastCpuMs = childCpuMs() - c0;
    return ms;
  };
  const fresh = (name) => {
    const d = join(dir, `${name}-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const wipe = (d, graph) => {
    if (graph) spawnSync('podman', ['--root', join(d, 'graph'), '--runroot', join(d, 'run'), '--storage-driver', 'overlay', 'system', 'reset', '-f'], { env: penv, stdio: 'ignore' });
    umountUnder(d);
    rmSync(d, { recursive: true, force: true });
  };
  const contenders = {
    berth: () => {
      const d = fresh('berth');
      const ms = run(BERTH, ['--root', d, '--state-root', stateRoot, 'pull', '-q', pullRef]);
      wipe(d);
      return ms;
    },
  };
  if (podmanOk) {
    contenders['podman pull'] = () => {
      const d = fresh('podman');
      const ms = run('podman', ['--root', join(d, 'graph'), '--runroot', join(d, 'run'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', 'pull', '-q', '--tls-verify=false', pullRef]);
      wipe(d, true);
      return ms;
    };
  }
  if (skopeoOk) {
    contenders['skopeo copy containers-storage:'] = () => {
      const d = fresh('skopeo-cs');
      const ms = run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${pullRef}`, `containers-storage:[overlay@${join(d, 'graph')}+${join(d, 'run')}]${pullRef}`]);
      wipe(d, true);
      return ms;
    };
    contenders['skopeo copy dir: (no unpack)'] = () => {
      const d = fresh('skopeo-dir');
      const ms = run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${pullRef}`, `dir:${join(d, 'out')}`]);
      wipe(d);
      return ms;
    };
  }
  const times = {};
  const cpu = {};
  for (const k of Object.keys(contenders)) [times[k], cpu[k]] = [[], []];
  contenders.berth(); // warm-up: the registry's page cache, node's compile cache
  for (let i = 0; i < N; i++) {
    for (const [k, fn] of Object.entries(contenders)) {
      times[k].push(fn()); // interleaved
      cpu[k].push(lastCpuMs);
    }
  }
  // wall time depends on the machine's load; CPU time (user + sys of the tool) much less so
  const rows = [['pull + unpack', 'wall ms', 'MB/s', 'berth speed-up', 'CPU ms', 'berth CPU ratio']];
  const bMs = stats(times.berth).median;
  const bCpu = stats(cpu.berth).median;
  for (const [k, xs] of Object.entries(times)) {
    const ms = stats(xs).median;
    const c = stats(cpu[k]).median;
    rows.push([k, f1(ms), f1(pullMB / (ms / 1000)), k === 'berth' ? '-' : f2(ms / bMs), f1(c), k === 'berth' ? '-' : f2(bCpu / c)]);
  }
  console.log(`images: pull of ${pullImg.layers.length} layers, ${f1(pullMB)} MB compressed, from docker-registry on 127.0.0.1; medians of ${N}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
  console.log('speed-up = peer wall / berth wall (> 1: berth faster); CPU ratio = berth CPU / peer CPU (< 1: berth cheaper)');
  console.log(table(rows));

  // ---- 2. rootfs creation, small vs big image ----
  if (BIG_MB <= 0) throw new SkipBig();
  const root = join(dir, 'engine');
  // the small image: busybox, pulled; the big one: /usr/bin (+ more) up to BIG_MB, built here
  run(BERTH, ['--root', root, '--state-root', stateRoot, 'pull', '-q', pullRef]);
  const bigPaths = [];
  let bigBytes = 0;
  for (const p of ['/usr/bin', '/usr/include', '/usr/share/locale', '/usr/share/doc', '/usr/lib/x86_64-linux-gnu']) {
    if (bigBytes >= BIG_MB * 1e6 || !existsSync(p)) continue;
    bigPaths.push(p);
    bigBytes += Number(spawnSync('du', ['-sb', p], { encoding: 'utf8' }).stdout.split('\t')[0]);
  }
  const bigTars = [reg.busyboxLayerTar(), ...bigPaths.map((p) => tarOf([p]))];
  const bigRef = `${registry.host}/bench/big:1`;
  const bigImg = reg.buildImage(src, bigTars);
  await srcImages.set(bigRef, bigImg.manifest);
  await push(bigRef, { content: src, images: srcImages }, { anonymous: true });
  const bigMB = bigTars.reduce((s, t) => s + t.length, 0) / 1e6;
  run(BERTH, ['--root', root, '--state-root', stateRoot, 'pull', '-q', bigRef]);

  const { prepareImageLayers } = await import(join(DIST, 'src', 'storage', 'layers.js'));
  const engImages = new (await import(join(DIST, 'src', 'engine', 'images.js'))).EngineImages(root, () => undefined);
  const snap = engImages.snapshotter;
  const chainsOf = async (ref) => {
    const rec = engImages.find(ref);
    return prepareImageLayers(snap, engImages.content, engImages.images.manifest(rec), engImages.images.config(rec));
  };
  const smallChain = await chainsOf(pullRef);
  const bigChain = await chainsOf(bigRef);
  const M = Math.max(10, N * 5);
  // small and big alternate, so that both see the same machine
  const timeCreate = async (chains) => {
    const xs = chains.map(() => []);
    for (let i = 0; i < M + 1; i++) {
      for (const [k, chain] of chains.entries()) {
        const id = `bench${process.pid}x${i}k${k}${Math.random().toString(16).slice(2, 10)}`;
        const t0 = process.hrtime.bigint();
        await snap.prepareContainer(id, chain, {});
        const ms = msSince(t0);
        if (i) xs[k].push(ms); // the first round warms the helper
        await snap.removeContainer(id);
      }
    }
    return xs.map((x) => stats(x).median);
  };
  const cliCreate = (ref) => {
    const xs = [];
    for (let i = 0; i < N + 1; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, 'create', '--pull', 'never', ref, 'true'], { encoding: 'utf8' });
      const ms = msSince(t0);
      if (r.status !== 0) throw new Error(`berth create ${ref}: ${r.stderr}`);
      spawnSync(BERTH, ['--root', root, '--state-root', stateRoot, 'rm', '-f', r.stdout.trim()], { stdio: 'ignore' });
      if (i) xs.push(ms);
    }
    return stats(xs).median;
  };
  const [sSnap, bSnap] = await timeCreate([smallChain, bigChain]);
  const sCli = cliCreate(pullRef);
  const bCli = cliCreate(bigRef);
  let pS, pB;
  if (podmanOk) {
    // podman create of the same two images (its own overlay storage), for scale
    const d = mkdtempSync('/run/bbi-'); // podman: runroot paths of at most 50 characters
    const pg = ['--root', join(d, 'graph'), '--runroot', join(d, 'run'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
    run('podman', [...pg, 'pull', '-q', '--tls-verify=false', pullRef]);
    run('podman', [...pg, 'pull', '-q', '--tls-verify=false', bigRef]);
    const pc = (ref) => {
      const xs = [];
      for (let i = 0; i < N + 1; i++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync('podman', [...pg, 'create', '--network=none', ref, 'true'], { encoding: 'utf8', env: penv });
        const ms = msSince(t0);
        if (r.status !== 0) throw new Error(`podman create: ${r.stderr}`);
        spawnSync('podman', [...pg, 'rm', '-f', r.stdout.trim()], { env: penv, stdio: 'ignore' });
        if (i) xs.push(ms);
      }
      return stats(xs).median;
    };
    pS = pc(pullRef);
    pB = pc(bigRef);
    wipe(d, true);
  }
  const r2 = [['rootfs creation (ms)', `small (${f1(pullMB)} MB gz)`, `big (${f1(bigMB)} MB)`, 'big/small']];
  r2.push(['overlay snapshot, library (warm)', f2(sSnap), f2(bSnap), f2(bSnap / sSnap)]);
  r2.push(['berth create (CLI, whole)', f1(sCli), f1(bCli), f2(bCli / sCli)]);
  if (pS !== undefined) r2.push(['podman create (CLI, whole)', f1(pS), f1(pB), f2(pB / pS)]);
  console.log(`rootfs creation: ${snap.kind} snapshotter; medians of ${M} (library) / ${N} (CLI)`);
  console.log(table(r2));
} catch (e) {
  if (!(e instanceof SkipBig)) throw e;
} finally {
  await registry.stop();
  umountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
}
