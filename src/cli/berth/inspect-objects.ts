// `berth inspect NAME`: docker's generic inspect looks a name up as a container, then an image,
// a network, a volume (the first that has it); `--type` names one kind, and an unknown type is
// refused before any lookup ("\"bogus\" is not a valid value for --type", exit 1).
import type { Engine } from '../../engine/engine.js';
import { EngineError, isEngineError, notFound } from '../../engine/errors.js';
import { healthOf } from '../../engine/health.js';
import { inspectContainer, inspectVolume } from '../../engine/inspect.js';
import type { ContainerRecord } from '../../engine/types.js';
import { ImageError } from '../../image/errors.js';

// docker's types; berth has no swarm, so node/service/task/secret/config/plugin never match
const TYPES = ['container', 'image', 'network', 'volume', 'config', 'node', 'plugin', 'secret', 'service', 'task'];

export function checkInspectType(type: string | undefined): void {
  if (type !== undefined && type !== '' && !TYPES.includes(type)) throw new EngineError('invalid', `"${type}" is not a valid value for --type`);
}

/** undefined when the lookup says "not found"; other errors go up. */
function orUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (isEngineError(e, 'notfound') || (e instanceof ImageError && e.code === 'not_found')) return undefined;
    throw e;
  }
}

/** The object `ref` names, as its own inspect verb prints it; `container` is set when it is one. */
export function inspectAny(engine: Engine, ref: string, type: string | undefined): { obj: unknown; container?: ContainerRecord } {
  const want = (t: string) => !type || type === t;
  if (want('container')) {
    const c = orUndefined(() => engine.get(ref));
    if (c) return { obj: inspectContainer(c, engine.paths, engine.store.containerVolumes(c.id), healthOf(engine.store, c)), container: c };
  }
  if (want('image')) {
    const img = orUndefined(() => engine.images.images.inspect(ref));
    if (img) return { obj: img };
  }
  if (want('network')) {
    const n = orUndefined(() => engine.networks.inspect(ref));
    if (n) return { obj: n };
  }
  if (want('volume') && engine.store.volume(ref)) return { obj: inspectVolume(engine.volume(ref)) };
  throw notFound(`No such object: ${ref}`);
}
