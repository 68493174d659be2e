/**
 * Config layer (schema): MOSN's `tls_context` (pkg/config/v2/tls.go) on filter chains and clusters →
 * `TlsContextConfig`. Certificates and keys are inline PEM (MOSN: a value containing `-----BEGIN`) or file
 * paths (resolved against the config's directory, watched at run time). Versions `TLS_AUTO`,
 * `TLSv1_0`…`TLSv1_3` (case-insensitive); unset min = TLS 1.2 (an explicit lower one is honoured with a
 * warning); unset max = TLS 1.3. `ecdh_curves` uses MOSN's names (`x25519,p256,p384,p521`). `alpn` accepts
 * MOSN's `h2`, `http/1.1`, `sofa`. `extend_verify.match_subject_alt_names` (MOSN `sni_verify` hook
 * config; Envoy's name) lists the SANs an upstream certificate must carry.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { PemSource, TlsContextConfig, TlsVersion } from '../../api/config.js';

const VERSIONS: Readonly<Record<string, TlsVersion | 'auto'>> = {
  tls_auto: 'auto', tlsv1_0: 'TLSv1', tlsv1_1: 'TLSv1.1', tlsv1_2: 'TLSv1.2', tlsv1_3: 'TLSv1.3',
  tlsv1: 'TLSv1', 'tlsv1.0': 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3',
};
const CURVES: Readonly<Record<string, string>> = { x25519: 'X25519', p256: 'P-256', p384: 'P-384', p521: 'P-521' };
const ALPN = new Set(['h2', 'http/1.1', 'sofa']);
const RANK: Readonly<Record<TlsVersion, number>> = { TLSv1: 0, 'TLSv1.1': 1, 'TLSv1.2': 2, 'TLSv1.3': 3 };

export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** What the schema leaves for the loader: warnings it cannot raise itself. */
export interface TlsParseNotes {
  readonly weakMinVersion?: TlsVersion;
}

const versionField = z.string().default('').transform((v, ctx): TlsVersion | 'auto' | undefined => {
  if (v.trim() === '') return undefined;
  const got = VERSIONS[v.trim().toLowerCase()];
  if (got === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown TLS version "${v}" (TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3)` });
    return z.NEVER;
  }
  return got;
});

const pemField = z.string().default('');

/** Builds the tls_context schema; `baseDir` resolves relative certificate paths. */
export function tlsContextSchema(baseDir: string) {
  const pem = (text: string): PemSource | undefined => {
    if (text.trim() === '') return undefined;
    if (text.includes('-----BEGIN')) return { kind: 'inline', pem: text };
    return { kind: 'file', path: isAbsolute(text) ? text : resolve(baseDir, text) };
  };
  return z.object({
    status: z.boolean().default(false),
    type: z.string().default(''),
    server_name: z.string().default(''),
    ca_cert: pemField,
    cert_chain: pemField,
    private_key: pemField,
    verify_client: z.boolean().default(false),
    require_client_cert: z.boolean().default(false),
    insecure_skip: z.boolean().default(false),
    cipher_suites: z.string().default(''),
    ecdh_curves: z.string().default(''),
    min_version: versionField,
    max_version: versionField,
    alpn: z.string().default(''),
    ticket: z.string().default(''),
    fall_back: z.boolean().default(false),
    extend_verify: z.record(z.string(), z.unknown()).default({}),
    // MOSN keys Skiff does not serve: parsed so a config carrying them loads; SDS is the xDS issue's.
    callbacks: z.unknown().optional(),
    sds_source: z.unknown().optional(),
  }).transform((t, ctx): TlsContextConfig & { readonly notes: TlsParseNotes } => {
    const curves: string[] = [];
    for (const c of t.ecdh_curves.split(',').map((x) => x.trim().toLowerCase()).filter((x) => x !== '')) {
      const node = CURVES[c];
      if (node === undefined) ctx.addIssue({ code: 'custom', path: ['ecdh_curves'], message: `unknown curve "${c}" (x25519, p256, p384, p521)` });
      else curves.push(node);
    }
    const alpn = t.alpn.split(',').map((x) => x.trim()).filter((x) => x !== '');
    for (const a of alpn) if (!ALPN.has(a)) ctx.addIssue({ code: 'custom', path: ['alpn'], message: `unknown ALPN protocol "${a}" (h2, http/1.1, sofa)` });
    const min = t.min_version === undefined || t.min_version === 'auto' ? 'TLSv1.2' : t.min_version;
    const max = t.max_version === undefined || t.max_version === 'auto' ? 'TLSv1.3' : t.max_version;
    if (RANK[min] > RANK[max]) ctx.addIssue({ code: 'custom', path: ['min_version'], message: `min_version ${min} is above max_version ${max}` });
    const san = t.extend_verify['match_subject_alt_names'] ?? t.extend_verify['subject_alt_names'];
    const matchSubjectAltNames = Array.isArray(san) ? san.filter((x): x is string => typeof x === 'string') : typeof san === 'string' && san !== '' ? san.split(',').map((x) => x.trim()) : [];
    const caCert = pem(t.ca_cert);
    if ((t.verify_client || t.require_client_cert) && t.status && caCert === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ca_cert'], message: 'verify_client needs a ca_cert to verify client certificates against' });
    }
    if (t.cipher_suites.includes(',') && !t.cipher_suites.includes(':')) {
      // MOSN separates with ':'; a comma list is a common slip that OpenSSL would misread.
      ctx.addIssue({ code: 'custom', path: ['cipher_suites'], message: 'cipher_suites is a ":"-separated list' });
    }
    return {
      status: t.status,
      type: t.type,
      serverName: t.server_name,
      caCert,
      certChain: pem(t.cert_chain),
      privateKey: pem(t.private_key),
      verifyClient: t.verify_client || t.require_client_cert,
      requireClientCert: t.require_client_cert,
      insecureSkip: t.insecure_skip,
      cipherSuites: t.cipher_suites,
      ecdhCurves: curves.join(':'),
      minVersion: min,
      maxVersion: max,
      alpn,
      fallBack: t.fall_back,
      matchSubjectAltNames,
      notes: RANK[min] < RANK['TLSv1.2'] ? { weakMinVersion: min } : {},
    };
  });
}
