// `events --filter`, as docker's daemon reads it (daemon/events/filter.go): the keys it knows
// (others refused: "invalid filter 'KEY'"), values of one key or'ed, keys and'ed; container,
// volume, network by a prefix of the actor's id or name, image by name (with or without its
// tag) or id, labels (all of them) by key or key=value.
import { invalid } from '../../engine/errors.js';

const KEYS = new Set(['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume']);

export interface EventLike {
  type: string;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
}

/** "repo:tag" -> "repo" (a registry port is not a tag). */
const stripTag = (s: string) => s.replace(/:[^:/]+$/, '');
/** docker's FuzzyMatch: a value equal to the source or a prefix of it. */
const fuzzy = (vs: string[], ...sources: (string | undefined)[]) => vs.some((v) => sources.some((s) => s !== undefined && s !== '' && s.startsWith(v)));

export function eventsFilter(f: Record<string, string[]>): (e: EventLike) => boolean {
  for (const k of Object.keys(f)) if (!KEYS.has(k)) throw invalid(`invalid filter '${k}'`);
  const has = (k: string) => (f[k]?.length ?? 0) > 0;
  return (e) => {
    if (has('type') && !f.type!.includes(e.type)) return false;
    // docker's action may carry a detail ("exec_start: sh"): the filter names the verb
    if (has('event') && !f.event!.some((x) => e.action === x || e.action.startsWith(`${x}:`))) return false;
    if (has('scope') && !f.scope!.includes('local')) return false;
    for (const k of ['container', 'volume', 'network'] as const) if (has(k) && !fuzzy(f[k]!, e.actorId, e.attributes.name)) return false;
    if (has('image')) {
      const name = e.attributes[e.type === 'image' ? 'name' : 'image'] ?? '';
      if (!f.image!.some((x) => [e.actorId, name, stripTag(e.actorId), stripTag(name)].includes(x))) return false;
    }
    // every label filter must hold (docker's MatchKVList)
    for (const l of f.label ?? []) {
      const i = l.indexOf('=');
      if (i < 0 ? !(l in e.attributes) : e.attributes[l.slice(0, i)] !== l.slice(i + 1)) return false;
    }
    for (const k of ['config', 'daemon', 'node', 'plugin', 'secret', 'service']) if (has(k) && e.type !== k) return false;
    return true;
  };
}
