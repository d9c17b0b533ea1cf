// Where the engine keeps things.
//   <root>        (/var/lib/berth, --root, BERTH_ROOT): berth.db, containers/<id>/ (logs,
//                 hosts, hostname, resolv.conf), volumes/<name>/_data, seccomp/ (compiled BPF)
//   <stateRoot>   (/run/berth, --state-root, BERTH_STATE_ROOT): per running container
//                 containers/<id>/ (plan, pid, exit, attach.sock) -- gone after a reboot
import { join } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/berth';
export const DEFAULT_STATE_ROOT = '/run/berth';

export class Paths {
  constructor(readonly root: string, readonly stateRoot: string) {}

  containerDir(id: string): string {
    return join(this.root, 'containers', id);
  }
  logPath(id: string): string {
    return join(this.containerDir(id), `${id}-json.log`);
  }
  hostsPath(id: string): string {
    return join(this.containerDir(id), 'hosts');
  }
  hostnamePath(id: string): string {
    return join(this.containerDir(id), 'hostname');
  }
  resolvConfPath(id: string): string {
    return join(this.containerDir(id), 'resolv.conf');
  }
  stateDir(id: string): string {
    return join(this.stateRoot, 'containers', id);
  }
  volumesDir(): string {
    return join(this.root, 'volumes');
  }
  volumeData(name: string): string {
    return join(this.root, 'volumes', name, '_data');
  }
  seccompCache(): string {
    return join(this.root, 'seccomp');
  }
}
