// The "container process state" a runtime sends to a seccomp agent with the notify fd
// (runtime-spec runtime.md, config-linux.md linux.seccomp.listenerPath). berth writes the JSON;
// the shim only substitutes the host pid, which it learns after berth compiled the plan.
import { randomBytes } from 'node:crypto';
import { OCI_VERSION, type State } from '../spec/types.js';

/** The byte the shim replaces by the process's host pid (JSON.stringify never emits it raw). */
export const PID_MARK = '\x01';

/**
 * The message for the listener: { ociVersion, fds: ["seccompFd"], pid, metadata?, state }.
 * pid is the process that loaded the filter; for a new container it is also state.pid.
 */
export function listenerStateTemplate(state: Omit<State, 'pid'> & { pid?: number }, metadata: string | undefined, opts: { statePidIsProcess: boolean }): string {
  // a random token stands for the pid while stringifying, then becomes the mark
  const token = `berth-pid-${randomBytes(12).toString('hex')}`;
  const st = { ...state, ...(opts.statePidIsProcess ? { pid: token } : {}) };
  const msg = {
    ociVersion: state.ociVersion || OCI_VERSION,
    fds: ['seccompFd'],
    pid: token,
    ...(metadata ? { metadata } : {}),
    state: st,
  };
  return JSON.stringify(msg).split(JSON.stringify(token)).join(PID_MARK);
}
