// Where the engine keeps things.
//   <root>        (/var/lib/berth, --root, BERTH_ROOT): berth.db, containers/<id>/ (logs,
//                 hosts, hostname, resolv.conf), volumes/<name>/_data, seccomp/ (compiled BPF)
//   <stateRoot>   (/run/berth, --state-root, BERTH_STATE_ROOT): per running container
//                 containers/<id>/ (plan, pid, exit, attach.sock) -- gone after a reboot
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/berth';
export const DEFAULT_STATE_ROOT = '/run/berth';

export class Paths {
  constructor(readonly root: string, readonly stateRoot: string) {}

  containerDir(id: string): string {
    return join(this.root, 'containers', id);
  }
  /** The log file, named for its format (-json.log, -cri.log); a CRI log made before the rename keeps its -json.log. */
  logPath(id: string, format: string = 'json-file'): string {
    const json = join(this.containerDir(id), `${id}-json.log`);
    if (format !== 'cri' || existsSync(json)) return json;
    return join(this.containerDir(id), `${id}-cri.log`);
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
