/**
 * Extension (network filter `tcp_proxy`): compiles the parsed routes once per listener apply
 * (`create`), into `net.BlockList`s and port ranges, and matches a new connection's source and
 * destination against them. An empty list matches anything. IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`, what a dual-stack listener reports) are matched as IPv4.
 */
import { BlockList, isIP } from 'node:net';
import type { Connection } from '../../../api/network.js';
import type { ClusterHandle, ClusterManager } from '../../../api/upstream.js';
import type { CidrRange, PortRange, TcpProxyRouteConfig } from './config.js';

export interface CompiledRoute {
  readonly handle: ClusterHandle;
  readonly source: BlockList | undefined;
  readonly destination: BlockList | undefined;
  readonly sourcePorts: readonly PortRange[];
  readonly destinationPorts: readonly PortRange[];
}

export function compileRoutes(routes: readonly TcpProxyRouteConfig[], clusterManager: ClusterManager): CompiledRoute[] {
  return routes.map((r) => ({
    handle: clusterManager.handle(r.cluster),
    source: blockList(r.sourceAddrs),
    destination: blockList(r.destinationAddrs),
    sourcePorts: r.sourcePorts,
    destinationPorts: r.destinationPorts,
  }));
}

/** The first route whose four conditions all hold for this connection. */
export function matchRoute(routes: readonly CompiledRoute[], conn: Connection): CompiledRoute | undefined {
  for (const r of routes) {
    if (!addressIn(r.source, conn.remoteAddress)) continue;
    if (!portIn(r.sourcePorts, conn.remotePort)) continue;
    if (!addressIn(r.destination, conn.localAddress)) continue;
    if (!portIn(r.destinationPorts, conn.localPort)) continue;
    return r;
  }
  return undefined;
}

function blockList(ranges: readonly CidrRange[]): BlockList | undefined {
  if (ranges.length === 0) return undefined;
  const list = new BlockList();
  for (const c of ranges) list.addSubnet(c.address, c.length, isIP(c.address) === 6 ? 'ipv6' : 'ipv4');
  return list;
}

function addressIn(list: BlockList | undefined, address: string): boolean {
  if (list === undefined) return true;
  let a = address;
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  const family = isIP(a);
  if (family === 0) return false; // unix peers have no IP: a non-empty list cannot match
  return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

function portIn(ranges: readonly PortRange[], port: number): boolean {
  if (ranges.length === 0) return true;
  if (port === 0) return false;
  for (const r of ranges) if (port >= r.min && port <= r.max) return true;
  return false;
}
