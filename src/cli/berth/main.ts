// `berth`: a docker-compatible command line over the engine. Exit codes as docker's: 125 for
// berth's own errors (bad flags, a name in use, a missing rootfs), 126/127 when the container's
// command cannot be run / found, else the container's status; other verbs exit 1 on failure.
// Start-up is most of a short command's time, so this module loads only what every command
// needs; the verbs' tables and the engine (verbs.ts) load with `await import` when a verb other
// than `version` runs (each `await import` is a chunk of the bundle: scripts/bundle-cli.mjs).
import type { Command, Ctx } from './commands.js';
import type { Engine } from '../../engine/engine.js';
import type { ProgressRenderer } from '../../image/registry/progress.js';
import { flagHelp, parseArgs, UsageError, type FlagDef } from './flags.js';
import { EngineError } from '../../engine/errors.js';
import { VERSION_COMMAND } from './version-command.js';
import { err as stderr, out as stdout } from '../stdio.js';
import { noteCommand, notePull } from './hot-command.js';

export { warmCacheWanted } from './hot-command.js';
export { awaitPrestartedCommand, reportPrestartedExit } from './prestarted.js';

export const VERSION = '0.1.0';

const GLOBAL: FlagDef[] = [
  { name: 'root', kind: 'string', help: 'Root directory of persistent data (containers, volumes, logs)', default: '"/var/lib/berth", env BERTH_ROOT' },
  { name: 'state-root', kind: 'string', help: 'Directory of runtime state (monitors, attach sockets)', default: '"/run/berth", env BERTH_STATE_ROOT' },
  { name: 'debug', short: 'D', kind: 'bool', help: 'Enable debug mode' },
  { name: 'help', kind: 'bool', help: 'Print usage' },
  { name: 'version', short: 'v', kind: 'bool', help: 'Print version information and quit' },
];

const ALIASES: Record<string, string> = { ls: 'ps', list: 'ps', remove: 'rm' };
const VOLUME_ALIASES: Record<string, string> = { list: 'ls', remove: 'rm' };
const HELP: FlagDef = { name: 'help', kind: 'bool', help: 'Print usage' };

function mainHelp(COMMANDS: Record<string, Command>): string {
  const cmds = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join('\n');
  return `
Usage:  berth [OPTIONS] COMMAND

OS-level virtualization: docker's commands, daemonless (one small monitor per container)

Commands:
${cmds}

Management Commands:
  container  Manage containers (berth container ls|run|rm|...)
  image      Manage images (ls, inspect, history, tag, rm, prune, pull, push, load, save, import)
  volume     Manage volumes (create, ls, inspect, rm, prune)
  network    Manage networks (create, ls, inspect, rm, prune, connect, disconnect)
  system     Manage berth (info, df, prune, events, restore)

Global Options:
${flagHelp(GLOBAL)}

Run 'berth COMMAND --help' for more information on a command.
`;
}

// `invokedAs`: docker names the command as typed under its group ("container ls", not "ps")
function commandHelp(name: string, c: Command, invokedAs?: string): string {
  const usage = invokedAs ? `${invokedAs}${c.usage.replace(/^\S+/, '')}` : c.usage;
  return `
Usage:  berth ${usage}

${c.summary}
${c.flags.length ? `\nOptions:\n${flagHelp(c.flags)}\n` : ''}`;
}

function groupHelp(group: string, cmds: Record<string, Command>): string {
  return `
Usage:  berth ${group} COMMAND

Commands:
${Object.entries(cmds).filter(([n]) => n !== 'cleanup').map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join('\n')}

Run 'berth ${group} COMMAND --help' for more information on a command.
`;
}

/**
 * keepStoreOpen: bin/berth exits the process right after, without closing the store, so
 * SQLite neither checkpoints the WAL nor deletes it (two fsyncs per command, and a third to
 * create it again on the next command); a WAL left behind is what any killed CLI leaves, and
 * SQLite's own auto-checkpoint keeps it small.
 */
