/**
 * Network layer (TLS): a cluster's upstream TLS (MOSN cluster `tls_context`, pkg/mtls client side).
 * One secure context per cluster (CA, client certificate for mTLS, versions, ciphers), rebuilt when its
 * files change. Per connection: SNI = `server_name`, else the host's `hostname` (an IP literal sends
 * none); the server is verified against the CA and its name — or, with `match_subject_alt_names`
 * (MOSN `sni_verify`, Envoy's name), against that SAN list — unless `insecure_skip`. A failed
 * verification fails the connect: there is never a plaintext fallback. Sessions are resumed per host.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import type { TlsContextConfig } from '../../api/config.js';
import type { Logger } from '../../api/observability.js';
import { buildSecureContext, FileWatch, filesOf } from './tls-material.js';

export class ClientTls {
  readonly #cfg: TlsContextConfig;
  readonly #logger: Logger;
  readonly #name: string;
  #context: SecureContext;
  readonly #watch: FileWatch | undefined;
  readonly #check: ((host: string, cert: PeerCertificate) => Error | undefined) | undefined;
  /** Last session per target, for resumption. */
  readonly #sessions = new Map<string, Buffer>();

  /** Throws when the CA or client certificate cannot be loaded. */
  constructor(clusterName: string, cfg: TlsContextConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#name = clusterName;
    this.#logger = logger;
    this.#context = buildSecureContext(cfg);
    const allowed = cfg.matchSubjectAltNames;
    if (allowed.length > 0) {
      this.#check = (_host, cert) => {
        const sans = (cert.subjectaltname ?? '').split(', ').map((e) => e.slice(e.indexOf(':') + 1));
        return sans.some((s) => allowed.includes(s)) ? undefined : new Error(`certificate SANs [${sans.join(', ')}] match none of ${allowed.join(', ')}`);
      };
    }
    const files = filesOf(cfg);
    this.#watch = files.length === 0 ? undefined : new FileWatch(files, () => this.reload());
  }

  /** `tls.connect` options for one connection to `host` (an IP or name) known as `hostname`. */
  options(host: string, hostname: string): ConnectionOptions {
    const cfg = this.#cfg;
    const sni = this.#sni(host, hostname);
    const key = `${host}|${sni}`;
    const o: ConnectionOptions = {
      secureContext: this.#context,
      rejectUnauthorized: !cfg.insecureSkip,
      ...(sni !== '' ? { servername: sni } : {}),
      ...(cfg.alpn.length > 0 ? { ALPNProtocols: [...cfg.alpn] } : {}),
      ...(this.#check !== undefined ? { checkServerIdentity: this.#check } : sni !== '' ? { checkServerIdentity: (_h: string, cert: PeerCertificate) => checkServerIdentity(sni, cert) } : {}),
    };
    const session = this.#sessions.get(key);
    if (session !== undefined) o.session = session;
    return o;
  }

  /** Keeps a connection's session for the next handshake to the same target. */
  rememberSession(host: string, hostname: string, session: Buffer): void {
    const sni = this.#sni(host, hostname);
    if (this.#sessions.size > 1024) this.#sessions.clear();
    this.#sessions.set(`${host}|${sni}`, session);
  }

  /** SNI: `server_name`, else the host's name, else its address when it is a name (an IP literal sends none). */
  #sni(host: string, hostname: string): string {
    if (this.#cfg.serverName !== '') return this.#cfg.serverName;
    if (hostname !== '' && isIP(hostname) === 0) return hostname;
    return isIP(host) === 0 ? host : '';
  }

  reload(): boolean {
    try {
      this.#context = buildSecureContext(this.#cfg);
      this.#sessions.clear();
      this.#logger.info({ cluster: this.#name }, 'cluster TLS certificates reloaded');
      return true;
    } catch (err) {
      this.#logger.error({ cluster: this.#name, err: (err as Error).message }, 'cluster TLS reload failed; the previous certificates stay in use');
      return false;
    }
  }

  close(): void {
    this.#watch?.close();
  }
}
