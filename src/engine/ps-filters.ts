// `ps --filter`, as docker's daemon reads it (daemon/list.go): the keys it knows (any other is
// refused: "invalid filter 'KEY'"), values checked where docker checks them (status, health,
// exited), and before/since relative to another container (exclusive: that container is not
// listed), ancestor (image name or id), volume (name, bind source or destination), network
// (name or id), publish/expose (container port[/proto], ranges).
import { invalid } from './errors.js';
import type { ContainerRecord } from './types.js';

const KEYS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
const STATES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);
const HEALTH = new Set(['starting', 'healthy', 'unhealthy', 'none']);

export interface PsFilterDeps {
  /** A container by name, id or id prefix (throws "No such container"). */
  resolve(ref: string): ContainerRecord;
  /** The id of the image a reference names here, or undefined. */
  imageId(ref: string): string | undefined;
  /** The image id a container was made from. */
  imageOf(c: ContainerRecord): string | undefined;
  /** A reference as the engine records it (c.image): "busybox" -> "busybox:latest". */
  imageName(ref: string): string;
  volumes(c: ContainerRecord): { volume: string; destination: string }[];
  /** The names and ids of the networks the container is on. */
  networks(c: ContainerRecord): { name: string; id: string }[];
  health(c: ContainerRecord): string;
}

const bad = (k: string, v?: string) => invalid(`invalid filter '${k}${v === undefined ? '' : `=${v}`}'`);

/** Checks the filters; throws docker's error for an unknown key or a bad value. */
export function checkPsFilters(f: Record<string, string[]>): void {
  for (const [k, vs] of Object.entries(f)) {
    if (!KEYS.has(k)) throw bad(k);
    for (const v of vs) {
      if (k === 'status' && !STATES.has(v)) throw bad(k, v);
      if (k === 'health' && !HEALTH.has(v)) throw bad(k, v);
      if (k === 'exited' && !/^-?\d+$/.test(v)) throw bad(k, v);
      if (k === 'is-task' && v !== 'true' && v !== 'false') throw bad(k, v);
      if ((k === 'publish' || k === 'expose') && !/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(v)) throw bad(k, v);
      if (k === 'name' || k === 'id') regex(k, v);
    }
  }
}

function regex(k: string, v: string): RegExp {
  try {
    return new RegExp(v);
  } catch {
    throw bad(k, v);
  }
}

/** "80" -> ["80/tcp"], "8000-8002/udp" -> three keys: docker's port keys. */
function portKeys(v: string): string[] {
  const [range, proto = 'tcp'] = v.split('/');
  const [a, b = a] = range!.split('-').map(Number);
  const out: string[] = [];
  for (let p = a!; p <= b! && out.length < 65536; p++) out.push(`${p}/${proto}`);
  return out;
}

/**
 * A predicate for the containers of `recs` (newest first, as the store lists them) that pass
 * the filters other than "all"; checks the filters first (checkPsFilters).
 */
export function psFilter(f: Record<string, string[]>, recs: ContainerRecord[], deps: PsFilterDeps): (c: ContainerRecord) => boolean {
  checkPsFilters(f);
  const order = new Map(recs.map((c, i) => [c.id, i]));
  // before/since: by position in the newest-first list; several values: the tightest wins, as docker keeps the last
  const pos = (ref: string) => order.get(deps.resolve(ref).id) ?? -1;
  const before = f.before?.length ? Math.max(...f.before.map(pos)) : undefined;
  const since = f.since?.length ? Math.min(...f.since.map(pos)) : undefined;
  const names = f.name?.map((v) => regex('name', v));
  const ids = f.id?.map((v) => regex('id', v));
  const ancestors = f.ancestor?.map((a) => ({ id: deps.imageId(a), name: deps.imageName(a), raw: a }));
  const publish = f.publish?.flatMap(portKeys);
  const expose = f.expose?.flatMap(portKeys);
  return (c) => {
    const i = order.get(c.id) ?? -1;
    if (before !== undefined && !(i > before)) return false;
    if (since !== undefined && !(i < since)) return false;
    if (ids && !ids.some((r) => r.test(c.id))) return false;
    // docker matches against "/name": "^/web$" and "web" both work
    if (names && !names.some((r) => r.test(`/${c.name}`) || r.test(c.name))) return false;
    if (f.status?.length && !f.status.includes(c.state)) return false;
    if (f.exited?.length && !(c.state === 'exited' && f.exited.some((x) => Number(x) === c.exitCode))) return false;
    if (f.health?.length && !f.health.includes(deps.health(c))) return false;
    if (f['is-task']?.includes('true')) return false; // no swarm tasks here
    for (const l of f.label ?? []) {
      const eq = l.indexOf('=');
      const k = eq < 0 ? l : l.slice(0, eq);
      if (!(k in c.config.Labels)) return false;
      if (eq >= 0 && c.config.Labels[k] !== l.slice(eq + 1)) return false;
    }
    if (ancestors) {
      const img = deps.imageOf(c);
      if (!ancestors.some((a) => (a.id !== undefined && a.id === img) || a.name === c.image || a.raw === c.image)) return false;
    }
    if (f.volume?.length) {
      const vols = deps.volumes(c);
      const hit = (v: string) => vols.some((m) => m.volume === v || m.destination === v) || c.hostConfig.Mounts.some((m) => m.Target === v || (m.Type !== 'tmpfs' && m.Source === v));
      if (!f.volume.some(hit)) return false;
    }
    if (f.network?.length) {
      const nets = deps.networks(c);
      if (!f.network.some((n) => nets.some((x) => x.name === n || (x.id !== '' && x.id === n)))) return false;
    }
    if (publish && !publish.some((p) => p in (c.hostConfig.PortBindings ?? {}))) return false;
    if (expose && !expose.some((p) => p in (c.config.ExposedPorts ?? {}) || p in (c.hostConfig.PortBindings ?? {}))) return false;
    return true;
  };
}
