// `berth healthcheck run CONTAINER`: one probe of the container's health check (podman's verb;
// the container's monitor runs it on the check's interval). Exit 0 healthy, 1 failed, 125 error.
import { runHealthcheck } from '../../engine/health.js';
import { UsageError } from './flags.js';
import type { Command } from './commands.js';

export const HEALTH_VERBS: Record<string, Command> = {
  healthcheck: {
    usage: 'healthcheck run CONTAINER',
    summary: "Run a container's health check once and record the result",
    flags: [],
    minArgs: 2,
    maxArgs: 2,
    daemonErrorCode: 125,
    async run(ctx, _f, a) {
      if (a[0] !== 'run') throw new UsageError(`unknown healthcheck command "${a[0]}" (berth healthcheck run CONTAINER)`);
      const r = await runHealthcheck(ctx.engine(), a[1]!);
      if (!r.healthy) ctx.out(`${r.state.Status === 'starting' ? 'starting' : 'unhealthy'}\n`);
      return r.healthy ? 0 : 1;
    },
  },
};
