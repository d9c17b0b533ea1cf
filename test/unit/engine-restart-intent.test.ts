// The engine's reading of whether a monitor restarts a container whose init died (the copy of
// native/berth-monitor.c's should_restart): stop marker, `update --restart` file, each policy.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ExitFile } from '../../src/engine/monitor.js';
import { monitorWillRestart } from '../../src/engine/restart-intent.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-restart-intent-'));
  dirs.push(d);
  return d;
};
const exit = (status: number, restarts = 0): ExitFile => ({ status, signal: 0, oom: false, finished: '', restarts, error: '' });
const pol = (Name: 'no' | 'always' | 'on-failure' | 'unless-stopped', MaximumRetryCount = 0) => ({ Name, MaximumRetryCount });

test('policies: no never, always and unless-stopped always, on-failure by status and count', () => {
  const d = stateDir();
  assert.equal(monitorWillRestart(d, pol('no'), 0, null), false);
  assert.equal(monitorWillRestart(d, pol('always'), 0, null), true);
  assert.equal(monitorWillRestart(d, pol('unless-stopped'), 3, exit(0, 3)), true);
  assert.equal(monitorWillRestart(d, pol('on-failure'), 0, null), undefined, 'status not recorded yet');
  assert.equal(monitorWillRestart(d, pol('on-failure'), 1, exit(1, 0)), undefined, "an earlier run's status");
  assert.equal(monitorWillRestart(d, pol('on-failure'), 0, exit(0)), false);
  assert.equal(monitorWillRestart(d, pol('on-failure'), 0, exit(2)), true);
  assert.equal(monitorWillRestart(d, pol('on-failure', 2), 1, exit(2, 1)), true);
  assert.equal(monitorWillRestart(d, pol('on-failure', 2), 2, exit(2, 2)), false);
});

test('a stop marker wins; a policy from update replaces the one started with', () => {
  const d = stateDir();
  writeFileSync(join(d, 'restart'), 'always 0\n');
  assert.equal(monitorWillRestart(d, pol('no'), 0, exit(0)), true);
  writeFileSync(join(d, 'restart'), 'no 0\n');
  assert.equal(monitorWillRestart(d, pol('always'), 0, exit(0)), false);
  writeFileSync(join(d, 'restart'), 'always 0\n');
  writeFileSync(join(d, 'stopped'), '');
  assert.equal(monitorWillRestart(d, pol('always'), 0, exit(0)), false);
});
