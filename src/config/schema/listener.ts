/**
 * Config layer (schema): `listeners[]` (MOSN `ListenerConfig`, pkg/config/v2/server.go) → a
 * `ListenerDraft`: the typed `ListenerConfig` minus its filters, which the loader resolves through
 * the registries (and `skiff_module`s). Defaults as MOSN: idle timeout 90 s ("0s" disables),
 * per-connection buffer limit 32 KiB. Skiff keys: `max_connections`, `per_connection_buffer_limit_bytes`.
 */
import { z } from 'zod';
import type { AccessLogConfig, Address, ListenerConfig } from '../../api/config.js';
import { tryParseAddress } from '../../base/address.js';
import { duration, ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';
import { filterEntrySchema, type FilterEntry } from './filter.js';
import { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS } from './tls.js';

export const DEFAULT_CONNECTION_IDLE_TIMEOUT_MS = 90_000;
export const DEFAULT_LISTENER_BUFFER_LIMIT_BYTES = 32 * 1024;
/** MOSN's default access-log format (pkg/types/accesslog.go). */
export const DEFAULT_ACCESS_LOG_FORMAT =
  '%start_time% %trace_id%  %connection_id% %upstream_connection_id% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%';

const tlsShape = z.unknown().optional();

const filterChainSchema = z.object({
  ...policyShape('filter_chain'),
  tls_context: tlsShape,
  tls_context_set: tlsShape,
  match: ignored('filter_chains[].match is parsed but unused by MOSN'),
  filters: z.array(filterEntrySchema).default([]),
});

const accessLogSchema = z.object({
  log_path: z.string().min(1, 'an access log needs a log_path (a file, "stdout" or "stderr")'),
  log_format: z.string().default(''),
}).transform((a): AccessLogConfig => ({ path: a.log_path, format: a.log_format.trim() === '' ? DEFAULT_ACCESS_LOG_FORMAT : a.log_format }));

/** The listener as the schema can type it; `filterChains`/`streamFilters`/`listenerFilters` are still raw entries. */
export interface ListenerDraft extends Omit<ListenerConfig, 'filterChains' | 'streamFilters' | 'listenerFilters'> {
  readonly filterChains: readonly (readonly FilterEntry[])[];
  readonly streamFilters: readonly FilterEntry[];
  readonly listenerFilters: readonly FilterEntry[];
  /** `name` was absent: defaulted to the address text. */
  readonly nameDefaulted: boolean;
  /** `bind_port` was absent: MOSN's Go zero value (false, a virtual listener). */
  readonly bindPortDefaulted: boolean;
}

export const listenerSchema = z.object({
  ...policyShape('listener'),
  name: z.string().optional(),
  type: z.string().default(''),
  // Checked here when it can only be host:port (so its error is reported even if a sibling fails);
  // a string without a colon may be a unix path, which depends on `network`: checked below.
  address: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'address must be a string like "127.0.0.1:2045"') })
    .superRefine((s, ctx) => {
      const r = s.includes(':') ? tryParseAddress(s) : undefined;
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
    }),
  network: z.string().default('tcp'),
  bind_port: z.boolean().optional(),
  reuseport: ignored('reuseport (SO_REUSEPORT) is not used: one process binds each listener'),
  default_read_buffer_size: ignored('default_read_buffer_size is a Go read-buffer hint; Node sizes its own reads'),
  log_path: ignored('listener log_path is not used by MOSN'),
  log_level: ignored('listener log_level is not used by MOSN'),
  access_logs: z.array(accessLogSchema).default([]),
  listener_filters: z.array(filterEntrySchema).default([]),
  filter_chains: z.array(filterChainSchema).default([]),
  stream_filters: z.array(filterEntrySchema).default([]),
  connection_idle_timeout: duration().default(DEFAULT_CONNECTION_IDLE_TIMEOUT_MS),
  max_connections: z.number().int().nonnegative().default(0),
  per_connection_buffer_limit_bytes: z.number().int().positive().default(DEFAULT_LISTENER_BUFFER_LIMIT_BYTES),
  inspector: z.boolean().default(false),
  tls_handshake_timeout: duration().default(DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS),
}).transform((l, ctx): ListenerDraft => {
  const network = l.network.toLowerCase();
  let address: Address | string;
  if (network === 'unix') {
    const path = l.address.startsWith('unix:') ? l.address.slice(5) : l.address;
    address = path.trim() === '' ? 'a unix listener needs a socket path' : { kind: 'unix', path, text: `unix:${path}` };
  } else if (network === 'tcp' || network === 'udp') {
    address = tryParseAddress(l.address);
  } else {
    ctx.issues.push({ code: 'custom', message: `unknown network "${l.network}" (want "tcp" or "unix")`, input: l.network, path: ['network'] });
    return z.NEVER;
  }
  if (typeof address === 'string') {
    ctx.issues.push({ code: 'custom', message: address, input: l.address, path: ['address'] });
    return z.NEVER;
  }
  const name = l.name !== undefined && l.name !== '' ? l.name : address.text;
  return {
    name,
    type: l.type,
    address,
    bindPort: l.bind_port ?? false,
    filterChains: l.filter_chains.map((c) => c.filters),
    streamFilters: l.stream_filters,
    listenerFilters: l.listener_filters,
    accessLogs: l.access_logs,
    connectionIdleTimeoutMs: l.connection_idle_timeout,
    maxConnections: l.max_connections,
    bufferLimitBytes: l.per_connection_buffer_limit_bytes,
    // Filled by the loader from filter_chains[0] (it knows the config's directory for certificate paths).
    tls: [],
    inspector: l.inspector,
    tlsHandshakeTimeoutMs: l.tls_handshake_timeout === 0 ? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS : l.tls_handshake_timeout,
    nameDefaulted: name !== l.name,
    bindPortDefaulted: l.bind_port === undefined,
  };
});
