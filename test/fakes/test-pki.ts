/**
 * Test fake for the TLS layer (issue 6): a throwaway PKI minted at test time with the `openssl` CLI.
 * Two independent roots (caA, caB), an intermediate under caA, and the leaves TLS tests need
 * (server with SANs, SNI peer, RSA, via-intermediate, mTLS clients with SPIFFE URIs, untrusted,
 * expired, not yet valid), EC P-256 unless noted. One call = one fresh temp directory that
 * `cleanup()` removes; nothing is cached across calls or processes.
 *
 * Why the CLI shapes: OpenSSL 3.0's `req -x509 -CA` makes key + certificate in one process (the
 * fast path); but neither `req` nor `x509` can set notBefore in 3.0 (`-not_before` is 3.4+), so
 * dated certificates go through `openssl ca -startdate/-enddate` with a per-certificate config and
 * database (so parallel runs never share state) — never a faked clock. Every process runs with
 * cwd = the PKI directory and only relative names appear in configs, so a parent path containing
 * `$` or spaces cannot break OpenSSL's config parser.
 *
 *   caA ─┬─ server, serverB, serverRsa, client, clientEvil, expired, notYetValid, expiredClient,
 *        │  issueServer(...)
 *        └─ intermediateA ── serverViaIntermediate        caB ── clientB
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate authority (root or intermediate). */
export interface TestCa {
  readonly name: string;
  readonly certPath: string;
  readonly certPem: string;
  readonly keyPath: string;
  readonly keyPem: string;
}

/** A leaf certificate with its key; `chain*` = leaf followed by any intermediates (never the root). */
export interface TestCert {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly chainPath: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly chainPem: string;
  /** Upper-case hex, exactly as `openssl x509 -noout -serial` prints it after `serial=`. */
  readonly serial: string;
}

export interface TestPki {
  /** The temp directory holding every file (removed by `cleanup()`). */
  readonly dir: string;
  readonly caA: TestCa;
  readonly caB: TestCa;
  /** Intermediate CA under caA (pathlen 0). */
  readonly intermediateA: TestCa;
  /** caA; DNS localhost, skiff.test, *.skiff.test; IP 127.0.0.1; serverAuth. */
  readonly server: TestCert;
  /** caA; DNS other.test only (SNI selection). */
  readonly serverB: TestCert;
  /** caA; RSA-2048; DNS localhost. */
  readonly serverRsa: TestCert;
  /** intermediateA; DNS localhost; chainPath = leaf + intermediateA. */
  readonly serverViaIntermediate: TestCert;
  /** caA; CN client; URI SAN {@link SPIFFE_CLIENT}; clientAuth. */
  readonly client: TestCert;
  /** caA; CN evil; URI SAN {@link SPIFFE_EVIL}; clientAuth. */
  readonly clientEvil: TestCert;
  /** caB (untrusted where caA is trusted); CN client-b; URI SAN spiffe://cluster.local/ns/b/sa/client; clientAuth. */
  readonly clientB: TestCert;
  /** caA; DNS localhost; valid 2020-01-01T00:00:00Z .. 2020-12-31T23:59:59Z. */
  readonly expired: TestCert;
  /** caA; DNS localhost; valid 2099-01-01T00:00:00Z .. 2100-01-01T00:00:00Z. */
  readonly notYetValid: TestCert;
  /** caA; CN expired-client; URI SAN {@link SPIFFE_CLIENT}; clientAuth; valid only in 2020. */
  readonly expiredClient: TestCert;
  /**
   * Mints another EC serverAuth leaf from caA, valid from now for 365 days, with a fresh random
   * serial (two calls with the same arguments give two serials: certificate rotation). `name`
   * (letters, digits, `.`, `_`, `-`) is the CN and the file prefix; each `sans` entry is `DNS:…`,
   * `IP:…`, `URI:…`, or a bare host (an IP literal becomes `IP:`, anything else `DNS:`).
   * Default sans: `['localhost']`. Rejects after `cleanup()`.
   */
  issueServer(name: string, sans?: readonly string[]): Promise<TestCert>;
  /** Removes the directory; idempotent. */
  cleanup(): Promise<void>;
}

export const SPIFFE_CLIENT = 'spiffe://cluster.local/ns/default/sa/client';
export const SPIFFE_EVIL = 'spiffe://cluster.local/ns/x/sa/evil';
export const SPIFFE_CLIENT_B = 'spiffe://cluster.local/ns/b/sa/client';

const CA_DAYS = '3650';
const LEAF_DAYS = '365';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] as const;

/** Signing material for leaves under a CA; `chainPems` are the intermediates from it up (roots: none). */
interface Issuer {
  readonly ca: TestCa;
  readonly chainPems: readonly string[];
}

type Profile = 'root' | 'intermediate' | 'server' | 'client';

interface Validity {
  /** `openssl ca` time strings, YYYYMMDDHHMMSSZ. */
  readonly start: string;
  readonly end: string;
}

