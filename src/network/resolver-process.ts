// Lifecycle of a network's resolver process (dns-server.ts): started detached by the first
// attach, found again through its pid file (pid + start time, so a reused pid is not mistaken
// for it), stopped with the network (or it exits by itself when idle). Callers hold the
// network's lock.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { system } from './errors.js';
import { rmQuiet, writeFileAtomic } from './fsutil.js';
import { ownerAlive } from './lock.js';

/** dist/src/network/dns-server.js (also from a bundle two levels below dist/). */
export const SERVER_SCRIPT = fileURLToPath(new URL('../../src/network/dns-server.js', import.meta.url));

export interface ResolverSpec {
  dir: string;
  networkId: string;
  ipamFile: string;
  address: string;
  port: number;
  resolvConf: string;
  forward: boolean;
  /** The network's lock (held by the caller; the resolver takes it before an idle exit). */
  lockFile: string;
  /** Exit after this long without endpoints. */
  idleMs: number;
}

const pidFile = (s: Pick<ResolverSpec, 'dir' | 'networkId'>) => join(s.dir, `${s.networkId}.pid`);

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The running resolver's pid, or undefined. */
export function resolverPid(s: Pick<ResolverSpec, 'dir' | 'networkId'>): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile(s), 'utf8');
  } catch {
    return undefined;
  }
  return ownerAlive(text) ? Number(text.split(' ')[0]) : undefined;
}

/** Starts the resolver unless it runs; resolves once it is bound and answering. */
export async function ensureResolver(s: ResolverSpec, timeoutMs = 10_000): Promise<number> {
  const running = resolverPid(s);
  if (running) return running;
  const log = openSync(join(s.dir, `${s.networkId}.log`), 'a');
  const args = [s.ipamFile, s.address, String(s.port), s.resolvConf, s.forward ? 'forward' : 'noforward', s.lockFile, pidFile(s), String(s.idleMs)];
  const child = spawn(process.execPath, [SERVER_SCRIPT, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(system(`the DNS resolver for network ${s.networkId.slice(0, 12)} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(system(`cannot start the DNS resolver: ${e.message}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        if (out.startsWith('READY')) resolve(child.pid!);
        else {
          child.kill('SIGKILL');
          reject(system(`the DNS resolver for network ${s.networkId.slice(0, 12)} on ${s.address}:${s.port} failed: ${out.replace(/^ERR /, '').trim()}`));
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(system(`the DNS resolver exited with ${code} before it was ready${out ? `: ${out.trim()}` : ''}`));
    });
  });
  child.stdout!.destroy();
  child.removeAllListeners('exit');
  child.unref();
  writeFileAtomic(pidFile(s), `${pid} ${startTime(pid) ?? '0'}\n`);
  return pid;
}

/** Stops the resolver if it runs (SIGTERM) and forgets it. */
export function stopResolver(s: Pick<ResolverSpec, 'dir' | 'networkId'>): void {
  const pid = resolverPid(s);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  rmQuiet(pidFile(s));
}
