// Restart policies across a reboot, daemonless (podman's podman-restart.service does the same):
// a boot-time unit (contrib/berth-restore.service) runs `berth system restore`, which reconciles
// the store (every container whose monitor vanished with the old /run is marked exited, with
// the "monitor is gone" error) and starts again, as dockerd does when it comes up:
//   always          every container that had been started, even one stopped by hand;
//   unless-stopped  those that were running when the host went down (not stopped by hand);
//   on-failure      those that were running when the host went down (their exit counts as a failure).
// Whether a container was running at the reboot needs no extra state: a stop recorded by its
// monitor leaves no error, a vanished monitor leaves MONITOR_GONE.
import type { Engine } from './engine.js';
import { shortId } from './ids.js';
import type { ContainerRecord } from './types.js';
import { ZERO_TIME } from './types.js';

/** The start of the error the engine records when a container's monitor vanished. */
export const MONITOR_GONE = 'the container monitor is gone';

export function shouldRestore(c: ContainerRecord): boolean {
  if (c.state !== 'exited') return false;
  const wasRunning = c.error.startsWith(MONITOR_GONE);
  switch (c.hostConfig.RestartPolicy.Name) {
    case 'always':
      return c.startedAt !== ZERO_TIME;
    case 'unless-stopped':
    case 'on-failure':
      return wasRunning;
    default:
      return false;
  }
}

export interface RestoreResult {
  started: string[];
  failed: { id: string; error: string }[];
}

/** Starts what the restart policies ask for after a reboot; one failure does not stop the rest. */
export async function restoreContainers(engine: Engine, o: { warn?: (m: string) => void } = {}): Promise<RestoreResult> {
  const res: RestoreResult = { started: [], failed: [] };
  for (const c of engine.list({ all: true })) {
    if (!shouldRestore(c)) continue;
    try {
      await engine.start(c.id);
      res.started.push(c.id);
    } catch (e) {
      res.failed.push({ id: c.id, error: (e as Error).message });
      o.warn?.(`restore ${shortId(c.id)} (${c.name}): ${(e as Error).message}`);
    }
  }
  return res;
}
