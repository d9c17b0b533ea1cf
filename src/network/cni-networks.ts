// Networks with driver "cni": their definitions (name, labels, the conflist itself, copied at
// create so a later edit of the file cannot change what DEL runs) and which containers are
// attached (the CNI result cache, cni.ts). Kept apart from the bridge networks' files: they
// have no bridge, subnet or nft elements of berth's; the plugins own all of that.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CniRunner, loadConfList, type CniConfList } from './cni.js';
import { readJson, rmQuiet, writeJsonAtomic } from './fsutil.js';
import { conflict } from './errors.js';

export interface CniNetworkDef {
  id: string;
  name: string;
  driver: 'cni';
  conflist: CniConfList;
  labels: Record<string, string>;
  options: Record<string, string>;
  created: string;
}

export class CniNetworks {
  readonly runner: CniRunner;
  constructor(private readonly dir: string, cacheDir: string, cniPath?: string[]) {
    mkdirSync(dir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    this.runner = new CniRunner(cacheDir, cniPath);
  }

  all(): CniNetworkDef[] {
    let files: string[] = [];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    return files.map((f) => readJson<CniNetworkDef>(join(this.dir, f))).filter((x): x is CniNetworkDef => !!x)
      .sort((a, b) => a.created.localeCompare(b.created));
  }

  find(ref: string): CniNetworkDef | undefined {
    const all = this.all();
    return all.find((n) => n.name === ref) ?? all.find((n) => n.id === ref) ?? (ref.length >= 3 ? all.filter((n) => n.id.startsWith(ref)).at(0) : undefined);
  }

  /** Validates the conflist (and that its plugins exist) and stores the definition. Caller holds the networks lock. */
  create(o: { name: string; conflist: string | object; labels?: Record<string, string>; options?: Record<string, string> }): CniNetworkDef {
    const conflist = loadConfList(o.conflist);
    const same = this.all().find((n) => n.conflist.name === conflist.name);
    if (same) throw conflict(`CNI network ${same.name} already uses the conflist name "${conflist.name}" (plugins keep state by it); give the conflist another "name"`);
    for (const p of conflist.plugins) this.runner.pluginPath(p.type);
    const def: CniNetworkDef = {
      id: randomBytes(32).toString('hex'), name: o.name, driver: 'cni', conflist, labels: { ...(o.labels ?? {}) }, options: { ...(o.options ?? {}) },
      created: new Date().toISOString(),
    };
    writeJsonAtomic(join(this.dir, `${def.id}.json`), def, { fsync: true });
    return def;
  }

  remove(def: CniNetworkDef): void {
    rmQuiet(join(this.dir, `${def.id}.json`));
  }

  /** Containers with a cached result on this network: [containerId, ifname, ip][]. */
  users(def: CniNetworkDef): { container: string; ifname: string; ip: string }[] {
    return this.runner.entries(def.conflist.name).map((e) => ({ container: e.containerId, ifname: e.ifName, ip: e.result.ips?.[0]?.address.split('/')[0] ?? '' }));
  }
}

/**
 * After a crash: DEL every cached CNI attachment whose container is not in `keep` (berth died
 * between a plugin's ADD and its own endpoint record, or the record is gone). Returns their ids.
 */
export async function reconcileCni(nets: CniNetworks, keep: ReadonlySet<string>): Promise<string[]> {
  const gone: string[] = [];
  for (const def of nets.all()) {
    for (const e of nets.runner.entries(def.conflist.name)) {
      if (keep.has(e.containerId)) continue;
      await nets.runner.del(def.conflist, { containerId: e.containerId, netns: existsSync(e.netns) ? e.netns : '', ifname: e.ifName }).catch(() => {});
      gone.push(e.containerId);
    }
  }
  return gone;
}
