// What a prestarted node process (src/cli/berth/prestarted.ts) takes from the listener and which
// commands it runs: the parsing of a request, the environment node reads at start-up, and the
// verbs and flags that are handed over (the rest runs in the caller's own node).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { handedOver, parseRequest, startupEnvDiffers } from '../../src/cli/berth/prestarted.js';
import { COMMANDS } from '../../src/cli/berth/verbs.js';

const req = (...s: string[]) => Buffer.from(`${s.join('\0')}\0`);

describe('parseRequest', () => {
  it('reads the situation, the arguments and the environment', () => {
    const r = parseRequest(req('2', '/work dir', '22', '40 120', '0', '1', '3', 'run', '-d', 'a=b', 'HOME=/root', 'X=1=2', 'EMPTY='));
    assert.deepEqual(r, {
      argv: ['run', '-d', 'a=b'],
      env: { HOME: '/root', X: '1=2', EMPTY: '' },
      cwd: '/work dir',
      umask: 0o22,
      stdout: { rows: 40, cols: 120 },
      stderr: undefined,
      merged: true,
    });
  });

  it('takes arguments that are empty or hold newlines', () => {
    assert.deepEqual(parseRequest(req('2', '/', '77', '0', '0', '0', '2', '', 'a\nb')).argv, ['', 'a\nb']);
    assert.deepEqual(parseRequest(req('2', '/', '0', '0', '0', '0', '0')).argv, []);
  });

  it('refuses anything malformed', () => {
    const bad: Array<[Buffer, RegExp]> = [
      [Buffer.from('2\0/\0'), /NUL|count|umask/],
      [Buffer.from('2\0/\x0022\x000\x000\x000\x000'), /NUL/], // no final NUL
      [req('1', '/', '22', '0', '0', '0', '0'), /version/],
      [req('2', 'rel', '22', '0', '0', '0', '0'), /absolute/],
      [req('2', '/', '9', '0', '0', '0', '0'), /umask/],
      [req('2', '/', '22', 'x', '0', '0', '0'), /stdout terminal/],
      [req('2', '/', '22', '0', '24', '0', '0'), /stderr terminal/],
      [req('2', '/', '22', '0', '0', 'y', '0'), /merged/],
      [req('2', '/', '22', '0', '0', '0', '5', 'run'), /argument count/],
      [req('2', '/', '22', '0', '0', '0', '-1'), /argument count/],
      [Buffer.alloc(0), /NUL/],
    ];
    for (const [b, re] of bad) assert.throws(() => parseRequest(b), re, JSON.stringify(b.toString()));
  });
});

describe('startupEnvDiffers', () => {
  it('names the variables node reads at start-up that differ, and only those', () => {
    assert.deepEqual(startupEnvDiffers({ PATH: '/a', HOME: '/x', LANG: 'C' }, { PATH: '/b', LANG: 'C' }), []);
    assert.deepEqual(startupEnvDiffers({ NODE_OPTIONS: '--max-old-space-size=64' }, {}), ['NODE_OPTIONS']);
    assert.deepEqual(startupEnvDiffers({ LANG: 'C' }, { LANG: 'de_DE.UTF-8', LC_ALL: 'C', UV_THREADPOOL_SIZE: '8' }).sort(), ['LANG', 'LC_ALL', 'UV_THREADPOOL_SIZE']);
    assert.deepEqual(startupEnvDiffers({}, { LD_PRELOAD: '/x.so', GLIBC_TUNABLES: 'a=1', MALLOC_ARENA_MAX: '2', OPENSSL_CONF: '/c' }).sort(), ['GLIBC_TUNABLES', 'LD_PRELOAD', 'MALLOC_ARENA_MAX', 'OPENSSL_CONF']);
  });
});

describe('handedOver', () => {
  const yes = [
    ['run', '-d', '--rm', '--network', 'none', 'img', 'true'],
    ['--root', '/r', '--state-root=/s', '-D', 'run', '--detach', '-e', 'A=-i', 'img', 'sh', '-c', 'x'],
    ['container', 'run', '-d', 'img'],
    ['run', '-d', '-t', 'img'],
    ['create', '--name', 'x', 'img'],
    ['start', 'c1', 'c2'],
    ['stop', '-t', '3', 'c'],
    ['kill', '-s', 'HUP', 'c'],
    ['rm', '-f', 'a', 'b'],
    ['restart', 'c'],
    ['pause', 'c'],
    ['unpause', 'c'],
    ['rename', 'a', 'b'],
    ['rm', 'dev', 'proc'], // names, not paths
    ['run', '--rm', 'img', 'true'], // attached: output only, no stdin
    ['run', '--rm', 'img', 'sh', '-c', 'echo -i'],
    ['run', '-a', 'stdout', 'img'],
    ['exec', 'c', 'true'],
    ['exec', '-d', '-e', 'A=1', 'c', 'true'],
    ['start', '-a', 'c'],
    ['ps', '-a'],
    ['logs', '-f', 'c'],
    ['inspect', 'c'],
    ['run', '-d', '-v', '/srv/devices:/d', 'img'],
  ];
  const no = [
    ['run', '-i', 'img'], // stdin is read
    ['run', '-t', 'img'], // a terminal of its own
    ['run', '-a', 'stdin', 'img'],
    ['exec', '-i', 'c', 'cat'],
    ['exec', '-it', 'c', 'sh'],
    ['start', '-a', '-i', 'c'],
    ['attach', 'c'],
    ['pull', 'img'],
    ['version'],
    ['rm', '--help'],
    ['--help'],
    ['--version'],
    ['--unknown-global', 'rm', 'c'],
    ['run', '-d', '--no-such-flag', 'img'], // the usage error is printed by the caller's own node
    ['run', '-d', '--env-file', '/dev/stdin', 'img'], // this process's descriptors are not the caller's
    ['run', '-d', '-v', '/proc/self/fd:/x', 'img'],
    ['create', '-v', '/dev/tty:/dev/tty', 'img'],
    ['run', '-d', '--env-file', '/proc//self/fd/0', 'img'],
    ['run', '-d', '--env-file', '/dev/./stdin', 'img'],
    ['run', '-d', '--env-file', '../../dev/stdin', 'img'],
    ['run', '-d', '--env-file', 'dev/stdin', 'img'],
    ['run', '-d', '--device', '/dev', 'img'],
    ['container'],
    [],
  ];
  it('takes the verbs that repeat, with plain output', () => {
    for (const a of yes) assert.equal(handedOver(a, COMMANDS), true, a.join(' '));
  });
  it('leaves the rest to the caller', () => {
    for (const a of no) assert.equal(handedOver(a, COMMANDS), false, a.join(' '));
  });
});