interface LeafSpec {
  readonly name: string;
  readonly cn: string;
  readonly profile: 'server' | 'client';
  readonly sans: readonly string[];
  readonly issuer: Promise<Issuer>;
  /** A key already generated at `<name>.key` (RSA); otherwise an EC key is made with the certificate. */
  readonly keyReady?: Promise<void>;
  readonly rsa?: boolean;
  readonly validity?: Validity;
}

/**
 * Generates the whole PKI in a new temp directory made under `parentDir` (default: the OS temp
 * directory). Processes run in parallel as their issuers become available.
 */
export async function createTestPki(parentDir?: string): Promise<TestPki> {
  const dir = await mkdtemp(join(parentDir ?? tmpdir(), 'skiff-pki-'));
  try {
    return await build(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function build(dir: string): Promise<TestPki> {
  const caA = makeCa(dir, 'ca-a', 'Skiff Test Root CA A', 'root', undefined);
  const caB = makeCa(dir, 'ca-b', 'Skiff Test Root CA B', 'root', undefined);
  const intermediateA = makeCa(dir, 'intermediate-a', 'Skiff Test Intermediate CA A1', 'intermediate', caA);
  // RSA key generation is the slowest step; start it before its issuer exists.
  const rsaKey = openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'server-rsa.key']);
  // Shared promises are awaited only after some file writes; mark them handled now so an early
  // failure is reported through the leaves (allSettled below), not as an unhandled rejection.
  for (const p of [caA, caB, intermediateA, rsaKey]) p.catch(() => {});
  const past: Validity = { start: '20200101000000Z', end: '20201231235959Z' };
  const future: Validity = { start: '20990101000000Z', end: '21000101000000Z' };
  const localhost = ['DNS:localhost'];

  // allSettled: on a failure, wait for every process before the caller removes the directory.
  const settled = await Promise.allSettled([
    issueLeaf(dir, { name: 'server', cn: 'localhost', profile: 'server', issuer: caA,
      sans: ['DNS:localhost', 'DNS:skiff.test', 'DNS:*.skiff.test', 'IP:127.0.0.1'] }),
    issueLeaf(dir, { name: 'server-b', cn: 'other.test', profile: 'server', issuer: caA, sans: ['DNS:other.test'] }),
    issueLeaf(dir, { name: 'server-rsa', cn: 'localhost', profile: 'server', issuer: caA, sans: localhost,
      keyReady: rsaKey, rsa: true }),
    issueLeaf(dir, { name: 'server-via-intermediate', cn: 'localhost', profile: 'server', issuer: intermediateA,
      sans: localhost }),
    issueLeaf(dir, { name: 'client', cn: 'client', profile: 'client', issuer: caA, sans: [`URI:${SPIFFE_CLIENT}`] }),
    issueLeaf(dir, { name: 'client-evil', cn: 'evil', profile: 'client', issuer: caA, sans: [`URI:${SPIFFE_EVIL}`] }),
    issueLeaf(dir, { name: 'client-b', cn: 'client-b', profile: 'client', issuer: caB, sans: [`URI:${SPIFFE_CLIENT_B}`] }),
    issueLeaf(dir, { name: 'expired', cn: 'localhost', profile: 'server', issuer: caA, sans: localhost, validity: past }),
    issueLeaf(dir, { name: 'not-yet-valid', cn: 'localhost', profile: 'server', issuer: caA, sans: localhost,
      validity: future }),
    issueLeaf(dir, { name: 'expired-client', cn: 'expired-client', profile: 'client', issuer: caA,
      sans: [`URI:${SPIFFE_CLIENT}`], validity: past }),
  ]);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const leaves = settled.map((r) => (r as PromiseFulfilledResult<TestCert>).value);
  const [server, serverB, serverRsa, serverViaIntermediate, client, clientEvil, clientB, expired, notYetValid,
    expiredClient] = leaves as [TestCert, TestCert, TestCert, TestCert, TestCert, TestCert, TestCert, TestCert,
    TestCert, TestCert];

  let issued = 0;
  let closed = false;
  return {
    dir,
    caA: (await caA).ca,
    caB: (await caB).ca,
    intermediateA: (await intermediateA).ca,
    server, serverB, serverRsa, serverViaIntermediate, client, clientEvil, clientB, expired, notYetValid,
    expiredClient,
    async issueServer(name: string, sans: readonly string[] = ['localhost']): Promise<TestCert> {
      if (closed) throw new Error('test-pki: issueServer after cleanup()');
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new Error(`test-pki: bad certificate name '${name}'`);
      if (sans.length === 0) throw new Error('test-pki: issueServer needs at least one SAN');
      const fileName = `issued-${++issued}-${name}`;
      const cert = await issueLeaf(dir, { name: fileName, cn: name, profile: 'server', issuer: caA,
        sans: sans.map(toSan) });
      return { ...cert, name };
    },
    async cleanup(): Promise<void> {
      closed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function makeCa(dir: string, name: string, cn: string, profile: Profile,
  parent: Promise<Issuer> | undefined): Promise<Issuer> {
  await writeFile(join(dir, `${name}.cnf`), config(cn, extensions(profile, [], false), undefined));
  const args = ['req', '-x509', '-new', '-config', `${name}.cnf`, '-extensions', 'ext', ...EC_KEY, '-noenc',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', CA_DAYS, '-sha256', '-set_serial', `0x${newSerial()}`];
  const up = parent === undefined ? undefined : await parent;
  if (up !== undefined) args.push('-CA', up.ca.certPath, '-CAkey', up.ca.keyPath);
  await openssl(dir, args);
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  const ca: TestCa = { name, certPath, certPem, keyPath, keyPem };
  return { ca, chainPems: up === undefined ? [] : [certPem, ...up.chainPems] };
}

async function issueLeaf(dir: string, spec: LeafSpec): Promise<TestCert> {
  const { name } = spec;
  const serial = newSerial();
  const cnf = `${name}.cnf`;
  const db = spec.validity === undefined ? undefined : name;
  await writeFile(join(dir, cnf), config(spec.cn, extensions(spec.profile, spec.sans, spec.rsa === true), db));
  const key = spec.keyReady === undefined ? [...EC_KEY, '-noenc', '-keyout', `${name}.key`] : ['-key', `${name}.key`];
  if (spec.keyReady !== undefined) await spec.keyReady;
  if (spec.validity === undefined) {
    const { ca } = await spec.issuer;
    await openssl(dir, ['req', '-x509', '-new', '-config', cnf, '-extensions', 'ext', ...key, '-out', `${name}.crt`,
      '-days', LEAF_DAYS, '-sha256', '-set_serial', `0x${serial}`, '-CA', ca.certPath, '-CAkey', ca.keyPath]);
  } else {
    // The CSR needs no issuer, so it is made while the CA may still be in progress.
    await Promise.all([
      openssl(dir, ['req', '-new', '-config', cnf, ...key, '-out', `${name}.csr`]),
      writeFile(join(dir, `${name}.index`), ''),
      writeFile(join(dir, `${name}.serial`), `${serial}\n`),
    ]);
    const { ca } = await spec.issuer;
    await openssl(dir, ['ca', '-batch', '-notext', '-config', cnf, '-extensions', 'ext', '-in', `${name}.csr`,
      '-out', `${name}.crt`, '-cert', ca.certPath, '-keyfile', ca.keyPath,
      '-startdate', spec.validity.start, '-enddate', spec.validity.end]);
  }
  const issuer = await spec.issuer;
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const chainPath = join(dir, `${name}.chain.pem`);
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  const chainPem = [certPem, ...issuer.chainPems].join('');
  await writeFile(chainPath, chainPem);
  return { name, certPath, keyPath, chainPath, certPem, keyPem, chainPem, serial };
}

/**
 * 16 random bytes, first byte 0x40..0x7f: positive (no sign padding) and no leading zero byte, so
 * the hex we pass is exactly the hex OpenSSL prints back.
 */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex').toUpperCase();
}

function extensions(profile: Profile, sans: readonly string[], rsa: boolean): string {
  const lines = ['subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid:always'];
  switch (profile) {
    case 'root':
      lines.push('basicConstraints = critical,CA:true', 'keyUsage = critical,keyCertSign,cRLSign');
      break;
    case 'intermediate':
      lines.push('basicConstraints = critical,CA:true,pathlen:0', 'keyUsage = critical,keyCertSign,cRLSign');
      break;
    case 'server':
    case 'client':
      lines.push('basicConstraints = critical,CA:false',
        `keyUsage = critical,digitalSignature${rsa ? ',keyEncipherment' : ''}`,
        `extendedKeyUsage = ${profile === 'server' ? 'serverAuth' : 'clientAuth'}`);
      break;
  }
  if (sans.length > 0) lines.push(`subjectAltName = ${sans.join(',')}`);
  return lines.join('\n');
}

/** One config per certificate: subject, extensions, and (for `openssl ca`) its private database. */
function config(cn: string, ext: string, db: string | undefined): string {
  const ca = db === undefined ? '' : `[ca]
default_ca = ca_sect
[ca_sect]
database = ${db}.index
serial = ${db}.serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
`;
  return `${ca}[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${cn}
[ext]
${ext}
`;
}

/** `DNS:`/`IP:`/`URI:`/`email:` entries pass through; bare IP literals become `IP:`, other hosts `DNS:`. */
function toSan(s: string): string {
  for (const bad of [',', '\n', '\r', '#', '$', '"', '\\']) {
    if (s.includes(bad)) throw new Error(`test-pki: SAN '${s}' contains '${bad}'`);
  }
  if (isIP(s) !== 0) return `IP:${s}`;
  for (const p of ['DNS:', 'IP:', 'URI:', 'email:']) if (s.startsWith(p)) return s;
  return `DNS:${s}`;
}

function openssl(cwd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, windowsHide: true }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`test-pki: openssl ${args.join(' ')} failed (${err.message}): ${stderr}`));
    });
  });
}
