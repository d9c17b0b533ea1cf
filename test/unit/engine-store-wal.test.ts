// The store keeps its WAL short (src/engine/store/db.ts): every CLI opens the store as its first
// connection and SQLite then reads every WAL frame since the last checkpoint to rebuild the index.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store } from '../../src/engine/store/db.js';
import { newId } from '../../src/engine/ids.js';
import { ZERO_TIME, type ContainerRecord } from '../../src/engine/types.js';
import { rfc3339Nano } from '../../src/engine/time.js';

function rec(id: string, name: string): ContainerRecord {
  // a spec of some kilobytes, as real ones are: each write touches several pages
  const spec = { ociVersion: '1.2.0', process: { args: ['sleep', '1000'], env: Array.from({ length: 100 }, (_, i) => `VAR_${i}=${'x'.repeat(40)}`) } };
  return {
    id, name, image: '/rootfs', rootfs: '/rootfs', created: rfc3339Nano(), state: 'created', pid: 0, monitorPid: 0, monitorStart: '',
    startedAt: ZERO_TIME, finishedAt: ZERO_TIME, exitCode: 0, oomKilled: false, error: '', restartCount: 0, cleaned: true,
    config: { Cmd: ['sleep', '1000'] } as never, hostConfig: {} as never, spec: spec as never, seccompFile: '',
  };
}

test('the WAL is checkpointed every ~100 frames and its file cut back to 1 MB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-wal-'));
  const s = Store.open(dir);
  try {
    assert.equal(s.db.pragma('wal_autocheckpoint', { simple: true }), 100);
    assert.equal(s.db.pragma('journal_size_limit', { simple: true }), 1048576);
    // 300 commits, each in its own transaction as separate commands make them
    for (let i = 0; i < 300; i++) s.tx(() => s.insertContainer(rec(newId(), `wal-${i}`)));
    // frames since the last checkpoint (a PASSIVE checkpoint reports the WAL's length)
    const { log } = (s.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!;
    assert.ok(log > 0 && log < 130, `the WAL holds ${log} frames since its last checkpoint, expected under 130`);
    assert.ok(statSync(join(dir, 'berth.db-wal')).size <= 1048576 + 130 * 4200, 'the WAL file stays bounded');
    assert.equal(s.list().length, 300);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
