// The container state machine (docker's states). Transitions not listed are refused, so a
// bug or a race shows up as an error instead of a container in an impossible state.

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead';

export const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'exited', 'dead'];

const LEGAL: Record<ContainerState, readonly ContainerState[]> = {
  created: ['running', 'exited', 'dead'],
  running: ['paused', 'restarting', 'exited', 'dead'],
  paused: ['running', 'exited', 'dead'],
  restarting: ['running', 'exited', 'dead'],
  exited: ['running', 'restarting', 'dead'],
  dead: [],
};

export function canTransition(from: ContainerState, to: ContainerState): boolean {
  return from === to || LEGAL[from].includes(to);
}

export function assertTransition(from: ContainerState, to: ContainerState, id: string): void {
  if (!canTransition(from, to)) throw new Error(`container ${id.slice(0, 12)}: illegal state change ${from} -> ${to}`);
}

/** States in which a monitor process should exist. */
export const LIVE_STATES: readonly ContainerState[] = ['running', 'paused', 'restarting'];
export const isLive = (s: ContainerState) => LIVE_STATES.includes(s);

export function isState(s: string): s is ContainerState {
  return (STATES as readonly string[]).includes(s);
}
