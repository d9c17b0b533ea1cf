// `start -a` of a container another command started already: start is a no-op and it attaches to
// it, as docker's start -a. If the container ended before the attach, its exit status is the
// answer; a --rm one may be removed by then (its monitor's exit command), and with it the record
// of that status: the 'die' event the remover wrote before removing it still holds it.
import type { Engine } from '../../engine/engine.js';
import { dieStatus } from '../../engine/die-status.js';
import { isEngineError } from '../../engine/errors.js';
import type { AttachClient } from '../../engine/monitor.js';
import { isLive } from '../../engine/state.js';

/** The attach connection to a running container, or its exit status if it ended meanwhile. `seq`: the store's last event seq before the start. */
export async function attachOrStatus(engine: Engine, id: string, seq: number): Promise<AttachClient | number> {
  let attachError: unknown;
  try {
    return await engine.attach(id);
  } catch (e) {
    attachError = e;
  }
  try {
    if (isLive(engine.get(id).state)) throw attachError;
    return await engine.wait(id);
  } catch (e) {
    if (!isEngineError(e, 'notfound')) throw e;
    const status = dieStatus(engine.store, id, seq); // die-status.ts
    if (status === undefined) throw e;
    return status;
  }
}
