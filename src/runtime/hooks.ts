// OCI hooks run by berth itself, in the runtime namespace: prestart, createRuntime, poststart,
// poststop. (createContainer and startContainer run inside the container, from the shim.)
import { spawn } from 'node:child_process';
import type { Hook } from '../spec/types.js';
import { RuntimeError } from './errors.js';

export function runHook(hook: Hook, stateJson: string, kind: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = hook.args?.length ? hook.args : [hook.path];
    const env: Record<string, string> = {};
    for (const e of hook.env ?? []) {
      const i = e.indexOf('=');
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
    const child = spawn(hook.path, args.slice(1), { argv0: args[0]!, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let timedOut = false;
    const timer = hook.timeout ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, hook.timeout * 1000) : null;
    child.stdin.on('error', () => {});
    child.stdin.end(stateJson);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new RuntimeError(`${kind} hook ${hook.path}: ${e.message}`));
    });
    // At 'exit' the hook's output (its error message) may still be unread: wait for 'close', but
    // not for long, as a process the hook left running may hold the pipes open.
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      clearTimeout(grace);
      if (timedOut) return reject(new RuntimeError(`${kind} hook ${hook.path} timed out after ${hook.timeout} s`));
      if (code === 0) return resolve();
      const why = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      reject(new RuntimeError(`${kind} hook ${hook.path} ${why}${out.trim() ? `: ${out.trim()}` : ''}`));
    };
    child.on('close', finish);
    child.on('exit', (code, sig) => {
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, sig);
      }, 200);
    });
  });
}

/** Runs hooks in order; the first failure stops the rest and is thrown. */
export async function runHooks(hooks: Hook[] | undefined, stateJson: string, kind: string): Promise<void> {
  for (const h of hooks ?? []) await runHook(h, stateJson, kind);
}

/** Runs every hook; failures are reported as warnings (poststart, poststop). */
export async function runHooksWarn(hooks: Hook[] | undefined, stateJson: string, kind: string, warn: (m: string) => void): Promise<void> {
  for (const h of hooks ?? []) {
    try {
      await runHook(h, stateJson, kind);
    } catch (e) {
      warn((e as Error).message);
    }
  }
}
