// Test bundles: a busybox-static rootfs (Debian's busybox-static) and a config.json from the
// default spec, in a unique temp directory that the test removes.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Spec } from '../../src/spec/types.js';

export const BUSYBOX = '/bin/busybox';
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BERTH_OCI = join(REPO, 'bin', 'berth-oci');

let applets: string[] | undefined;

/** Lays a busybox rootfs into dir. */
export function makeBusyboxRootfs(dir: string): void {
  if (!existsSync(BUSYBOX)) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'var', 'run', 'home']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  applets ??= execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
}

export interface Bundle {
  dir: string;
  rootfs: string;
  id: string;
  root: string;
  spec: Spec;
  write(): void;
  cleanup(): void;
}

let counter = 0;

/** A fresh bundle with a unique id and its own --root state directory. */
export function makeBundle(args: string[] = ['true'], edit?: (s: Spec) => void): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  makeBusyboxRootfs(rootfs);
  const spec = defaultSpec({ args });
  spec.process!.terminal = false;
  spec.root = { path: 'rootfs', readonly: false };
  edit?.(spec);
  const id = `bt-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const b: Bundle = {
    dir, rootfs, id, root: join(dir, 'state'), spec,
    write: () => writeFileSync(join(dir, 'config.json'), JSON.stringify(b.spec, null, 2)),
    cleanup: () => {
      spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, 'delete', '--force', id], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  b.write();
  return b;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs berth-oci with --root of the bundle. */
export function oci(b: Pick<Bundle, 'root'>, args: string[], opts: { input?: string; timeout?: number; cwd?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [BERTH_OCI, '--root', b.root, ...args], {
    encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 30000, cwd: opts.cwd,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** berth-oci run in the foreground; returns its output and status. */
export function runIn(b: Bundle, opts: { input?: string } = {}): RunResult {
  b.write();
  return oci(b, ['run', '--bundle', b.dir, b.id], opts);
}
