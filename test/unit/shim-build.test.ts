// How the build compiles berth-shim (scripts/shim-cc.mjs): musl first when musl-gcc is there and
// CC was not chosen, then static glibc, then dynamic; the musl build sees the kernel's headers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

interface Way { label: string; cmd: string; args: string[]; quiet: boolean }
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const { shimCompilers } = (await import(join(REPO, 'scripts', 'shim-cc.mjs'))) as {
  shimCompilers: (o: { root: string; cc: string; ccFromEnv: boolean; cflags: string[]; src: string; out: string }) => Way[];
};
const hasMusl = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v musl-gcc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const root = mkdtempSync(join(tmpdir(), 'berth-shim-build-'));
after(() => rmSync(root, { recursive: true, force: true }));
const opts = { root, cc: 'cc', cflags: ['-O2'], src: 'x.c', out: 'y' };

describe('shim build ways', () => {
  test('an explicit CC is used as given: static glibc, then dynamic', () => {
    const ways = shimCompilers({ ...opts, ccFromEnv: true });
    assert.deepEqual(ways.map((w) => w.label), ['static (glibc)', 'dynamic (glibc)']);
    assert.ok(ways[0]!.args.includes('-static'));
    assert.ok(!ways[1]!.args.includes('-static'));
  });

  test('musl first when musl-gcc is there, with the kernel headers after its own', { skip: !hasMusl && 'musl-gcc not installed' }, () => {
    const ways = shimCompilers({ ...opts, ccFromEnv: false });
    assert.deepEqual(ways.map((w) => w.label), ['static (musl)', 'static (glibc)', 'dynamic (glibc)']);
    const musl = ways[0]!;
    assert.equal(musl.cmd, 'musl-gcc');
    const inc = musl.args[musl.args.indexOf('-idirafter') + 1]!;
    for (const d of ['linux', 'asm', 'asm-generic']) {
      assert.ok(existsSync(join(inc, d, '.')), `${d} reachable`);
      assert.ok(readlinkSync(join(inc, d)).startsWith('/usr/include'), `${d} links to the system's headers`);
    }
    // a second build finds the links in place (builds may run side by side)
    shimCompilers({ ...opts, ccFromEnv: false });
  });
});
