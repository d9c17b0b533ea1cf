// The exit status of a container that another process removed (its monitor's exit command, a
// parallel CLI) before this one saw it exit: the row that held it is gone, the 'die' event the
// remover wrote (in the same transaction as the exit, engine refresh) still holds it.
import type { Store } from './store/db.js';

/** The exit code of the container's last 'die' event after `afterSeq`, if any. */
export function dieStatus(store: Store, id: string, afterSeq: number): number | undefined {
  let status: number | undefined;
  for (let after = afterSeq; ;) {
    const page = store.events(after);
    if (!page.length) return status;
    for (const e of page) if (e.type === 'container' && e.action === 'die' && e.actorId === id) status = Number(e.attributes.exitCode ?? 0);
    after = page[page.length - 1]!.seq;
  }
}
