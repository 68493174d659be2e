/**
 * Test fake: a whole Skiff `Server` in the test process, started from a MOSN-shaped config document
 * (listeners on port 0, clusters, routers), for the HTTP/1 proxy tests. `l7Document` builds the common
 * shape: one `proxy` listener named "proxy" routing by `routers` to clusters of real origins.
 */
import type { Registries } from '../../src/api/registry.js';
import { loadConfigDocument } from '../../src/config/loader.js';
import { createBuiltinRegistries } from '../../src/registry/registries.js';
import { Server } from '../../src/server/server.js';

export interface SkiffInProcess {
  readonly server: Server;
  /** Bound TCP port of a listener (default "proxy"). */
  port(listener?: string): number;
  close(): Promise<void>;
}

/** Starts a server from a config document (JSON-shaped object). Throws on a config error. */
export async function startSkiff(doc: unknown, baseDir = process.cwd(), registries: Registries = createBuiltinRegistries()): Promise<SkiffInProcess> {
  const load = await loadConfigDocument(doc, { registries, baseDir });
  const server = await Server.start(load, { registries, baseDir });
  return {
    server,
    port(listener = 'proxy'): number {
      const text = server.listenerAddress(listener);
      if (text === undefined) throw new Error(`no listener "${listener}"`);
      return Number(text.slice(text.lastIndexOf(':') + 1));
    },
    close: () => server.stopNow(),
  };
}

export interface L7DocumentOptions {
  /** name → origin addresses ("127.0.0.1:1234"). */
  readonly clusters: Readonly<Record<string, readonly string[]>>;
  /** MOSN `virtual_hosts`; default: one "*" host routing every path to the first cluster. */
  readonly virtualHosts?: readonly unknown[];
  /** Merged into the proxy filter config (e.g. `extend_config`). */
  readonly proxy?: Readonly<Record<string, unknown>>;
  /** Merged into every cluster (e.g. `lb_type`, `connect_timeout`). */
  readonly cluster?: Readonly<Record<string, unknown>>;
  /** Merged into the listener (e.g. `access_logs`). */
  readonly listener?: Readonly<Record<string, unknown>>;
  /** Log level (default "error" to keep test output quiet). */
  readonly logLevel?: string;
}

export function l7Document(o: L7DocumentOptions): Record<string, unknown> {
  const first = Object.keys(o.clusters)[0] ?? 'origin';
  return {
    servers: [{
      default_log_path: 'stderr',
      default_log_level: o.logLevel ?? 'ERROR',
      routers: [{
        router_config_name: 'r1',
        virtual_hosts: o.virtualHosts ?? [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: first } }] }],
      }],
      listeners: [{
        name: 'proxy',
        address: '127.0.0.1:0',
        bind_port: true,
        filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', router_config_name: 'r1', ...o.proxy } }] }],
        ...o.listener,
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(o.clusters).map(([name, hosts]) => ({
        name,
        type: 'SIMPLE',
        lb_type: 'LB_ROUNDROBIN',
        hosts: hosts.map((address) => ({ address })),
        ...o.cluster,
      })),
    },
  };
}
