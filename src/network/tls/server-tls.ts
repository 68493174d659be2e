/**
 * Network layer (TLS): a listener's TLS termination (MOSN `tls_context` / `tls_context_set`,
 * pkg/mtls/tls_context_manager.go). One unlistened `tls.Server` per listener does the handshakes:
 * accepted sockets are handed to it (`accept`), and a verified `TLSSocket` comes back (`onSecure`) to
 * become the connection's socket. The certificate is chosen per ClientHello by SNI: exact name (the
 * context's `server_name` or a DNS SAN / CN of its certificate), then the longest `*.suffix` wildcard,
 * else the first context. Client certificates are requested and verified when a context sets
 * `verify_client` (the CA of every such context is trusted for the listener: OpenSSL verifies with the
 * listener's store). Handshakes must finish within the handshake timeout (default 10 s); renegotiation
 * is refused; failures are counted and logged with their reason, and only that socket is closed.
 * Certificates rotate without a restart (see tls-material.ts).
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { createSecureContext, createServer, type SecureContext, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';
import type { TlsContextConfig } from '../../api/config.js';
import type { Logger } from '../../api/observability.js';
import { FileWatch, filesOf, readPem, secureContextOptions, ticketKeysFrom } from './tls-material.js';

export interface ServerTlsOptions {
  readonly listenerName: string;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  /** ALPN protocols the listener can serve; configured ones outside this set are not offered. */
  readonly alpnSupported: ReadonlySet<string>;
  /** A handshake completed: the socket is the connection's from now on. */
  readonly onSecure: (socket: TLSSocket) => void;
  /** A handshake failed (the socket is already being destroyed). */
  readonly onHandshakeError: (reason: string) => void;
}

interface Entry {
  readonly names: readonly string[];
  readonly context: SecureContext;
}

interface Built {
  readonly entries: readonly Entry[];
  readonly defaultOptions: SecureContextOptions;
  readonly ticketKeys: Buffer | undefined;
}

function namesOf(cfg: TlsContextConfig, certPem: string | undefined): string[] {
  const names: string[] = [];
  if (cfg.serverName !== '') names.push(cfg.serverName.toLowerCase());
  if (certPem !== undefined) {
    try {
      const cert = new X509Certificate(certPem);
      for (const part of (cert.subjectAltName ?? '').split(', ')) if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject);
      if (cn?.[1] !== undefined) names.push(cn[1].toLowerCase());
    } catch {
      // Unparsable here means unusable for OpenSSL too: secure-context creation reports it.
    }
  }
  return names;
}

function build(configs: readonly TlsContextConfig[]): Built {
  const withKey = configs.find((c) => c.privateKey !== undefined);
  const ticketKeys = withKey?.privateKey !== undefined ? ticketKeysFrom(readPem(withKey.privateKey)) : undefined;
  const entries: Entry[] = [];
  const cas: string[] = [];
  for (const cfg of configs) {
    if (cfg.certChain === undefined || cfg.privateKey === undefined) continue;
    const opts = secureContextOptions(cfg, ticketKeys);
    entries.push({ names: namesOf(cfg, typeof opts.cert === 'string' ? opts.cert : undefined), context: createSecureContext(opts) });
    if (cfg.verifyClient && typeof opts.ca === 'string') cas.push(opts.ca);
  }
  const first = configs.find((c) => c.certChain !== undefined && c.privateKey !== undefined);
  if (first === undefined) throw new Error('no tls_context has both cert_chain and private_key');
  const defaultOptions = secureContextOptions(first, ticketKeys);
  if (cas.length > 0) defaultOptions.ca = cas.join('\n');
  createSecureContext(defaultOptions);
  return { entries, defaultOptions, ticketKeys };
}


/** Exact name, then the longest wildcard `*.suffix` covering `name`, else undefined. */
export function pickBySni(entries: readonly { readonly names: readonly string[] }[], servername: string): number {
  const name = servername.toLowerCase();
  for (let i = 0; i < entries.length; i++) if (entries[i]!.names.includes(name)) return i;
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < entries.length; i++) {
    for (const n of entries[i]!.names) {
      if (!n.startsWith('*.')) continue;
      const suffix = n.slice(1); // ".example.com"
      if (name.endsWith(suffix) && name.length > suffix.length && !name.slice(0, name.length - suffix.length).includes('.') && suffix.length > bestLen) {
        best = i;
        bestLen = suffix.length;
      }
    }
  }
  return best;
}

