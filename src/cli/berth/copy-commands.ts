// `berth cp`: docker's argument forms (CONTAINER:SRC DEST, SRC CONTAINER:DEST, "-" for a tar
// stream on stdin/stdout), flags and messages over src/engine/copy.ts.
import { archiveFromContainer, copyFromContainer, copyToContainer, extractToContainer } from '../../engine/copy.js';
import type { Command } from './commands.js';
import { UsageError } from './flags.js';

/** docker's splitCpArg: a local path when it starts with / or ., else CONTAINER:PATH when it has a colon. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export const COPY_VERBS: Record<string, Command> = {
  cp: {
    usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    summary: 'Copy files/folders between a container and the local filesystem',
    flags: [
      { name: 'archive', short: 'a', kind: 'bool', help: 'Archive mode (copy all uid/gid information)' },
      { name: 'follow-link', short: 'L', kind: 'bool', help: 'Always follow symbol link in SRC_PATH' },
      { name: 'quiet', short: 'q', kind: 'bool', help: 'Suppress progress output during copy' },
    ],
    minArgs: 2,
    maxArgs: 2,
    async run(ctx, f, a) {
      const src = splitCpArg(a[0]!);
      const dst = splitCpArg(a[1]!);
      const o = { archive: !!f.archive, followLink: !!f['follow-link'] };
      if (src.container && dst.container) throw new UsageError('copying between containers is not supported');
      if (!src.container && !dst.container) throw new UsageError('must specify at least one container source');
      if (src.container) {
        if (!src.path) throw new UsageError('source path cannot be empty');
        if (dst.path === '-') await archiveFromContainer(ctx.engine(), src.container, src.path, process.stdout, o);
        else await copyFromContainer(ctx.engine(), src.container, src.path, dst.path, o);
        return 0;
      }
      if (!dst.path) throw new UsageError('destination path cannot be empty');
      if (src.path === '-') await extractToContainer(ctx.engine(), dst.container!, process.stdin, dst.path, o);
      else await copyToContainer(ctx.engine(), dst.container!, src.path, dst.path, o);
      return 0;
    },
  },
};
