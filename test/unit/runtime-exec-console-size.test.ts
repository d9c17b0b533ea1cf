// The exec plan of a terminal proxied to pipes (the library's exec with tty): CONSOLE_PROXY with
// the fd the sizes come on (CONSOLE_SIZE_FD) and the starting size in CONSOLE; the CLI's proxy
// (a real terminal to copy sizes from) and a console socket get no size fd.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { compileExec, type ExecPlanInput } from '../../src/runtime/compile.js';

const base = (edit: Partial<ExecPlanInput> = {}): ExecPlanInput => ({
  process: { terminal: true, consoleSize: { height: 21, width: 61 }, args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, env: [] },
  namespaces: [{ type: 'mount', path: '/proc/9/ns/mnt' }], mode: 'wait', cgroupProcs: [], setgroups: true, ...edit,
});

test('exec plan: a proxied terminal with a size fd, its starting size', () => {
  const ops = compileExec(base({ consoleProxy: true, consoleSizeFd: 4 }));
  assert.deepEqual(ops.filter((o) => o[0].startsWith('CONSOLE_')), [['CONSOLE_PROXY'], ['CONSOLE_SIZE_FD', 4]]);
  assert.deepEqual(ops.find((o) => o[0] === 'CONSOLE')?.slice(1, 3), [21, 61]);
  // the CLI's proxy copies its own terminal's size: no fd
  assert.deepEqual(compileExec(base({ consoleProxy: true })).filter((o) => o[0].startsWith('CONSOLE_')), [['CONSOLE_PROXY']]);
  // a console socket (berth-oci exec --console-socket) takes the master elsewhere: no fd either
  assert.deepEqual(compileExec(base({ consoleSocket: '/tmp/x.sock', consoleSizeFd: 4 })).filter((o) => o[0].startsWith('CONSOLE_')), [['CONSOLE_SOCKET', '/tmp/x.sock']]);
});
