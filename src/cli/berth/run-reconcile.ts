// `run` and `create` open the store without reconciling every live container (Command
// lazyReconcile: their cost would grow with the number of containers). What a new container can
// collide with is refreshed where it is met (a name: Engine.create), except what a container
// holds by value on the host: a published port, a fixed address or MAC may still be held by a
// container whose monitor died unseen, and only a reconcile frees it, as before.
import type { CreateOptions } from '../../engine/options.js';

/** Whether the container asks for something another (maybe dead) container may hold by value. */
export function holdsByValue(o: CreateOptions): boolean {
  return !!(o.publish?.length || o.publishAll || o.ip || o.ip6 || o.macAddress);
}
