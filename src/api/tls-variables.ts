/**
 * API layer: the TLS access-log / filter variables of a downstream connection (Envoy's
 * `%DOWNSTREAM_PEER_SUBJECT%` family, lower-cased as MOSN writes variables). Plaintext connections
 * read as `undefined` (the access log prints `-`). Shared by the HTTP and RPC streams and `tcp_proxy`.
 */
import type { Connection } from './network.js';

export const TLS_VARIABLES = [
  'downstream_peer_subject', 'downstream_peer_issuer', 'downstream_peer_serial', 'downstream_peer_uri_san',
  'downstream_peer_dns_san', 'downstream_peer_cert_verified', 'downstream_local_subject', 'downstream_tls_version',
  'downstream_tls_cipher', 'downstream_tls_session_resumed', 'requested_server_name', 'downstream_alpn',
] as const;

/** A TLS variable's value on `c`, or undefined (not a TLS variable, or a plaintext connection). */
export function tlsVariable(c: Connection, name: string): string | undefined {
  const t = c.tls;
  if (t === undefined) return undefined;
  switch (name) {
    case 'downstream_peer_subject': return t.peerSubject || undefined;
    case 'downstream_peer_issuer': return t.peerIssuer || undefined;
    case 'downstream_peer_serial': return t.peerSerial || undefined;
    case 'downstream_peer_uri_san': return t.peerUriSan || undefined;
    case 'downstream_peer_dns_san': return t.peerDnsSan || undefined;
    case 'downstream_peer_cert_verified': return t.peerVerified ? 'true' : 'false';
    case 'downstream_local_subject': return t.localSubject || undefined;
    case 'downstream_tls_version': return t.version || undefined;
    case 'downstream_tls_cipher': return t.cipher || undefined;
    case 'downstream_tls_session_resumed': return t.resumed ? 'true' : 'false';
    case 'requested_server_name': return t.sni || undefined;
    case 'downstream_alpn': return t.alpn || undefined;
    default: return undefined;
  }
}
