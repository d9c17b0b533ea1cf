// Runs the host tools storage needs off the hot path (mkfs.ext4, mount -o loop, btrfs, cp).
import { execFile } from 'node:child_process';
import { StorageError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs cmd with args; rejects with a StorageError carrying the tool's stderr. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 16 << 20, timeout: opts.timeoutMs ?? 120_000, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why = code === 'ENOENT' ? `${cmd} is not installed` : (stderr.trim() || err.message).split('\n').slice(-3).join('; ');
          reject(new StorageError(code === 'ENOENT' ? 'UNSUPPORTED' : 'IO', `${cmd} ${args.join(' ')}: ${why}`, { cause: err }));
        } else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
