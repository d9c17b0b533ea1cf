// `berth version`: in a module of its own so that main.ts runs it without loading the other
// verbs or the engine (the whole CLI start is the command's time; scripts/bundle-cli.mjs).
import type { Command } from './commands.js';
import { str, type FlagDef } from './flags.js';
import { template } from './format.js';

const FORMAT_FLAG: FlagDef = { name: 'format', short: 'f', kind: 'string', help: "Format output using a custom template: 'json', 'table', 'table TEMPLATE' or a Go template" };

export const VERSION_COMMAND: Command = {
  usage: 'version [OPTIONS]',
  summary: 'Show the berth version information',
  flags: [FORMAT_FLAG],
  maxArgs: 0,
  async run(ctx, f) {
    const v = { Client: { Version: ctx.version, ApiVersion: '1.43', GoVersion: `node ${process.version}`, Os: 'linux', Arch: process.arch === 'x64' ? 'amd64' : process.arch, Engine: 'berth (daemonless)' } };
    const fmt = str(f, 'format');
    if (fmt === 'json') ctx.out(JSON.stringify(v) + '\n');
    else if (fmt) ctx.out(template(fmt)(v) + '\n');
    else ctx.out(`Client: berth\n Version:           ${ctx.version}\n API version:       1.43 (Docker Engine API, not served yet)\n Node.js version:   ${process.version}\n OS/Arch:           linux/${v.Client.Arch}\n Engine:            daemonless (one berth-monitor per container)\n`);
    return 0;
  },
};
