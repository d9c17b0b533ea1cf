// After a boot, or after /run was wiped under berth (kill -9 of everything, then rm -rf /run):
// the host-wide network state in /run (IPAM, endpoint records, owner files) is gone, but what the
// kernel holds may not be -- veth pairs of netns still bind-mounted, nft port elements of dead
// containers, bridges -- and a new container could be handed an address a stale veth still
// answers for. So the first network operation of the first berth process of a boot (or after a
// wipe) runs NetworkManager.reconcile once, host-wide, under a lock. Every later process pays
// one small file read: <runDir>/boot-id holds the boot id of the last reconcile
// (/proc/sys/kernel/random/boot_id changes at every boot; a wiped /run loses the file).
//
// Host-wide means every --root's containers, so "alive" is judged from the host, not a store:
// a container whose netns has a process in it, or that has an owner file (the engine writes it
// before attaching and removes it after detaching, and /run wiped takes it), or that a live
// berth process is starting (its .starting marker). Liveness is asked when reconcile meets a
// container, not once up front, so a start racing the reconcile keeps its network.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeFileAtomic } from '../network/fsutil.js';
import { withLock } from '../network/lock.js';
import type { NetworkManager } from '../network/manager.js';
import { processStartTime } from '../runtime/state.js';

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The network namespaces (nsfs inode numbers) some process on the host is in. */
export function netnsInUse(): Set<number> {
  const out = new Set<number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* exited, or a kernel thread */
    }
  }
  return out;
}

/** A set whose membership is decided when asked (reconcile asks per container it meets). */
class LiveSet extends Set<string> {
  constructor(private readonly alive: (id: string) => boolean) {
    super();
  }
  override has(id: string): boolean {
    return this.alive(id);
  }
}

export interface BootReconcile {
  /** Where the engine's persistent netns are bind-mounted, with their .owner and .starting files. */
  netnsDir: string;
  /** Unmounts and removes a dead container's netns file. */
  removeNetns: (path: string) => Promise<void>;
  warn: (m: string) => void;
}

/**
 * Reconciles the host's network state once per boot (see the top of the file). Returns the ids
 * of the containers whose networks it released, or undefined when this boot was done already.
 */
export async function reconcileAfterBoot(nm: NetworkManager, o: BootReconcile): Promise<string[] | undefined> {
  const marker = join(nm.runDir, 'boot-id');
  const boot = read(BOOT_ID) ?? '';
  if (read(marker) === boot) return undefined;
  return withLock(join(nm.runDir, 'boot-id.lock'), async () => {
    if (read(marker) === boot) return undefined; // another process did it while this one waited
    let inUse: Set<number> | undefined;
    const nsInUse = (path: string): boolean => {
      try {
        return (inUse ??= netnsInUse()).has(statSync(path).ino);
      } catch {
        return false;
      }
    };
    const starting = (id: string): boolean => {
      const [pid, start] = (read(join(o.netnsDir, `${id}.starting`)) ?? '').split(' ');
      return Number(pid) > 0 && processStartTime(Number(pid)) === start;
    };
    const endpointNetns = (id: string) => readJson<{ netns?: string }>(join(nm.runDir, 'endpoints', `${id}.json`))?.netns;
    const alive = (id: string): boolean => {
      if (read(join(o.netnsDir, `${id}.owner`)) !== undefined || starting(id)) return true;
      const ns = endpointNetns(id) ?? join(o.netnsDir, id);
      return nsInUse(ns) || (ns !== join(o.netnsDir, id) && nsInUse(join(o.netnsDir, id)));
    };
    // first the engine's netns files of dead containers (a bind mount survives rm -rf of /run):
    // the kernel deletes the veth pairs inside with them
    const removed: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(o.netnsDir);
    } catch {
      /* none */
    }
    for (const f of names) {
      if (!/^[0-9a-f]{64}$/.test(f) || alive(f)) continue;
      await o.removeNetns(join(o.netnsDir, f)).catch((e: Error) => o.warn(`removing the network namespace ${f.slice(0, 12)}: ${e.message}`));
      removed.push(f);
    }
    // then addresses, endpoint records, port elements, bridges and their rules
    try {
      for (const id of (await nm.reconcile(new LiveSet(alive), { links: false })).containers) if (!removed.includes(id)) removed.push(id);
    } catch (e) {
      // once per boot even so: a host where this cannot work (no nft?) must not pay it at every
      // command; the engine's own release still runs for each container that stops
      o.warn(`reconciling the host's network state after a boot: ${(e as Error).message}`);
    }
    writeFileAtomic(marker, `${boot}\n`);
    return removed;
  });
}
