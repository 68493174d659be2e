/**
 * Proxy layer: MOSN's variables (reference §3.7) as one stream exposes them, for access logs,
 * `%var%` header values and `variables` route matching. Unknown names give undefined.
 */
import { tlsVariable } from '../../api/tls-variables.js';
import { hostPort } from '../../base/address.js';
import { formatMosnTime } from '../../base/duration.js';
import type { ActiveStream } from './active-stream.js';

export function streamVariable(s: ActiveStream, name: string): string | undefined {
  switch (name) {
    case 'x-mosn-host': case 'authority': return s.host;
    case 'x-mosn-path': case 'Http1_request_path': return s.path;
    case 'x-mosn-path-original': return s.rawPath;
    case 'x-mosn-method': case 'Http1_request_method': return s.method;
    case 'x-mosn-querystring': return s.query;
    case 'x-mosn-scheme': return 'http';
    case 'Http1_request_uri': return s.query === '' ? s.rawPath : `${s.rawPath}?${s.query}`;
    case 'protocol': return s.downstreamProtocol;
    case 'start_time': return formatMosnTime(s.startMs);
    case 'duration': case 'request_finished_duration': return `${Date.now() - s.startMs}ms`;
    case 'response_code': case 'x-mosn-status': return s.responseCode === 0 ? undefined : String(s.responseCode);
    case 'response_flag': case 'response_flags': return s.responseFlag === '' ? '-' : s.responseFlag;
    case 'bytes_received': return String(s.bytesReceived);
    case 'bytes_sent': return String(s.bytesSent);
    case 'upstream_host': return s.upstreamHost?.addressText;
    case 'upstream_cluster': return s.clusterName === '' ? undefined : s.clusterName;
    case 'route_name': return s.routeName === '' ? undefined : s.routeName;
    case 'stream_id': return String(s.id);
    case 'listener_name': return s.listenerName;
    case 'connection_id': return String(s.downstreamConnection.id);
    case 'downstream_remote_address': { const c = s.downstreamConnection; return hostPort(c.remoteAddress, c.remotePort); }
    case 'downstream_local_address': { const c = s.downstreamConnection; return hostPort(c.localAddress, c.localPort); }
    case 'upstream_local_address': { const c = s.upstreamConnection; return c === undefined ? undefined : hostPort(c.localAddress, c.localPort); }
  }
  if (name.startsWith('request_header_')) return s.headers.get(name.slice(15));
  const tls = tlsVariable(s.downstreamConnection, name);
  if (tls !== undefined) return tls;
  if (name.startsWith('Http1_request_header_')) return s.headers.get(name.slice(21));
  if (name.startsWith('Http1_request_arg_')) return queryArg(s.query, name.slice(18));
  return undefined;
}

function queryArg(query: string, key: string): string | undefined {
  if (query === '') return undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k === key) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}