export async function main(argv: string[], o: { keepStoreOpen?: boolean } = {}): Promise<number> {
  const out = stdout; // write(2): no stream built for a short command (../stdio.ts)
  const err = stderr;
  let cmdName = '';
  let cmd: Command | undefined;
  let engine: Engine | undefined;
  let progress: ProgressRenderer | undefined;
  let tables: typeof import('./verbs.js') | undefined;
  try {
    // global flags, up to the command
    let i = 0;
    const globalArgs: string[] = [];
    while (i < argv.length && argv[i]!.startsWith('-')) {
      const a = argv[i]!;
      globalArgs.push(a);
      const def = GLOBAL.find((d) => a === `--${d.name}` || (d.short && a === `-${d.short}`));
      if (def && def.kind !== 'bool' && !a.includes('=')) globalArgs.push(argv[++i] ?? '');
      i++;
    }
    const g = parseArgs(globalArgs, GLOBAL, true).flags;
    if (g.version) {
      out(`berth version ${VERSION}\n`);
      return 0;
    }
    let rest = argv.slice(i);
    // `berth version`: nothing else to load (see the top of this file)
    const fast = !g.help && rest[0] === 'version' ? VERSION_COMMAND : undefined;
    tables = fast ? undefined : await import('./verbs.js');
    const { COMMANDS, SYSTEM_COMMANDS, VOLUME_COMMANDS, IMAGE_COMMANDS, NETWORK_COMMANDS } = tables ?? ({} as NonNullable<typeof tables>);
    if (g.help || rest.length === 0 || rest[0] === 'help') {
      out(mainHelp(COMMANDS));
      return 0;
    }
    let path = rest[0]!;
    let table: Record<string, Command> = COMMANDS;
    if (fast) {
      // the same command object as COMMANDS.version (commands.ts)
    } else if (path === 'container') {
      rest = rest.slice(1);
      if (!rest.length || rest[0] === '--help') {
        out(groupHelp('container', COMMANDS));
        return 0;
      }
      path = rest[0]!;
    } else if (path === 'volume' || path === 'system' || path === 'image' || path === 'network') {
      table = path === 'volume' ? VOLUME_COMMANDS : path === 'image' ? IMAGE_COMMANDS : path === 'network' ? NETWORK_COMMANDS : SYSTEM_COMMANDS;
      const group = path;
      rest = rest.slice(1);
      if (!rest.length || rest[0] === '--help') {
        out(groupHelp(group, table));
        return 0;
      }
      path = `${group} ${rest[0]}`;
      rest = [(group !== 'system' ? VOLUME_ALIASES[rest[0]!] : undefined) ?? rest[0]!, ...rest.slice(1)];
    }
    const sub = rest[0]!;
    cmdName = path;
    noteCommand(path);
    cmd = fast ?? table[table === COMMANDS ? (ALIASES[sub] ?? sub) : sub];
    if (!cmd) {
      err(`berth: '${path}' is not a berth command.\nSee 'berth --help'\n`);
      return 125;
    }
    const parsed = parseArgs(rest.slice(1), [...cmd.flags, HELP], cmd.interspersed ?? true);
    if (parsed.flags.help) {
      out(commandHelp(cmdName, cmd, argv.slice(i)[0] === 'container' && !fast ? `container ${sub}` : undefined));
      return 0;
    }
    const n = parsed.args.length;
    if ((cmd.minArgs !== undefined && n < cmd.minArgs) || (cmd.maxArgs !== undefined && n > cmd.maxArgs)) {
      const want = cmd.maxArgs === 0 ? 'no arguments' : cmd.minArgs === cmd.maxArgs ? `exactly ${cmd.minArgs} argument${cmd.minArgs === 1 ? '' : 's'}` : n < (cmd.minArgs ?? 0) ? `at least ${cmd.minArgs} argument${cmd.minArgs === 1 ? '' : 's'}` : `at most ${cmd.maxArgs} argument${cmd.maxArgs === 1 ? '' : 's'}`;
      err(`"berth ${cmdName}" requires ${want}.\nSee 'berth ${cmdName} --help'.\n\nUsage:  berth ${cmd.usage}\n\n${cmd.summary}\n`);
      return 125;
    }
    const root = (g.root as string | undefined) ?? process.env.BERTH_ROOT;
    const stateRoot = (g['state-root'] as string | undefined) ?? process.env.BERTH_STATE_ROOT;
    const debug = !!g.debug;
    const ctx: Ctx = {
      version: VERSION,
      ...(root ? { root } : {}),
      out,
      err,
      engine: () => {
        if (!engine) {
          const { Engine, ProgressRenderer } = tables!; // `version` never gets here
          // the store (better-sqlite3) opens only when a command needs it
          engine = new Engine({ ...(root ? { root } : {}), ...(stateRoot ? { stateRoot } : {}), warn: (m: string) => err(`WARNING: ${m}\n`),
            pullLog: (m: string) => {
              notePull(); // no warm code cache from this command (hot-command.ts)
              err(m);
            },
            pullProgress: (ev) => {
              progress ??= new ProgressRenderer(process.stderr);
              progress.callback(ev);
            },
          });
          if (!cmd?.lazyReconcile) engine.reconcile();
          if (debug) err(`berth: debug: store ${engine.store.path}\n`);
        }
        return engine;
      },
    };
    return await cmd.run(ctx, parsed.flags, parsed.args);
  } catch (e) {
    // a flag value the engine refused reads as docker's flag error too: no "Error:" prefix
    const flagError = e instanceof EngineError && e.kind === 'invalid' && !!cmd?.daemonErrorCode && /^invalid argument "[^]*" for "[^"]+" flag: /.test(e.message);
    if (e instanceof UsageError || flagError) {
      err(`${e.message}\nSee 'berth ${cmdName || ''}${cmdName ? ' ' : ''}--help'.\n`.replace("'berth --help'", "'berth --help'"));
      return 125;
    }
    if (e instanceof EngineError) {
      if (cmd?.daemonErrorCode) {
        err(`berth: Error: ${e.message}\nSee 'berth ${cmdName} --help'.\n`);
        return (cmdName === 'run' || cmdName === 'start') && tables ? tables.startFailureCode(e) : cmd.daemonErrorCode === 126 ? 126 : 125;
      }
      err(`Error: ${e.message}\n`);
      return 1;
    }
    if ((e as Error)?.name === 'TemplateError') {
      const te = e as Error & { exitCode?: number; prefix?: string };
      err(`${te.prefix ?? 'template parsing error'}: ${te.message}\n`);
      return te.exitCode ?? 125; // list verbs: 1, as docker's formatter (format.ts)
    }
    err(`berth: ${(e as Error)?.stack ?? String(e)}\n`);
    return 125;
  } finally {
    await engine?.flush().catch(() => {});
    if (!o.keepStoreOpen) engine?.close();
  }
}
