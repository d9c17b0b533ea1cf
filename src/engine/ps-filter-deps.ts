// What `ps --filter` asks of the engine (ps-filters.ts): containers by reference, image ids,
// volumes and networks of a container.
import type { Engine } from './engine.js';
import { ANN_IMAGE_ID, imageName } from './images.js';
import { networkSettings } from './networking.js';
import type { PsFilterDeps } from './ps-filters.js';
import type { ContainerRecord } from './types.js';

export function psFilterDeps(engine: Engine, health: (c: ContainerRecord) => string): PsFilterDeps {
  return {
    resolve: (ref) => engine.get(ref),
    imageId: (ref) => engine.images.find(ref)?.config.digest, // the id prepare() records (images.ts)
    imageOf: (c) => c.spec.annotations?.[ANN_IMAGE_ID],
    imageName: (ref) => imageName(ref),
    volumes: (c) => engine.store.containerVolumes(c.id),
    networks: (c) => {
      const running = c.state === 'running' || c.state === 'paused' || c.state === 'restarting';
      const nets = networkSettings(c, running).Networks as Record<string, { NetworkID?: string }>;
      return [{ name: c.hostConfig.NetworkMode, id: '' }, ...Object.entries(nets).map(([name, n]) => ({ name, id: n.NetworkID ?? '' }))];
    },
    health,
  };
}
