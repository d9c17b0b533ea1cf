// `berth exec`: runs a process in a running container, docker's flags and exit codes (the
// process's status; 126 not executable, 127 not found, both with docker's message).
// The shim is started first, with the stdio it will keep: its start-up (exec, re-exec from its
// sealed copy) overlaps the store's opening and the container's lookup, and it then waits for
// the plan. Without -t the process's stdio is this CLI's own (inherited, nothing relayed); -it
// on a terminal is relayed by this CLI, which watches for the detach keys (exec-relay.ts).
import { readFileSync } from 'node:fs';
import { isEngineError } from '../../engine/errors.js';
import { startShim, type Stdio } from '../../engine/shim.js';
import { parseEnvFile } from '../../engine/units.js';
import type { Command } from './commands.js';
import { detachKeys } from './detach-keys.js';
import { relayTerminal, terminalSize } from './exec-relay.js';
import { bool, list, str } from './flags.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export const EXEC_COMMAND: Command = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  summary: 'Execute a command in a running container',
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', help: 'Detached mode: run command in the background' },
    { name: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', kind: 'list', help: 'Set environment variables' },
    { name: 'env-file', kind: 'list', help: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', kind: 'bool', help: 'Keep STDIN open even if not attached' },
    { name: 'privileged', kind: 'bool', help: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', kind: 'string', help: 'Working directory inside the container' },
  ],
  interspersed: false,
  minArgs: 2,
  lazyReconcile: true, // only the container it runs in, refreshed on lookup
  async run(ctx, f, a) {
    const env: string[] = [];
    for (const file of list(f, 'env-file')) env.push(...parseEnvFile(readFileSync(file, 'utf8')));
    env.push(...list(f, 'env'));
    const keys = detachKeys(str(f, 'detach-keys')); // checked even where unused, as it enters
    const detach = bool(f, 'detach');
    const tty = bool(f, 'tty') && !detach;
    // -it on a terminal: relayed through this CLI, which sees the typed detach keys; the shim,
    // started by the engine, gets pipes and a size socket (as for the library)
    // (node:tty only then: it loads node's net module, a cost for every other exec)
    const relay = tty && bool(f, 'interactive') && (await import('node:tty')).isatty(0);
    const stdio: [Stdio, Stdio, Stdio] = relay ? ['pipe', 'pipe', 'inherit'] : [bool(f, 'interactive') || tty ? 'inherit' : 'ignore', 'inherit', 'inherit'];
    const shim = relay ? undefined : startShim(detach ? 'ignore' : stdio);
    const size = relay ? terminalSize() : undefined;
    let r;
    try {
      r = await ctx.engine().exec(a[0]!, {
        cmd: a.slice(1), env, tty, detach, privileged: bool(f, 'privileged'), stdio, ...(shim ? { shim } : {}), ...(size ? { size } : {}),
        ...(str(f, 'user') ? { user: str(f, 'user')! } : {}), ...(str(f, 'workdir') ? { workdir: str(f, 'workdir')! } : {}),
      });
    } catch (e) {
      shim?.abort(); // no plan came: it has done nothing
      if (isEngineError(e, 'commandnotfound') || isEngineError(e, 'notexecutable')) {
        ctx.err(`OCI runtime exec failed: exec failed: unable to start container process: ${(e as Error).message}: unknown\n`);
        return isEngineError(e, 'commandnotfound') ? 127 : 126;
      }
      throw e;
    }
    if (detach) return 0;
    if (relay) {
      const res = await relayTerminal(r, keys, (m) => ctx.err(m));
      return res === 'detached' ? 0 : res;
    }
    const fwd = (sig: NodeJS.Signals) => {
      try {
        process.kill(r.pid, sig);
      } catch {
        /* gone */
      }
    };
    if (!tty) for (const s of FORWARDED) process.on(s, fwd);
    // the shim is in a session of its own, so the terminal's SIGWINCH reaches only this CLI:
    // pass it on, and the shim sets the container's terminal to the new size
    const winch = () => void r.shim.kill('SIGWINCH');
    if (tty) {
      process.on('SIGWINCH', winch);
      // the command may have run (and the terminal been resized) before this handler was there:
      // a SIGWINCH then went nowhere; one now makes the shim read the size as it is
      winch();
    }
    const code = await r.exit;
    for (const s of FORWARDED) process.off(s, fwd);
    process.off('SIGWINCH', winch);
    return code;
  },
};