export class ServerTls {
  readonly #opts: ServerTlsOptions;
  readonly #configs: readonly TlsContextConfig[];
  readonly #server: Server;
  #built: Built;
  readonly #watch: FileWatch | undefined;
  /** Rotations applied / refused (tests, stats). */
  reloads = 0;
  reloadFailures = 0;

  /** Throws when the certificates cannot be loaded (a start-up error naming the listener). */
  constructor(configs: readonly TlsContextConfig[], opts: ServerTlsOptions) {
    this.#opts = opts;
    this.#configs = configs;
    this.#built = build(configs);
    const requestCert = configs.some((c) => c.verifyClient);
    const alpn = [...new Set(configs.flatMap((c) => c.alpn))].filter((p) => opts.alpnSupported.has(p));
    this.#server = createServer({
      ...this.#built.defaultOptions,
      handshakeTimeout: opts.handshakeTimeoutMs,
      requestCert,
      // Unverified client certificates are refused below, where the reason can be logged and counted
      // (Node's own rejection closes the socket without telling why).
      rejectUnauthorized: false,
      ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
      SNICallback: (servername, cb) => {
        const i = pickBySni(this.#built.entries, servername);
        cb(null, i < 0 ? undefined : this.#built.entries[i]!.context);
      },
    });
    if (this.#built.ticketKeys !== undefined) this.#server.setTicketKeys(this.#built.ticketKeys);
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      if (requestCert && !socket.authorized) {
        // Missing, expired, not-yet-valid or untrusted client certificate: nothing is served.
        const reason = `client_certificate_${String(socket.authorizationError ?? 'missing').toLowerCase()}`;
        socket.destroy();
        opts.onHandshakeError(reason);
        this.#logFailure(reason, socket.remoteAddress, 'TLS client certificate refused');
        return;
      }
      // Client-initiated renegotiation is refused (Node allows a few by default).
      socket.disableRenegotiation();
      opts.onSecure(socket);
    });
    this.#server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      socket.destroy();
      const reason = tlsErrorReason(err);
      opts.onHandshakeError(reason);
      this.#logFailure(reason, socket.remoteAddress, 'TLS handshake failed');
    });
    const files = configs.flatMap(filesOf);
    this.#watch = files.length === 0 ? undefined : new FileWatch(files, () => this.reload());
  }

  #lastLogMs = 0;
  #suppressed = 0;

  /** One log line per second at most (a scan or a flood must not flood the log); the rest are counted. */
  #logFailure(reason: string, remote: string | undefined, msg: string): void {
    const now = Date.now();
    if (now - this.#lastLogMs < 1000) { this.#suppressed++; return; }
    this.#lastLogMs = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#opts.logger.warn({ reason, remote, ...(suppressed > 0 ? { suppressed } : {}) }, msg); // the logger carries the listener
  }

  /** Hands an accepted plaintext socket to the TLS server for its handshake. */
  accept(socket: Socket): void {
    this.#server.emit('connection', socket);
  }

  /**
   * Rebuilds every context from the files (rotation). A file that does not load leaves everything as
   * it was, with an error log: the old certificate keeps serving.
   */
  reload(): boolean {
    let next: Built;
    try {
      next = build(this.#configs);
    } catch (err) {
      this.reloadFailures++;
      this.#opts.logger.error({ err: (err as Error).message }, 'TLS certificate reload failed; the previous certificate keeps serving');
      return false;
    }
    this.#built = next;
    this.#server.setSecureContext(next.defaultOptions);
    if (next.ticketKeys !== undefined) this.#server.setTicketKeys(next.ticketKeys);
    this.reloads++;
    this.#opts.logger.info('TLS certificates reloaded');
    return true;
  }

  close(): void {
    this.#watch?.close();
  }
}

/** A short, stable reason for a handshake failure (stats label, log field). */
export function tlsErrorReason(err: NodeJS.ErrnoException & { reason?: string }): string {
  if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || /timed? ?out/i.test(err.message)) return 'handshake_timeout';
  const r = err.reason ?? err.code ?? err.message;
  return String(r).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 80) || 'unknown';
}
