/**
 * Base layer: parsing and printing the addresses MOSN configs carry (listener `address`, cluster
 * host `address`, admin socket address). Accepted forms, as MOSN (Go `net.SplitHostPort` + its
 * unix-socket convention) accepts them:
 *
 *   127.0.0.1:2045   host:2045   [::1]:2045   :2045 (all interfaces)   unix:/run/s.sock   /run/s.sock
 *
 * A bare IPv6 address without brackets (`::1:2045`) is rejected with a hint, as Go does.
 */
import { isIP } from 'node:net';
import { ConfigError } from './errors.js';

// Structurally identical to `TcpAddress` / `UnixAddress` / `Address` in src/api/config.ts (base may
// not import api/; TypeScript's structural typing makes them interchangeable).
export interface TcpAddress { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
export interface UnixAddress { readonly kind: 'unix'; readonly path: string; readonly text: string }
export type Address = TcpAddress | UnixAddress;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Parses a port the way Go does for `host:port`: decimal digits only, 0..65535. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** Builds a normalised TCP address; `host` is a bare IP or name (IPv6 without brackets). */
export function tcpAddress(host: string, port: number): TcpAddress {
  const text = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { kind: 'tcp', host, port, text };
}

/**
 * Parses an address, or returns the reason it is invalid (no path prefix). The non-throwing form,
 * for schema transforms that collect many issues at once.
 */
export function tryParseAddress(input: string): Address | string {
  const text = input.trim();
  if (text === '') return 'address is empty';
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    return path === '' ? `unix socket address "${input}" has no path` : { kind: 'unix', path, text: `unix:${path}` };
  }
  if (text.startsWith('/')) return { kind: 'unix', path: text, text: `unix:${text}` };

  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return `missing "]" in address "${input}"`;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === '') return `missing port in address "${input}"`;
    if (!rest.startsWith(':')) return `unexpected "${rest}" after "]" in address "${input}"`;
    portText = rest.slice(1);
    if (isIP(host) !== 6) return `"${host}" in address "${input}" is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return `missing port in address "${input}" (want host:port, [ipv6]:port or unix:/path)`;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return `too many colons in address "${input}" (write IPv6 addresses in brackets, e.g. "[::1]:2045")`;
    // Go listens on every interface for ":port".
    if (host === '') host = '0.0.0.0';
    else if (isIP(host) === 0 && !HOSTNAME.test(host)) return `invalid host "${host}" in address "${input}"`;
  }
  if (portText === '') return `missing port in address "${input}"`;
  const port = parsePort(portText);
  if (port === undefined) return `invalid port "${portText}" in address "${input}" (want 0..65535)`;
  return tcpAddress(host, port);
}

/** Parses an address; throws `ConfigError` at `path` with a clear message. */
export function parseAddress(text: string, path: string): Address {
  const result = tryParseAddress(text);
  if (typeof result === 'string') throw new ConfigError({ path, message: result });
  return result;
}

/** The canonical text form: `127.0.0.1:2045`, `[::1]:2045`, `unix:/run/s.sock`. */
export function formatAddress(address: Address): string {
  return address.kind === 'unix' ? `unix:${address.path}` : tcpAddress(address.host, address.port).text;
}

/** `host:port` for a connection endpoint (`[v6]:port`; just the address when the port is 0, e.g. unix). */
export function hostPort(address: string, port: number): string {
  if (port === 0) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
