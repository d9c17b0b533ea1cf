// Container sizes as docker reports them: `ps -s` (or a --format naming .Size) shows SIZE,
// "RW (virtual RW+IMAGE)"; `inspect -s` adds SizeRw and SizeRootFs (bytes). RW is the
// container's writable layer, the virtual size that plus the image it was made from.
import type { Engine } from '../../engine/engine.js';
import { ANN_IMAGE_ID } from '../../engine/images.js';
import type { ContainerRecord } from '../../engine/types.js';
import { humanSize } from './format.js';

/** docker's CLI asks the daemon for sizes when -s is given or the format names .Size. */
export function wantsSize(size: boolean, format: string | undefined): boolean {
  return size || /\.Size\b/.test(format ?? '');
}

/** Writable-layer and virtual sizes of each container, by id. */
export async function containerSizes(engine: Engine, recs: ContainerRecord[]): Promise<Map<string, { rw: number; rootFs: number }>> {
  const im = engine.images;
  let rw = new Map<string, number>();
  try {
    rw = new Map((await im.snapshotter.usage()).containers.map((c) => [c.id, c.bytes]));
  } catch {
    // no usage from this snapshotter: sizes read as 0, as docker's for a driver without them
  }
  const imageSize = new Map(im.images.list().map((i) => [i.Id, i.Size]));
  return new Map(recs.map((c) => {
    const own = rw.get(c.id) ?? 0;
    return [c.id, { rw: own, rootFs: own + (imageSize.get(c.spec.annotations?.[ANN_IMAGE_ID] ?? '') ?? 0) }];
  }));
}

/** The SIZE text of each container, by id. */
export async function psSizes(engine: Engine, recs: ContainerRecord[]): Promise<Map<string, string>> {
  const sizes = await containerSizes(engine, recs);
  return new Map([...sizes].map(([id, s]) => [id, `${humanSize(s.rw)} (virtual ${humanSize(s.rootFs)})`]));
}

/** `inspect -s`: SizeRw and SizeRootFs on each container's object (objects with an Id of a container in recs). */
export async function addInspectSizes(engine: Engine, objs: unknown[], recs: ContainerRecord[]): Promise<void> {
  const sizes = await containerSizes(engine, recs);
  for (const o of objs as Record<string, unknown>[]) {
    const s = sizes.get(o.Id as string);
    if (s) Object.assign(o, { SizeRw: s.rw, SizeRootFs: s.rootFs });
  }
}
