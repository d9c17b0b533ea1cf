// A private berth (its own --root and --state-root) for an integration test file: runs the CLI,
// and at the end removes every container, volume and directory it made and checks that no
// cgroup or monitor of it is left.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Berth } from '../../src/index.js';
import { makeBusyboxRootfs, REPO } from './bundle.js';

export const BERTH = join(REPO, 'bin', 'berth');

export interface R {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface TestBerth {
  dir: string;
  root: string;
  stateRoot: string;
  run(args: string[], o?: { input?: string | Buffer; timeout?: number; cwd?: string }): R;
  /** Like run, stdout as bytes (tar streams). */
  runBytes(args: string[], o?: { input?: string | Buffer }): { status: number | null; stdout: Buffer; stderr: string };
  uniq(prefix: string): string;
  /** Removes everything and asserts nothing leaked. */
  cleanup(): void;
}

export const ok = (r: R, what = '') => assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);

export function testBerth(tag: string): TestBerth {
  const dir = mkdtempSync(join(tmpdir(), `berth-${tag}-`));
  const root = join(dir, 'root');
  // short: attach sockets live under it (sun_path is 108 bytes)
  const stateRoot = `/run/berth-${tag.slice(0, 4)}${process.pid}`;
  let n = 0;
  const base = (args: string[]) => ['--root', root, '--state-root', stateRoot, ...args];
  const t: TestBerth = {
    dir, root, stateRoot,
    run(args, o = {}) {
      const r = spawnSync(BERTH, base(args), { encoding: 'utf8', input: o.input ?? '', timeout: o.timeout ?? 60000, ...(o.cwd ? { cwd: o.cwd } : {}) });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    runBytes(args, o = {}) {
      const r = spawnSync(BERTH, base(args), { input: o.input ?? '', timeout: 60000, maxBuffer: 256 << 20 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
    },
    uniq: (p) => `${p}-${process.pid}-${n++}-${Math.random().toString(36).slice(2, 6)}`,
    cleanup() {
      const ids = t.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
      if (ids.length) t.run(['rm', '-f', '-v', ...ids]);
      t.run(['volume', 'prune', '-f', '-a']);
      const left = t.run(['ps', '-aq']).stdout.trim();
      const cg: string[] = [];
      for (const h of ['memory', 'pids', 'cpu', 'freezer', 'blkio', 'unified']) {
        const d = `/sys/fs/cgroup/${h}/berth`;
        if (!existsSync(d)) continue;
        for (const e of readdirSync(d)) if (ids.includes(e)) cg.push(`${d}/${e}`);
      }
      const mons: number[] = [];
      for (const p of readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
          if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(stateRoot + '/')) mons.push(Number(p));
        } catch {
          /* gone */
        }
      }
      for (const p of mons) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // never remove through a mount (a container's root file system left mounted)
      const mounted = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir + '/') || m.startsWith(stateRoot + '/'));
      if (!mounted.length) {
        rmSync(dir, { recursive: true, force: true });
        rmSync(stateRoot, { recursive: true, force: true });
      }
      assert.deepEqual(mounted, [], 'mounts left');
      assert.equal(left, '', 'containers left after rm -f');
      assert.deepEqual(cg, [], 'leaked cgroups');
      assert.deepEqual(mons, [], 'leaked monitors');
    },
  };
  return t;
}

/**
 * The usual start of a CLI test file: a private berth and a busybox rootfs in its directory,
 * made before the file's tests and everything removed (and checked) after them.
 */
export function testBerthWithRootfs(tag: string): { t: TestBerth; rootfs: string } {
  const t = testBerth(tag);
  const rootfs = join(t.dir, 'rootfs');
  before(() => {
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
  });
  after(() => t.cleanup());
  return { t, rootfs };
}

/**
 * testBerthWithRootfs and a library Berth on the same store (tests that check the CLI and the
 * library agree); the library is closed before the store is cleaned. Loaded only here: most
 * CLI test files never need it.
 */
export function testBerthWithLibrary(tag: string): { t: TestBerth; rootfs: string; readonly lib: Berth } {
  const t = testBerth(tag);
  const rootfs = join(t.dir, 'rootfs');
  let lib: Berth | undefined;
  before(async () => {
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
    lib = new (await import('../../src/index.js')).Berth({ root: t.root, stateRoot: t.stateRoot });
  });
  after(() => {
    lib?.close();
    t.cleanup();
  });
  return { t, rootfs, get lib() {
    return lib!;
  } };
}
