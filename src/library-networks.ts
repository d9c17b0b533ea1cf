// The library's network API (`berth.networks`), the CLI's `berth network ...` with typed
// options; results are docker's shapes (network inspect JSON, ls rows).
import type { Engine } from './engine/engine.js';
import { networkRow, type ConnectOptions, type NetworkCreateOptions, type NetworkFilters } from './engine/networks.js';
import type { PortMapping } from './network/ports.js';

export type { NetworkCreateOptions, PortMapping };
export type NetworkConnectOptions = ConnectOptions;
/** A `network ls` row: ID (full), Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt. */
export type NetworkSummary = Record<string, unknown>;

export class BerthNetworks {
  constructor(private readonly engine: Engine) {}

  /** `network create`: returns docker's inspect JSON of the new network. */
  async create(o: NetworkCreateOptions): Promise<Record<string, unknown>> {
    const n = await this.engine.networks.create(o);
    return this.engine.networks.inspect(n.id);
  }
  list(filters: NetworkFilters = {}): NetworkSummary[] {
    return this.engine.networks.list(filters).map((n) => networkRow(n, true));
  }
  inspect(ref: string): Record<string, unknown> {
    return this.engine.networks.inspect(ref);
  }
  remove(ref: string): Promise<void> {
    return this.engine.networks.remove(ref);
  }
  /** Removes networks without containers; returns their names. */
  prune(filters: NetworkFilters = {}): Promise<string[]> {
    return this.engine.networks.prune(filters);
  }
  connect(network: string, container: string, o: NetworkConnectOptions = {}): Promise<void> {
    return this.engine.networks.connect(network, container, o);
  }
  disconnect(network: string, container: string, o: { force?: boolean } = {}): Promise<void> {
    return this.engine.networks.disconnect(network, container, o);
  }
}
