// Health check state in the metadata store: one row per container with a check (docker's
// State.Health), in its own table so that the containers table and its schema version stay as
// they are. Created on first use; removed with the container (foreign key, cascade).
import type { Store } from './db.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

const ready = new WeakSet<object>();

function ensure(store: Store): void {
  if (ready.has(store.db)) return;
  store.db.exec(`CREATE TABLE IF NOT EXISTS container_health (
    id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    failing_streak INTEGER NOT NULL DEFAULT 0,
    log TEXT NOT NULL DEFAULT '[]'
  )`);
  ready.add(store.db);
}

export function readHealth(store: Store, id: string): HealthState | undefined {
  ensure(store);
  const r = store.db.prepare('SELECT status, failing_streak, log FROM container_health WHERE id = ?').get(id) as { status: HealthStatus; failing_streak: number; log: string } | undefined;
  return r ? { Status: r.status, FailingStreak: r.failing_streak, Log: JSON.parse(r.log) as HealthResult[] } : undefined;
}

/** A (re)started container's health: starting, no streak; docker keeps the log. */
export function resetHealth(store: Store, id: string): void {
  ensure(store);
  store.db.prepare(`INSERT INTO container_health (id, status, failing_streak, log) VALUES (?, 'starting', 0, '[]')
    ON CONFLICT(id) DO UPDATE SET status = 'starting', failing_streak = 0`).run(id);
}

/**
 * Records one probe's result atomically (parallel probes serialize on the write lock) and
 * returns the state before and after.
 */
export function recordHealth(store: Store, id: string, update: (cur: HealthState) => HealthState): { before: HealthState; after: HealthState } | undefined {
  ensure(store);
  return store.tx(() => {
    const before = readHealth(store, id) ?? { Status: 'starting' as const, FailingStreak: 0, Log: [] };
    if (!store.get(id)) return undefined;
    const after = update(before);
    store.db.prepare(`INSERT INTO container_health (id, status, failing_streak, log) VALUES (?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET status = excluded.status, failing_streak = excluded.failing_streak, log = excluded.log`)
      .run(id, after.Status, after.FailingStreak, JSON.stringify(after.Log));
    return { before, after };
  });
}
