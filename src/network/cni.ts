// CNI delegation (https://github.com/containernetworking/cni/blob/main/SPEC.md): a network
// described by a conflist is attached by executing its plugins (Debian's
// containernetworking-plugins, in /usr/lib/cni) -- what the Kubernetes CRI will use.
//
//   ADD    plugins in order; each gets the previous plugin's result as prevResult; the last
//          result is the attachment's, cached (atomically) for DEL and CHECK. A failure part way
//          runs DEL for the plugins already added (in reverse), as the spec asks of runtimes.
//   DEL    plugins in reverse with the cached result as prevResult; a missing cache is fine (the
//          plugins must tolerate DEL of what is not there), so DEL is idempotent.
//   CHECK  plugins in order with the cached result.
// A plugin gets CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH in its
// environment and the network configuration (name, cniVersion, the plugin's own keys,
// runtimeConfig, prevResult) on stdin; it answers JSON on stdout, an error object on failure.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalid, NetworkError, notFound, system } from './errors.js';
import { readJson, rmQuiet, writeJsonAtomic } from './fsutil.js';

export const DEFAULT_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];

export interface CniPluginConf {
  type: string;
  [k: string]: unknown;
}

export interface CniConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: CniIp[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

export interface CniRuntime {
  containerId: string;
  /** The netns path (CNI_NETNS). */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs ("K8S_POD_NAME" ...). */
  args?: Record<string, string>;
  /** runtimeConfig for plugins that declare the capability (portMappings, bandwidth, ...). */
  capabilityArgs?: Record<string, unknown>;
}

export class CniError extends NetworkError {
  constructor(readonly plugin: string, readonly command: string, readonly cniCode: number | undefined, msg: string) {
    super('system', `CNI plugin ${plugin} ${command} failed${cniCode !== undefined ? ` (code ${cniCode})` : ''}: ${msg}`);
  }
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const TYPE_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * A conflist from a file path, a JSON text or an object; a single plugin's .conf (with "type"
 * at the top) becomes a one-plugin list. Errors name the field and the fix.
 */
export function loadConfList(src: string | object): CniConfList {
  let raw: unknown = src;
  let from = 'conflist';
  if (typeof src === 'string') {
    const text = src.trim();
    if (!/^[{[]/.test(text)) {
      from = src;
      if (!existsSync(src)) throw invalid(`CNI conflist ${src} does not exist; pass a file path or the JSON itself`);
      raw = readFileSync(src, 'utf8');
    } else raw = text;
    try {
      raw = JSON.parse(raw as string);
    } catch (e) {
      throw invalid(`CNI conflist ${from} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`CNI conflist ${from} must be a JSON object`);
  const o = raw as Record<string, unknown>;
  if (typeof o.type === 'string' && !Array.isArray(o.plugins)) {
    const { cniVersion, name, ...plugin } = o;
    return loadConfList({ cniVersion, name, plugins: [plugin] });
  }
  if (typeof o.cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(o.cniVersion)) throw invalid(`CNI conflist ${from}: "cniVersion" must be a version like "1.0.0"`);
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) throw invalid(`CNI conflist ${from}: "name" must be a network name of [a-zA-Z0-9_.-]`);
  if (!Array.isArray(o.plugins) || o.plugins.length === 0) throw invalid(`CNI conflist ${from}: "plugins" must be a non-empty list`);
  o.plugins.forEach((p: unknown, i: number) => {
    if (!p || typeof p !== 'object' || typeof (p as CniPluginConf).type !== 'string' || !TYPE_RE.test((p as CniPluginConf).type)) {
      throw invalid(`CNI conflist ${from}: plugins[${i}].type must name a plugin binary (like "bridge")`);
    }
  });
  return { cniVersion: o.cniVersion, name: o.name, ...(o.disableCheck === true ? { disableCheck: true } : {}), plugins: o.plugins as CniPluginConf[] };
}

/** The plugin binary in CNI_PATH, or a clear error. */
export function findPlugin(type: string, path: string[]): string {
  for (const d of path) {
    const p = join(d, type);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  throw notFound(`CNI plugin "${type}" not found in ${path.join(':')} (apt-get install containernetworking-plugins)`);
}

/** The configuration a plugin reads on stdin. */
export function pluginConfig(list: CniConfList, plugin: CniPluginConf, prevResult: CniResult | undefined, capabilityArgs: Record<string, unknown> = {}): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  // runtimeConfig carries only the capabilities the plugin declares (spec: "capabilities")
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const rc = Object.fromEntries(Object.entries(capabilityArgs).filter(([k]) => caps[k]));
  delete conf.capabilities;
  if (Object.keys(rc).length) conf.runtimeConfig = rc;
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

export function cniEnv(command: 'ADD' | 'DEL' | 'CHECK', rt: CniRuntime, path: string[]): Record<string, string> {
  const args = Object.entries(rt.args ?? {}).map(([k, v]) => `${k}=${v}`).join(';');
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command, CNI_CONTAINERID: rt.containerId, CNI_NETNS: rt.netns, CNI_IFNAME: rt.ifname, CNI_ARGS: args, CNI_PATH: path.join(':'),
  };
}

const PLUGIN_TIMEOUT_MS = 60_000;

/** Executes one plugin; its result (ADD) or undefined (DEL, CHECK). */
export function execPlugin(bin: string, command: 'ADD' | 'DEL' | 'CHECK', env: Record<string, string>, conf: object): Promise<CniResult | undefined> {
  const type = bin.split('/').pop()!;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: PLUGIN_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => reject(system(`cannot run CNI plugin ${bin}: ${e.message}`)));
    child.on('close', (code, signal) => {
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = out.trim() ? (JSON.parse(out) as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined;
      }
      if (code !== 0) {
        const msg = parsed && typeof parsed.msg === 'string' ? `${parsed.msg}${parsed.details ? `: ${String(parsed.details)}` : ''}` : (err || out).trim() || `exit ${code ?? signal}`;
        return reject(new CniError(type, command, typeof parsed?.code === 'number' ? parsed.code : undefined, msg));
      }
      if (command !== 'ADD') return resolve(undefined);
      if (!parsed) return reject(new CniError(type, command, undefined, `no JSON result on stdout: ${out.slice(0, 200)}`));
      resolve(parsed as unknown as CniResult);
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

export interface CniCacheEntry {
  kind: 'berth-cni-cache-v1';
  containerId: string;
  ifName: string;
  netns: string;
  networkName: string;
  config: CniConfList;
  result: CniResult;
}

/** Runs conflists' plugins and keeps their results (one JSON file per attachment). */
export class CniRunner {
  readonly path: string[];
  constructor(readonly cacheDir: string, path: string[] = DEFAULT_CNI_PATH) {
    this.path = path;
  }

  cacheFile(network: string, containerId: string, ifname: string): string {
    return join(this.cacheDir, `${network}-${containerId}-${ifname}.json`);
  }

  pluginPath(type: string): string {
    return findPlugin(type, this.path);
  }

  /** Every cached attachment of a CNI network (by its conflist name). */
  entries(network: string): CniCacheEntry[] {
    let files: string[] = [];
    try {
      files = readdirSync(this.cacheDir).filter((f) => f.startsWith(`${network}-`) && f.endsWith('.json'));
    } catch {
      return [];
    }
    return files.map((f) => readJson<CniCacheEntry>(join(this.cacheDir, f))).filter((e): e is CniCacheEntry => !!e && e.networkName === network);
  }

  cached(network: string, containerId: string, ifname: string): CniCacheEntry | undefined {
    return readJson<CniCacheEntry>(this.cacheFile(network, containerId, ifname));
  }

  async add(list: CniConfList, rt: CniRuntime): Promise<CniResult> {
    const bins = list.plugins.map((p) => findPlugin(p.type, this.path));
    let prev: CniResult | undefined;
    const done: number[] = [];
    try {
      for (const [i, p] of list.plugins.entries()) {
        prev = await execPlugin(bins[i]!, 'ADD', cniEnv('ADD', rt, this.path), pluginConfig(list, p, prev, rt.capabilityArgs));
        done.push(i);
      }
    } catch (e) {
      // undo what was added (plugins tolerate DEL of the rest), then report the first failure
      for (const i of done.reverse()) {
        await execPlugin(bins[i]!, 'DEL', cniEnv('DEL', rt, this.path), pluginConfig(list, list.plugins[i]!, prev, rt.capabilityArgs)).catch(() => {});
      }
      throw e;
    }
    const result = prev!;
    const entry: CniCacheEntry = { kind: 'berth-cni-cache-v1', containerId: rt.containerId, ifName: rt.ifname, netns: rt.netns, networkName: list.name, config: list, result };
    try {
      writeJsonAtomic(this.cacheFile(list.name, rt.containerId, rt.ifname), entry, { fsync: true });
    } catch (e) {
      await this.del(list, rt).catch(() => {});
      throw e;
    }
    return result;
  }

  /** DEL in reverse order; every plugin runs even when one fails (the first error is thrown). */
  async del(list: CniConfList, rt: CniRuntime): Promise<void> {
    const cache = this.cached(list.name, rt.containerId, rt.ifname);
    const errs: Error[] = [];
    for (const p of [...list.plugins].reverse()) {
      try {
        await execPlugin(findPlugin(p.type, this.path), 'DEL', cniEnv('DEL', rt, this.path), pluginConfig(list, p, cache?.result, rt.capabilityArgs));
      } catch (e) {
        errs.push(e as Error);
      }
    }
    if (errs.length) throw errs[0];
    rmQuiet(this.cacheFile(list.name, rt.containerId, rt.ifname));
  }

  /** CHECK in order with the cached result; throws what a plugin reports. */
  async check(list: CniConfList, rt: CniRuntime): Promise<void> {
    if (list.disableCheck) return;
    const cache = this.cached(list.name, rt.containerId, rt.ifname);
    if (!cache) throw notFound(`no cached CNI result for ${rt.containerId.slice(0, 12)} on ${list.name}/${rt.ifname}: it was never added`);
    for (const p of list.plugins) {
      await execPlugin(findPlugin(p.type, this.path), 'CHECK', cniEnv('CHECK', rt, this.path), pluginConfig(list, p, cache.result, rt.capabilityArgs));
    }
  }
}

/** The attachment's first address on `ifname` (or any): "10.1.0.5/24" -> ip and prefix. */
export function primaryIp(r: CniResult, ifname: string): { ip: string; prefixLen: number; gateway: string } | undefined {
  const idx = r.interfaces?.findIndex((i) => i.name === ifname && i.sandbox) ?? -1;
  const ip = r.ips?.find((x) => x.address.includes('.') && (idx < 0 || x.interface === undefined || x.interface === idx)) ?? r.ips?.[0];
  if (!ip) return undefined;
  const [addr, len] = ip.address.split('/');
  return { ip: addr!, prefixLen: Number(len), gateway: ip.gateway ?? '' };
}
