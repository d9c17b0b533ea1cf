// The engine's metadata store: one SQLite database (better-sqlite3, WAL mode) under the engine
// root. SQLite gives crash safety (a killed CLI leaves the last committed state), concurrency
// between parallel CLI invocations (WAL readers never block; writers queue on busy_timeout),
// and constraints that enforce what must never happen (two containers with one name, a volume
// removed while a container uses it).
import { createRequire } from 'node:module';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { conflict, EngineError, notFound } from '../errors.js';
import { assertTransition, isLive, type ContainerState } from '../state.js';
import { nowNano } from '../time.js';
import type { ContainerRecord, EngineEvent, VolumeRecord } from '../types.js';
import { parseCached } from './json-cache.js';

const SCHEMA_VERSION = 2;
const MAX_EVENTS = 10000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  image TEXT NOT NULL,
  rootfs TEXT NOT NULL,
  created TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('created','running','paused','restarting','exited','dead')),
  pid INTEGER NOT NULL DEFAULT 0,
  monitor_pid INTEGER NOT NULL DEFAULT 0,
  monitor_start TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  exit_code INTEGER NOT NULL DEFAULT 0,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  restart_count INTEGER NOT NULL DEFAULT 0,
  cleaned INTEGER NOT NULL DEFAULT 1,
  seccomp_file TEXT NOT NULL DEFAULT '',
  config TEXT NOT NULL,
  host_config TEXT NOT NULL,
  spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY,
  driver TEXT NOT NULL,
  mountpoint TEXT NOT NULL,
  created TEXT NOT NULL,
  labels TEXT NOT NULL,
  options TEXT NOT NULL,
  anonymous INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS container_volumes (
  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
  volume TEXT NOT NULL REFERENCES volumes(name) ON DELETE RESTRICT,
  destination TEXT NOT NULL,
  PRIMARY KEY (container_id, destination)
);
CREATE INDEX IF NOT EXISTS container_volumes_volume ON container_volumes(volume);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_nano INTEGER NOT NULL,
  type TEXT NOT NULL,
  action TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  attributes TEXT NOT NULL
);
`;

interface ContainerRow {
  id: string;
  name: string;
  image: string;
  rootfs: string;
  created: string;
  state: ContainerState;
  pid: number;
  monitor_pid: number;
  monitor_start: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  oom_killed: number;
  error: string;
  restart_count: number;
  cleaned: number;
  seccomp_file: string;
  config: string;
  host_config: string;
  spec: string;
}

const COLUMNS: Record<keyof Omit<ContainerRecord, 'config' | 'hostConfig' | 'spec'>, string> = {
  id: 'id', name: 'name', image: 'image', rootfs: 'rootfs', created: 'created', state: 'state', pid: 'pid',
  monitorPid: 'monitor_pid', monitorStart: 'monitor_start', startedAt: 'started_at', finishedAt: 'finished_at',
  exitCode: 'exit_code', oomKilled: 'oom_killed', error: 'error', restartCount: 'restart_count', cleaned: 'cleaned',
  seccompFile: 'seccomp_file',
};

function fromRow(r: ContainerRow): ContainerRecord {
  const rec = {
    id: r.id, name: r.name, image: r.image, rootfs: r.rootfs, created: r.created, state: r.state, pid: r.pid,
    monitorPid: r.monitor_pid, monitorStart: r.monitor_start, startedAt: r.started_at, finishedAt: r.finished_at,
    exitCode: r.exit_code, oomKilled: !!r.oom_killed, error: r.error, restartCount: r.restart_count, cleaned: !!r.cleaned,
    seccompFile: r.seccomp_file,
  } as ContainerRecord;
  // the JSON columns are parsed on first use: every command reconciles every live container,
  // and the unchanged ones (nearly all) need only the columns above (the spec, with its seccomp
  // profile, is tens of KiB: parsing all of them cost ~1 ms per live container)
  lazyJson(rec, 'config', r.config);
  lazyJson(rec, 'hostConfig', r.host_config);
  lazyJson(rec, 'spec', r.spec);
  return rec;
}

/**
 * Each record's JSON columns: the text until first read, then the value. The accessors are the
 * same three functions on every record (state kept here, not in closures), so V8 gives every
 * record one shared shape instead of a new one per record (per-record closures cost a map
 * migration and a descriptor sort per column, a good part of reconciling a live container).
 */
const lazyState = new WeakMap<object, Record<string, { text?: string; value?: unknown }>>();
const JSON_KEYS = ['config', 'hostConfig', 'spec'] as const;
const accessors = Object.fromEntries(JSON_KEYS.map((key) => [key, {
  enumerable: true,
  configurable: true,
  get(this: object): unknown {
    const slot = lazyState.get(this)![key]!;
    if (slot.text !== undefined) {
      // the spec: a copy of this container's last parse when unchanged (json-cache.ts)
      slot.value = key === 'spec' ? parseCached((this as { id: string }).id, slot.text) : JSON.parse(slot.text);
      slot.text = undefined;
    }
    return slot.value;
  },
  set(this: object, v: unknown): void {
    lazyState.get(this)![key] = { value: v };
  },
}])) as Record<(typeof JSON_KEYS)[number], PropertyDescriptor>;

function lazyJson(rec: ContainerRecord, key: (typeof JSON_KEYS)[number], text: string): void {
  let slots = lazyState.get(rec);
  if (!slots) lazyState.set(rec, (slots = {}));
  slots[key] = { text };
  Object.defineProperty(rec, key, accessors[key]);
}

function toParam(k: string, v: unknown): unknown {
  if (k === 'config' || k === 'hostConfig' || k === 'spec') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

type Db = BetterSqlite3.Database;
let Addon: string | undefined;

function driver(): typeof BetterSqlite3 {
  // imported statically: its JavaScript is bundled into the CLI (and its V8 code cache); only
  // the native .node file loads at run time, when a store opens
  return BetterSqlite3;
}

/**
 * The addon's .node file, given to better-sqlite3 directly: its own lookup (the `bindings`
 * package) probes a dozen paths from a stack trace, ~15 ms of every command, and cannot find the
 * file from inside the CLI bundle.
 */
function addonPath(): string | undefined {
  if (Addon === undefined) {
    // node_modules beside an ancestor of this file (dist/src/engine/store/ or the CLI bundle's
    // dist/bundle/cjs/): a few stat calls, where require.resolve costs ~3 ms of a cold CLI
    const rel = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 6 && Addon === undefined; i++, dir = dirname(dir)) {
      if (statSync(join(dir, rel), { throwIfNoEntry: false })?.isFile()) Addon = join(dir, rel);
    }
    try {
      Addon ??= createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      Addon = ''; // elsewhere (a prebuilt layout): let better-sqlite3 search
    }
  }
  return Addon || undefined;
}

/** Loads the native addon now (a database in memory, opened and closed): a CLI started ahead
 * (src/cli/berth/prestarted.ts) does it before its command comes. */
export function loadDriver(): void {
  const Database = driver();
  const nativeBinding = addonPath();
  new Database(':memory:', nativeBinding ? { nativeBinding } : {}).close();
}

export type ContainerUpdate = Partial<Omit<ContainerRecord, 'id' | 'created'>>;

/** The columns of a container that reconcile checks first (Store.liveStates). */
export type LiveState = Pick<ContainerRecord, 'id' | 'state' | 'pid' | 'monitorPid' | 'monitorStart'>;

const LIVE = "state IN ('running','paused','restarting') OR cleaned = 0 OR monitor_pid > 0";

export class Store {
  /** Prepared statements by SQL text: preparing costs more than running one in a short CLI. */
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();

  private constructor(readonly db: Db, readonly path: string) {}

  private stmt(sql: string): BetterSqlite3.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  /** Opens (creating when needed) `<root>/berth.db`. */
  static open(root: string): Store {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    const path = join(root, 'berth.db');
    const Database = driver();
    const nativeBinding = addonPath();
    const db = new Database(path, { timeout: 30000, ...(nativeBinding ? { nativeBinding } : {}) });
    // WAL: readers never block writers; NORMAL sync is crash safe against a killed process
    // (only a power loss may drop the last transactions, never corrupt the file)
    if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
    // a small WAL: each CLI is the store's first connection, so SQLite rebuilds the WAL index by
    // reading every frame since the last checkpoint (~1.7 us a frame; a run -d writes ~20): at
    // 100 frames, checkpoints (~0.5 ms with their fsyncs) every few commands cost less than the
    // ~1 ms a command spent reading a WAL of up to 1000 frames; the file is cut back to 1 MB
    db.exec('PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 100; PRAGMA journal_size_limit = 1048576');
    if ((db.pragma('user_version', { simple: true }) as number) !== SCHEMA_VERSION) {
      db.transaction(() => {
        db.exec(SCHEMA);
        // version 1 stores made before seccomp_file existed
        const cols = (db.pragma('table_info(containers)') as { name: string }[]).map((c) => c.name);
        if (!cols.includes('seccomp_file')) db.exec(`ALTER TABLE containers ADD COLUMN seccomp_file TEXT NOT NULL DEFAULT ''`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
    return new Store(db, path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** One transaction function for every tx(): better-sqlite3 builds ~10 closures per transaction(). */
  private runner: BetterSqlite3.Transaction<(fn: () => unknown) => unknown> | undefined;

  /** Runs fn in one write transaction (BEGIN IMMEDIATE: no lock upgrade deadlocks; nested: a savepoint). */
  tx<T>(fn: () => T): T {
    this.runner ??= this.db.transaction((f: () => unknown) => f());
    return this.runner.immediate(fn) as T;
  }

  // ---------------------------------------------------------------- containers

  insertContainer(rec: ContainerRecord): void {
    const cols = [...Object.values(COLUMNS), 'config', 'host_config', 'spec'];
    const vals = [...Object.keys(COLUMNS).map((k) => toParam(k, rec[k as keyof ContainerRecord])), JSON.stringify(rec.config), JSON.stringify(rec.hostConfig), JSON.stringify(rec.spec)];
    try {
      this.stmt(`INSERT INTO containers (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).run(...vals);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /containers\.name/.test((e as Error).message)) {
        const other = this.byName(rec.name);
        throw nameInUse(rec.name, other?.id ?? '');
      }
      throw e;
    }
  }

  get(id: string): ContainerRecord | undefined {
    const r = this.stmt('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
    return r && fromRow(r);
  }

  byName(name: string): ContainerRecord | undefined {
    const r = this.stmt('SELECT * FROM containers WHERE name = ?').get(name.replace(/^\//, '')) as ContainerRow | undefined;
    return r && fromRow(r);
  }

  /** Docker's lookup order: full id, name, then a unique id prefix. */
  resolve(ref: string): ContainerRecord {
    if (!ref) throw notFound('No such container: ');
    const exact = this.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    if (/^[0-9a-f]+$/.test(ref)) {
      const rows = this.stmt("SELECT * FROM containers WHERE id GLOB ? || '*' LIMIT 2").all(ref) as ContainerRow[];
      if (rows.length > 1) throw new EngineError('conflict', `multiple IDs found with provided prefix: ${ref}`);
      if (rows.length === 1) return fromRow(rows[0]!);
    }
    throw notFound(`No such container: ${ref}`);
  }

  list(): ContainerRecord[] {
    return (this.stmt('SELECT * FROM containers ORDER BY created DESC').all() as ContainerRow[]).map(fromRow);
  }

  /** Containers whose state says a monitor should be alive (what reconcile checks). */
  live(): ContainerRecord[] {
    return (this.stmt(`SELECT * FROM containers WHERE ${LIVE}`).all() as ContainerRow[]).map(fromRow);
  }

  /**
   * live() without the JSON columns: what reconcile reads of each container to see that nothing
   * changed (the spec alone is ~10 KiB per container, read from overflow pages and decoded).
   */
  liveStates(): LiveState[] {
    return (this.stmt(`SELECT id, state, pid, monitor_pid, monitor_start FROM containers WHERE ${LIVE}`).all() as { id: string; state: ContainerState; pid: number; monitor_pid: number; monitor_start: string }[])
      .map((r) => ({ id: r.id, state: r.state, pid: r.pid, monitorPid: r.monitor_pid, monitorStart: r.monitor_start }));
  }

  /**
   * Updates a container. With `from`, only when its state is one of them (returns false
   * otherwise): the compare-and-set that lets parallel CLIs agree on who handles a change.
   * A state change is checked against the state machine.
   */
  update(id: string, changes: ContainerUpdate, from?: readonly ContainerState[]): boolean {
    return this.tx(() => {
      const cur = this.stmt('SELECT state FROM containers WHERE id = ?').get(id) as { state: ContainerState } | undefined;
      if (!cur) return false;
      if (from && !from.includes(cur.state)) return false;
      if (changes.state) assertTransition(cur.state, changes.state, id);
      const sets: string[] = [];
      const vals: unknown[] = [];
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) continue;
        const col = k === 'hostConfig' ? 'host_config' : k === 'config' || k === 'spec' ? k : COLUMNS[k as keyof typeof COLUMNS];
        if (!col) throw new Error(`store: unknown container field ${k}`);
        sets.push(`${col} = ?`);
        vals.push(toParam(k, v));
      }
      if (sets.length) this.stmt(`UPDATE containers SET ${sets.join(', ')} WHERE id = ?`).run(...vals, id);
      return true;
    });
  }

  rename(id: string, name: string): void {
    try {
      this.stmt('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw nameInUse(name, this.byName(name)?.id ?? '');
      throw e;
    }
  }

  /** Removes a container row (and its volume links); false when it was already gone. */
  removeContainer(id: string): boolean {
    return this.stmt('DELETE FROM containers WHERE id = ?').run(id).changes === 1;
  }

  // ---------------------------------------------------------------- volumes

  insertVolume(v: VolumeRecord): boolean {
    const r = this
      .stmt('INSERT OR IGNORE INTO volumes (name, driver, mountpoint, created, labels, options, anonymous) VALUES (?,?,?,?,?,?,?)')
      .run(v.name, v.driver, v.mountpoint, v.created, JSON.stringify(v.labels), JSON.stringify(v.options), v.anonymous ? 1 : 0);
    return r.changes === 1;
  }

  volume(name: string): VolumeRecord | undefined {
    const r = this.stmt('SELECT * FROM volumes WHERE name = ?').get(name) as Record<string, unknown> | undefined;
    return r && volFromRow(r);
  }

  volumes(): VolumeRecord[] {
    return (this.stmt('SELECT * FROM volumes ORDER BY name').all() as Record<string, unknown>[]).map(volFromRow);
  }

  /** Containers using a volume. */
  volumeUsers(name: string): string[] {
    return (this.stmt('SELECT container_id FROM container_volumes WHERE volume = ?').all(name) as { container_id: string }[]).map((r) => r.container_id);
  }

  containerVolumes(id: string): { volume: string; destination: string }[] {
    return this.stmt('SELECT volume, destination FROM container_volumes WHERE container_id = ?').all(id) as { volume: string; destination: string }[];
  }

  linkVolume(containerId: string, volume: string, destination: string): void {
    this.stmt('INSERT OR REPLACE INTO container_volumes (container_id, volume, destination) VALUES (?,?,?)').run(containerId, volume, destination);
  }

  /** Removes a volume row; refuses (conflict) while a container uses it. */
  removeVolume(name: string): boolean {
    try {
      return this.stmt('DELETE FROM volumes WHERE name = ?').run(name).changes === 1;
    } catch (e) {
      if (/^SQLITE_CONSTRAINT/.test((e as { code?: string }).code ?? '') && /FOREIGN KEY/.test((e as Error).message)) {
        throw conflict(`remove ${name}: volume is in use - [${this.volumeUsers(name).join(', ')}]`);
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- events

  addEvent(type: EngineEvent['type'], action: string, actorId: string, attributes: Record<string, string> = {}): void {
    const r = this
      .stmt('INSERT INTO events (time_nano, type, action, actor_id, attributes) VALUES (?,?,?,?,?)')
      .run(nowNano(), type, action, actorId, JSON.stringify(attributes));
    const seq = Number(r.lastInsertRowid);
    if (seq % 500 === 0) this.stmt('DELETE FROM events WHERE seq <= ?').run(seq - MAX_EVENTS);
  }

  events(afterSeq = 0, sinceNano = 0n, limit = 1000): EngineEvent[] {
    const rows = this
      .stmt('SELECT seq, time_nano, type, action, actor_id, attributes FROM events WHERE seq > ? AND time_nano >= ? ORDER BY seq LIMIT ?')
      .safeIntegers(true)
      .all(afterSeq, sinceNano, limit) as { seq: bigint; time_nano: bigint; type: EngineEvent['type']; action: string; actor_id: string; attributes: string }[];
    return rows.map((r) => ({ seq: Number(r.seq), timeNano: r.time_nano, type: r.type, action: r.action, actorId: r.actor_id, attributes: JSON.parse(r.attributes) }));
  }

  lastEventSeq(): number {
    const r = this.stmt('SELECT max(seq) AS s FROM events').get() as { s: number | null };
    return r.s ?? 0;
  }
}

function volFromRow(r: Record<string, unknown>): VolumeRecord {
  return {
    name: r.name as string, driver: 'local', mountpoint: r.mountpoint as string, created: r.created as string,
    labels: JSON.parse(r.labels as string), options: JSON.parse(r.options as string), anonymous: !!r.anonymous,
  };
}

export function nameInUse(name: string, id: string): EngineError {
  return conflict(`Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
}

export { isLive };
