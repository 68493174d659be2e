/**
 * Extension (network filter `tcp_proxy`): config parsing. MOSN's `StreamProxy` (pkg/config/v2/
 * proxy.go) with its Go-field-named route keys, matched case-insensitively by parseWithSchema:
 *
 *   { "stat_prefix": "tcp", "cluster": "c1",                    ← `cluster` set: always used
 *     "routes": [ { "cluster": "c2",                            ← else the first route that matches
 *                   "SourceAddrs": [{"Address":"10.0.0.0","Length":8}], "SourcePort": "1-65535",
 *                   "DestinationAddrs": [...], "DestinationPort": "8080,9000-9100" } ],
 *     "idle_timeout": 90000000000 | "90s",                      ← ns integer (Go *time.Duration) or Go string
 *     "max_connect_attempts": 5 }                               ← MOSN ignores it: 3 distinct hosts, fixed
 *
 * The result is plain JSON data (it is dumped by config_dump); `route-matcher.ts` compiles it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { ParseContext } from '../../../api/extension.js';
import { ConfigError, type ConfigIssue } from '../../../base/errors.js';
import { deepFreeze, duration, ignored, joinPath, parseWithSchema } from '../../../base/schema.js';

export interface CidrRange {
  readonly address: string;
  readonly length: number;
}

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface TcpProxyRouteConfig {
  readonly cluster: string;
  /** Empty = any (MOSN's list matches nothing when empty; Skiff follows Envoy here, see the ADR). */
  readonly sourceAddrs: readonly CidrRange[];
  readonly destinationAddrs: readonly CidrRange[];
  readonly sourcePorts: readonly PortRange[];
  readonly destinationPorts: readonly PortRange[];
}

export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** '' = choose by `routes`. */
  readonly cluster: string;
  readonly routes: readonly TcpProxyRouteConfig[];
  /** 0 = not set: the listener's `connection_idle_timeout` (MOSN default 90 s) applies. */
  readonly idleTimeoutMs: number;
}

const cidrSchema = z.object({ Address: z.string(), Length: z.number().int().nonnegative() });

const routeSchema = z.object({
  cluster: z.string().min(1, 'a route needs a cluster name'),
  SourceAddrs: z.array(cidrSchema).default([]),
  DestinationAddrs: z.array(cidrSchema).default([]),
  SourcePort: z.string().default(''),
  DestinationPort: z.string().default(''),
});

export const tcpProxySchema = z.object({
  stat_prefix: z.string().default(''),
  cluster: z.string().default(''),
  routes: z.array(routeSchema).default([]),
  idle_timeout: duration().optional(),
  max_connect_attempts: ignored('MOSN ignores max_connect_attempts: a connect is tried on up to 3 distinct hosts'),
});

export function parseTcpProxyConfig(raw: unknown, ctx: ParseContext): TcpProxyConfig {
  const v = parseWithSchema(tcpProxySchema, raw ?? {}, ctx);
  const issues: ConfigIssue[] = [];
  const routes = v.routes.map((r, i): TcpProxyRouteConfig => {
    const at = joinPath(joinPath(ctx.path, 'routes'), i);
    return {
      cluster: r.cluster,
      sourceAddrs: cidrs(r.SourceAddrs, joinPath(at, 'SourceAddrs'), issues),
      destinationAddrs: cidrs(r.DestinationAddrs, joinPath(at, 'DestinationAddrs'), issues),
      sourcePorts: ports(r.SourcePort, joinPath(at, 'SourcePort'), issues),
      destinationPorts: ports(r.DestinationPort, joinPath(at, 'DestinationPort'), issues),
    };
  });
  if (v.cluster === '' && routes.length === 0) {
    issues.push({ path: ctx.path, message: 'tcp_proxy needs "cluster" or at least one entry in "routes"' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze({ statPrefix: v.stat_prefix, cluster: v.cluster, routes, idleTimeoutMs: v.idle_timeout ?? 0 });
}

function cidrs(list: readonly { Address: string; Length: number }[], path: string, issues: ConfigIssue[]): CidrRange[] {
  const out: CidrRange[] = [];
  list.forEach((c, i) => {
    const family = isIP(c.Address);
    const at = joinPath(path, i);
    if (family === 0) {
      issues.push({ path: joinPath(at, 'Address'), message: `"${c.Address}" is not an IPv4 or IPv6 address` });
      return;
    }
    const maxLen = family === 4 ? 32 : 128;
    if (c.Length > maxLen) {
      issues.push({ path: joinPath(at, 'Length'), message: `prefix length ${c.Length} is over ${maxLen} for an IPv${family} address` });
      return;
    }
    out.push({ address: c.Address, length: c.Length });
  });
  return out;
}

/** MOSN's port list: comma-separated `port` or `lo-hi` items. */
function ports(text: string, path: string, issues: ConfigIssue[]): PortRange[] {
  const out: PortRange[] = [];
  if (text.trim() === '') return out;
  for (const item of text.split(',')) {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(item);
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min > 65535 || max > 65535 || min > max) {
      issues.push({ path, message: `invalid port range "${item.trim()}" (use "8080" or "1000-2000", comma-separated)` });
      continue;
    }
    out.push({ min, max });
  }
  return out;
}
