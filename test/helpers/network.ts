// Helpers shared by the network integration tests: free subnets and ports, netnses the test
// owns, plain HTTP GETs, the host's own address, an "outside" netns with an httpd, and
// detached berth-oci containers.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BERTH_OCI, type Bundle } from './bundle.js';
import { formatCidr, overlaps, type Cidr } from '../../src/network/cidr.js';
import { hostRoutes } from '../../src/network/host.js';

/**
 * A picker of /24s (or smaller) in 10.FROM-(FROM+COUNT-1).x.0 that no host route or earlier pick
 * of the same picker overlaps (subnets already in use show up as host routes). Test files that
 * may run at the same time should pass different ranges where they can.
 */
export function subnetPicker(from: number, count: number): (prefix?: number) => string {
  const picked: Cidr[] = [];
  return (prefix = 24) => {
    const taken = [...hostRoutes().map((r) => r.dest), ...picked];
    for (let i = 0; i < 4000; i++) {
      const c = { base: (((10 << 24) | ((from + Math.floor(Math.random() * count)) << 16) | (Math.floor(Math.random() * 256) << 8)) >>> 0), prefix };
      if (!taken.some((t) => overlaps(t, c))) {
        picked.push(c);
        return formatCidr(c);
      }
    }
    throw new Error('no free subnet for the test');
  };
}

/** A host port nobody listens on (bound on `host` and released at once). */
export function freePort(host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Adds netns `name`, records it in `owned` (for the test's cleanup) and returns its path. */
export function addNetns(name: string, owned: string[]): string {
  execFileSync('ip', ['netns', 'add', name]);
  owned.push(name);
  return `/var/run/netns/${name}`;
}

/** GET / from host:port; the body. */
export function httpGet(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The host's own global v4 address (not a link of berth's or of a test: those start with "b"). */
export function hostIp(): string {
  const ip = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' })
    .split('\n').map((l) => /^\d+: (\S+)\s+inet (\S+)\//.exec(l)).find((x) => x && !x[1]!.startsWith('b'))?.[2];
  assert.ok(ip, 'the host has a global address');
  return ip;
}

/**
 * "The outside": netns `ns` behind veth `link` (its end is eth0 there), `hostAddr` on the host's
 * end and `outAddr` inside, both /`prefix` (v6 addresses without DAD), and a busybox httpd on
 * `outAddr`:8080 serving `body` from `www` (a directory to make). No route back to anything
 * else. The caller removes `link` and `ns` (and kills the returned httpd) when done.
 */
export function makeOutside(o: { ns: string; link: string; hostAddr: string; outAddr: string; prefix: number; www: string; body: string }): ChildProcess {
  const nodad = o.hostAddr.includes(':') ? ['nodad'] : [];
  execFileSync('ip', ['netns', 'add', o.ns]);
  execFileSync('ip', ['link', 'add', o.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', o.ns]);
  execFileSync('ip', ['addr', 'add', `${o.hostAddr}/${o.prefix}`, 'dev', o.link, ...nodad]);
  execFileSync('ip', ['link', 'set', o.link, 'up']);
  execFileSync('ip', ['-n', o.ns, 'addr', 'add', `${o.outAddr}/${o.prefix}`, 'dev', 'eth0', ...nodad]);
  execFileSync('ip', ['-n', o.ns, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', o.ns, 'link', 'set', 'lo', 'up']);
  mkdirSync(o.www);
  writeFileSync(join(o.www, 'index.html'), o.body);
  const listen = o.outAddr.includes(':') ? `[${o.outAddr}]:8080` : `${o.outAddr}:8080`;
  return spawn('ip', ['netns', 'exec', o.ns, 'busybox', 'httpd', '-f', '-p', listen, '-h', o.www], { stdio: 'ignore' });
}

/** Writes `b` and starts it detached (berth-oci run -d); fails the test with its output if it does not start. */
export function runDetached(b: Bundle): void {
  b.write();
  const out = join(b.dir, 'run.out');
  const fd = openSync(out, 'w');
  const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'run', '-d', '--bundle', b.dir, b.id], { stdio: ['ignore', fd, fd], timeout: 30000 });
  closeSync(fd);
  assert.equal(r.status, 0, readFileSync(out, 'utf8'));
}
