import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlags, UsageError, type FlagSet } from '../../src/cli/oci/args.js';

const set: FlagSet = {
  bundle: { type: 'string', alias: 'b', help: '' },
  detach: { type: 'bool', alias: 'd', help: '' },
  env: { type: 'strings', alias: 'e', help: '' },
  'preserve-fds': { type: 'int', help: '' },
};

test('runc-style flags: --x v, --x=v, -x, aliases, repeats', () => {
  const { flags, rest } = parseFlags(['--bundle', 'b1', '-d', '-e', 'A=1', '--env=B=2', '-preserve-fds', '2', 'id'], set);
  assert.deepEqual(flags, { bundle: 'b1', detach: true, env: ['A=1', 'B=2'], 'preserve-fds': 2 });
  assert.deepEqual(rest, ['id']);
});

test('flags stop at the first positional (exec ID sh -c ...)', () => {
  const { flags, rest } = parseFlags(['-d', 'id', 'sh', '-c', 'echo'], set);
  assert.deepEqual(flags, { detach: true });
  assert.deepEqual(rest, ['id', 'sh', '-c', 'echo']);
});

test('unknown flags and missing values are usage errors', () => {
  assert.throws(() => parseFlags(['--nope'], set), UsageError);
  assert.throws(() => parseFlags(['--bundle'], set), /needs an argument/);
  assert.throws(() => parseFlags(['--preserve-fds', 'x'], set), /invalid value/);
});
