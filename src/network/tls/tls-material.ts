/**
 * Network layer (TLS): certificates and keys from a `tls_context` — inline PEM or files — turned into
 * Node secure contexts with Skiff's safe defaults, and kept fresh: files are polled (every second, so
 * atomic renames and Kubernetes secret symlink swaps are seen), and when one changes the contexts are
 * rebuilt; a broken new file is logged and the previous context keeps serving.
 *
 * Defaults (reliability.md §3.10): TLS 1.2 minimum, TLS 1.2 suites limited to ECDHE + AEAD, TLS 1.3
 * suites as OpenSSL has them, no compression (OpenSSL 3 default). Session-ticket keys are derived from
 * the first private key (HKDF), so every worker process and an upgraded process resume each other's
 * sessions without sharing any state beyond the key they already have.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { PemSource, TlsContextConfig } from '../../api/config.js';

/** TLS 1.3 suites first, then TLS 1.2 ECDHE + AEAD only (no CBC, no RSA key exchange, no DHE). */
export const SAFE_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Only when a config explicitly asks for TLS 1.0/1.1. */
const LEGACY_CIPHERS = 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA';

const POLL_MS = 1000;

export function readPem(src: PemSource): string {
  return src.kind === 'inline' ? src.pem : readFileSync(src.path, 'utf8');
}

/** The files a context reads (watched for rotation). */
export function filesOf(cfg: TlsContextConfig): string[] {
  const out: string[] = [];
  for (const s of [cfg.caCert, cfg.certChain, cfg.privateKey]) if (s?.kind === 'file') out.push(s.path);
  return out;
}

/** 48 bytes of session-ticket keys derived from a private key: the same in every process that has it. */
export function ticketKeysFrom(privateKeyPem: string): Buffer {
  const ikm = createHash('sha256').update(privateKeyPem).digest();
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.from('skiff'), Buffer.from('tls session ticket keys v1'), 48));
}

/** Node's secure-context options for a config (throws on unreadable files or bad PEM). */
export function secureContextOptions(cfg: TlsContextConfig, ticketKeys?: Buffer): SecureContextOptions {
  const o: SecureContextOptions = {
    minVersion: cfg.minVersion,
    maxVersion: cfg.maxVersion,
    ciphers: cfg.cipherSuites !== '' ? cfg.cipherSuites : SAFE_CIPHERS,
    honorCipherOrder: true,
  };
  if (cfg.minVersion === 'TLSv1' || cfg.minVersion === 'TLSv1.1') {
    // An explicit old minimum (warned about at load): TLS 1.0/1.1 have no AEAD suites, so the ECDHE CBC
    // ones are added (unless cipher_suites says otherwise), and OpenSSL 3's security level must allow them.
    if (cfg.cipherSuites === '') o.ciphers = `${o.ciphers}:${LEGACY_CIPHERS}`;
    o.ciphers = `${o.ciphers}:@SECLEVEL=0`;
  }
  if (cfg.ecdhCurves !== '') o.ecdhCurve = cfg.ecdhCurves;
  if (cfg.caCert !== undefined) o.ca = readPem(cfg.caCert);
  if (cfg.certChain !== undefined) o.cert = readPem(cfg.certChain);
  if (cfg.privateKey !== undefined) o.key = readPem(cfg.privateKey);
  if (ticketKeys !== undefined) o.ticketKeys = ticketKeys;
  return o;
}

export function buildSecureContext(cfg: TlsContextConfig, ticketKeys?: Buffer): SecureContext {
  return createSecureContext(secureContextOptions(cfg, ticketKeys));
}

/**
 * Polls a set of files; `onChange` runs (once per burst) when any of them changes. `close()` stops.
 * Uses `fs.watchFile` (stat polling), unref'd: it never keeps the process alive.
 */
export class FileWatch {
  readonly #files: string[];
  readonly #listener: (curr: Stats, prev: Stats) => void;
  #pending: NodeJS.Timeout | undefined;

  constructor(files: readonly string[], onChange: () => void) {
    this.#files = [...new Set(files)];
    this.#listener = (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
      // Several files of one rotation (cert, then key) change within a moment: rebuild once, after them.
      if (this.#pending !== undefined) clearTimeout(this.#pending);
      this.#pending = setTimeout(() => { this.#pending = undefined; onChange(); }, 200);
      this.#pending.unref();
    };
    for (const f of this.#files) watchFile(f, { interval: POLL_MS, persistent: false }, this.#listener);
  }

  close(): void {
    for (const f of this.#files) unwatchFile(f, this.#listener);
    if (this.#pending !== undefined) clearTimeout(this.#pending);
    this.#pending = undefined;
  }
}
