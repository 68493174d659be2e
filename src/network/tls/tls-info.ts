/**
 * Network layer (TLS): `ConnectionTlsInfo` read off a `TLSSocket`, once, when first asked (access-log
 * variables, filters). The peer certificate is parsed by Node only on that first read.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { ConnectionTlsInfo } from '../../api/network.js';

function dn(name: unknown): string {
  if (typeof name !== 'object' || name === null) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(name as Record<string, string | string[]>)) {
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}=${one}`);
  }
  return parts.join(',');
}

/** `DNS:a, URI:spiffe://…, IP Address:…` → the values of one kind, comma-joined. */
export function sansOf(subjectaltname: string | undefined, kind: 'DNS' | 'URI' | 'IP Address'): string {
  if (subjectaltname === undefined || subjectaltname === '') return '';
  const out: string[] = [];
  for (const entry of subjectaltname.split(', ')) {
    const colon = entry.indexOf(':');
    if (colon > 0 && entry.slice(0, colon) === kind) out.push(entry.slice(colon + 1));
  }
  return out.join(',');
}

export function readTlsInfo(socket: TLSSocket): ConnectionTlsInfo {
  const peer = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  const hasPeer = peer !== null && typeof peer === 'object' && 'subject' in peer && peer.subject !== undefined;
  const local = socket.getCertificate();
  const cipher = socket.getCipher();
  const alpn = socket.alpnProtocol;
  const sni = (socket as TLSSocket & { servername?: string | false }).servername;
  return {
    version: socket.getProtocol() ?? '',
    cipher: cipher?.name ?? '',
    sni: typeof sni === 'string' ? sni : '',
    alpn: typeof alpn === 'string' ? alpn : '',
    peerVerified: socket.authorized,
    peerSubject: hasPeer ? dn(peer.subject) : '',
    peerIssuer: hasPeer ? dn(peer.issuer) : '',
    peerSerial: hasPeer ? String(peer.serialNumber ?? '') : '',
    peerUriSan: hasPeer ? sansOf(peer.subjectaltname, 'URI') : '',
    peerDnsSan: hasPeer ? sansOf(peer.subjectaltname, 'DNS') : '',
    localSubject: local !== null && typeof local === 'object' && 'subject' in local ? dn(local.subject) : '',
    resumed: socket.isSessionReused(),
  };
}
