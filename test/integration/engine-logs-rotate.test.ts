// Logs of a real container whose json-file log rotates (--log-opt max-size/max-file) while
// `berth logs -f` and the library's logs stream follow it: every line exactly once, in order;
// then --tail across the rotated files after it exited. Root.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Berth, type LogEntry } from '../../src/index.js';
import { BERTH, ok, testBerthWithRootfs } from '../helpers/berth-cli.js';

const { t, rootfs } = testBerthWithRootfs('logrot');
let lib: Berth;
before(() => {
  lib = new Berth({ root: t.root, stateRoot: t.stateRoot });
});
after(() => lib.close());

const LINES = 3000;
const expected = Array.from({ length: LINES }, (_, i) => `line ${i}`);

describe('logs across rotation', () => {
  test('logs -f (CLI) and the library stream follow a rotating log: every line once', async () => {
    const name = t.uniq('rot');
    // a second for the followers to start, then about 1000 lines a second: ~20 rotations of 10 kB, five files kept: a follower may be ~0.5 s behind without losing the oldest
    const script = `sleep 1; i=0; while [ $i -lt ${LINES} ]; do echo "line $i"; i=$((i+1)); [ $((i % 20)) -eq 0 ] && usleep 20000; done; exit 0`;
    ok(t.run(['run', '-d', '--name', name, '--network', 'none', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=5', '--rootfs', rootfs, 'sh', '-c', script]));
    const cli = spawn(BERTH, ['--root', t.root, '--state-root', t.stateRoot, 'logs', '-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let cliOut = '';
    let cliErr = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (cliOut += d));
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (cliErr += d));
    const cliDone = new Promise<number | null>((res) => cli.on('close', (c) => res(c)));
    const libLines: string[] = [];
    for await (const e of lib.logs(name, { follow: true }) as AsyncIterable<LogEntry>) libLines.push(e.line.trimEnd());
    const code = await cliDone;
    assert.equal(code, 0, cliErr);
    assert.deepEqual(libLines, expected, 'library: every line exactly once, in order');
    assert.deepEqual(cliOut.split('\n').slice(0, -1), expected, 'CLI: every line exactly once, in order');
    // the log did rotate: five files kept, the oldest lines gone from them
    const all = t.run(['logs', name]).stdout.split('\n').slice(0, -1);
    assert.ok(all.length < LINES && all.length > 200, `after rotation ${all.length} lines are kept`);
    assert.deepEqual(all, expected.slice(LINES - all.length));
    // --tail across files, and the library's tail
    assert.deepEqual(t.run(['logs', '--tail', '250', name]).stdout.split('\n').slice(0, -1), expected.slice(LINES - 250));
    const tail: string[] = [];
    for await (const e of lib.logs(name, { tail: 3 }) as AsyncIterable<LogEntry>) tail.push(e.line.trimEnd());
    assert.deepEqual(tail, expected.slice(LINES - 3));
    ok(t.run(['rm', name]));
  });
});
