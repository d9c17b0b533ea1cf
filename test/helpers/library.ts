// Shared by the library's integration tests: a Writable that collects, a poll until a condition
// holds, and the teardown that removes what a Berth made and says what leaked.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import { Berth } from '../../src/index.js';
import { makeBusyboxRootfs } from './bundle.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Writable that collects what it is given. */
export function collector(): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(Buffer.from(c));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => Buffer.concat(chunks).toString();
  return w;
}

/** Polls `fn` every 50 ms until it returns something truthy; fails after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 30000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const v = await fn();
    if (v) return v;
  }
  return assert.fail(`timed out waiting for ${what}`);
}

/**
 * Removes every container (with its volumes) and volume of `berth`, closes it, deletes `dir` and
 * `stateRoot`, then asserts nothing is left: no container, no cgroup of a container in `made`
 * (the ids the test saw), no state directory.
 */
export async function removeAllAndCheck(berth: Berth, made: Set<string>, dir: string, stateRoot: string): Promise<void> {
  for (const c of berth.list({ all: true })) {
    made.add(String(c.ID));
    await berth.remove(String(c.ID), { force: true, volumes: true });
  }
  const left = berth.list({ all: true }).length;
  for (const v of berth.listVolumes()) berth.removeVolume(String(v.Name), { force: true });
  berth.close();
  const cg: string[] = [];
  for (const h of ['memory', 'pids', 'cpu', 'freezer', 'unified']) {
    const d = `/sys/fs/cgroup/${h}/berth`;
    if (existsSync(d)) for (const e of readdirSync(d)) if ([...made].some((id) => id.startsWith(e) || e.startsWith(id))) cg.push(`${d}/${e}`);
  }
  const state = existsSync(join(stateRoot, 'containers')) ? readdirSync(join(stateRoot, 'containers')) : [];
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
  assert.equal(left, 0, 'containers left');
  assert.deepEqual(cg, [], 'leaked cgroups');
  assert.deepEqual(state, [], 'leaked state directories');
}

export interface LibraryTest {
  dir: string;
  rootfs: string;
  stateRoot: string;
  /** Ids the test made (the teardown also checks them for leaked cgroups). */
  made: Set<string>;
  uniq: (prefix: string) => string;
  /** The file's Berth, made before its tests (with a busybox rootfs), removed and checked after. */
  readonly berth: Berth;
}

/** The usual start of a library test file: a private Berth and rootfs, torn down and checked at the end. */
export function libraryTestBerth(tag: string, short: string): LibraryTest {
  const dir = mkdtempSync(join(tmpdir(), `berth-${tag}-`));
  const rootfs = join(dir, 'rootfs');
  const stateRoot = `/run/berth-${short}${process.pid}`;
  const made = new Set<string>();
  let n = 0;
  let berth: Berth | undefined;
  before(() => {
    mkdirSync(rootfs);
    makeBusyboxRootfs(rootfs);
    berth = new Berth({ root: join(dir, 'root'), stateRoot });
  });
  after(() => removeAllAndCheck(berth!, made, dir, stateRoot));
  return {
    dir, rootfs, stateRoot, made,
    uniq: (p) => `${p}-${process.pid}-${n++}`,
    get berth() {
      return berth!;
    },
  };
}
