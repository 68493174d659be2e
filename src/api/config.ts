/**
 * API layer (plug-in SDK): the typed, validated, immutable config objects that src/config/ produces
 * from a MOSN v2 document and that every other layer consumes. No runtime imports. All durations
 * are milliseconds (`…Ms`), all sizes bytes (`…Bytes`); 0 means "disabled" or "unlimited" where
 * the field says so. Objects are frozen by the loader: never mutate them, build a new snapshot.
 */

/** A TCP address to listen on or connect to. `host` is a bare IP or name (IPv6 without brackets). */
export interface TcpAddress {
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
  /** As written in config, normalised: `127.0.0.1:2045`, `[::1]:2045`. */
  readonly text: string;
}

/** A unix-domain socket path. */
export interface UnixAddress {
  readonly kind: 'unix';
  readonly path: string;
  /** `unix:/path` form. */
  readonly text: string;
}

export type Address = TcpAddress | UnixAddress;

/**
 * One configured filter (network, stream or listener). `config` is what the factory's
 * `parseConfig` returned at load time, so `create` never re-parses.
 */
export interface FilterConfig<C = unknown> {
  readonly type: string;
  readonly config: C;
  /** Skiff key `skiff_module`: resolved path of the JS module the factory was loaded from. */
  readonly module?: string;
}

export interface AccessLogConfig {
  /** File path, or `stdout` / `stderr`. */
  readonly path: string;
  /** MOSN `%variable%` text format; the default format when the config gave none. */
  readonly format: string;
}

export interface FilterChainConfig {
  readonly filters: readonly FilterConfig[];
}

export interface ListenerConfig {
  readonly name: string;
  /** MOSN `type`: `ingress` / `egress`, informational. */
  readonly type: string;
  readonly address: Address;
  /** `bind_port: false` = virtual listener (original-dst only); Skiff does not bind it. */
  readonly bindPort: boolean;
  /** MOSN uses only `filter_chains[0].filters`; the loader keeps all chains for the dump. */
  readonly filterChains: readonly FilterChainConfig[];
  readonly streamFilters: readonly FilterConfig[];
  readonly listenerFilters: readonly FilterConfig[];
  readonly accessLogs: readonly AccessLogConfig[];
  /** Close a connection with no reads or writes for this long (MOSN default 90 s); 0 disables. */
  readonly connectionIdleTimeoutMs: number;
  /** Skiff key `max_connections`: accepted connections above this are closed at once; 0 = unlimited. */
  readonly maxConnections: number;
  /** Per-connection write buffer high watermark (MOSN's fixed 32 KiB; Skiff key `per_connection_buffer_limit_bytes`). */
  readonly bufferLimitBytes: number;
  /**
   * TLS of `filter_chains[0]`: its `tls_context` then its `tls_context_set` entries whose `status` is true
   * (empty: plaintext). Several: the certificate is chosen per handshake by SNI.
   */
  readonly tls: readonly TlsContextConfig[];
  /** MOSN `inspector`: TLS and plaintext clients on the same port (the first byte decides). */
  readonly inspector: boolean;
  /** Skiff `tls_handshake_timeout`: a TLS handshake must finish within this (default 10 s). */
  readonly tlsHandshakeTimeoutMs: number;
}

/** A PEM given inline (MOSN: a value containing `-----BEGIN`) or as a file path (watched for rotation). */
export type PemSource = { readonly kind: 'inline'; readonly pem: string } | { readonly kind: 'file'; readonly path: string };

/** Node's protocol names. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** MOSN `TLSConfig` (pkg/config/v2/tls.go) as Skiff serves it. */
export interface TlsContextConfig {
  readonly status: boolean;
  /** MOSN ConfigHooks name (e.g. `sni_verify`); informational beyond `matchSubjectAltNames`. */
  readonly type: string;
  /** Client: the SNI sent and the name verified. Server: an extra SNI match key for this certificate. */
  readonly serverName: string;
  readonly caCert: PemSource | undefined;
  readonly certChain: PemSource | undefined;
  readonly privateKey: PemSource | undefined;
  /** Server: ask clients for a certificate and verify it against `caCert`. */
  readonly verifyClient: boolean;
  /** Server: a client without a certificate is refused (with `verifyClient`). */
  readonly requireClientCert: boolean;
  /** Client: do not verify the server (MOSN `insecure_skip`). */
  readonly insecureSkip: boolean;
  /** OpenSSL cipher list (`:`-separated); empty = Skiff's ECDHE+AEAD list. */
  readonly cipherSuites: string;
  /** Node `ecdhCurve` form (`X25519:P-256`); empty = Node's default. */
  readonly ecdhCurves: string;
  /** Default TLS 1.2. */
  readonly minVersion: TlsVersion;
  /** Default TLS 1.3. */
  readonly maxVersion: TlsVersion;
  /** ALPN protocols offered/accepted, in preference order (`h2`, `http/1.1`). */
  readonly alpn: readonly string[];
  /** Server: serve plaintext when no certificate could be loaded. Client: never used (no plaintext fallback). */
  readonly fallBack: boolean;
  /** Client: the server certificate must carry one of these SANs (MOSN `sni_verify` / Envoy `match_subject_alt_names`). */
  readonly matchSubjectAltNames: readonly string[];
}

export interface HostConfig {
  readonly address: Address;
  readonly hostname: string;
  /** Clamped to 1..128 as MOSN does. */
  readonly weight: number;
  /** `metadata.filter_metadata["mosn.lb"]`, values as strings. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly tlsDisable: boolean;
}

export interface CircuitBreakersConfig {
  /** 0 = unlimited for each. */
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface ClusterConfig {
  readonly name: string;
  /** Cluster type registry key; MOSN maps STATIC/EDS/DYNAMIC/unknown to `SIMPLE`. */
  readonly type: string;
  /** LB policy registry key, e.g. `LB_RANDOM`, `LB_ROUNDROBIN` (MOSN's default for unknown). */
  readonly lbType: string;
  readonly connectTimeoutMs: number;
  /** 0 = keep idle upstream connections open. */
  readonly idleTimeoutMs: number;
  readonly maxRequestPerConn: number;
  readonly connBufferLimitBytes: number;
  readonly circuitBreakers: CircuitBreakersConfig;
  readonly hosts: readonly HostConfig[];
  /** MOSN `lbconfig`, read by `LB_LEAST_REQUEST`. The loader always sets it; absent → the defaults. */
  readonly lbConfig?: LbConfig;
  /** STRICT_DNS: re-resolve every host name this often (`dns_refresh_rate`; MOSN default 5 s). */
  readonly dnsRefreshRateMs?: number;
  /** STRICT_DNS: which address families a name resolves to (`dns_lookup_family`; MOSN: IPv4 only). */
  readonly dnsLookupFamily?: DnsLookupFamily;
  /** XProtocol upstream heartbeats (MOSN `keepalive`); absent → the defaults (15 s, 1 s, 6 failures, backoff). */
  readonly keepalive?: ClusterKeepAliveConfig;
  /** Upstream TLS (cluster `tls_context` with `status: true`); a host's `tls_disable` opts it out. */
  readonly tls?: TlsContextConfig;
}

/**
 * MOSN cluster `keepalive` {interval, timeout} plus Skiff's `fail_count` and `backoff`: an idle
 * XProtocol upstream connection is probed every `intervalMs` (growing by `intervalMs` per success up to
 * 90 s unless `backoff` is false, MOSN's fixed period).
 */
export interface ClusterKeepAliveConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxFailures: number;
  readonly backoff: boolean;
}

/** MOSN `lbconfig` (pkg/config/v2/loadbalancer.go), the keys Skiff reads. */
export interface LbConfig {
  /** Random distinct hosts compared per pick by `LB_LEAST_REQUEST` (default 2: power of two choices). */
  readonly choiceCount: number;
  /** Exponent of (active + 1) dividing a host's weight when weights differ (default 1.0). */
  readonly activeRequestBias: number;
}

/** MOSN's `V4_ONLY` (A records; its default) and `V6_ONLY` (AAAA), plus Envoy's `ALL` (both). */
export type DnsLookupFamily = 'V4_ONLY' | 'V6_ONLY' | 'ALL';

/** A header to add: `append: true` joins with a comma. */
export interface HeaderValueOption {
  readonly key: string;
  readonly value: string;
  readonly append: boolean;
}

export interface HeaderMatcherConfig {
  readonly name: string;
  readonly value: string;
  readonly regex: boolean;
}

export interface RouteMatchConfig {
  readonly prefix?: string;
  readonly path?: string;
  readonly regex?: string;
  readonly headers: readonly HeaderMatcherConfig[];
  readonly variables: readonly { readonly name: string; readonly value?: string; readonly regex?: string; readonly model?: string }[];
}

export interface WeightedClusterConfig {
  readonly name: string;
  readonly weight: number;
  readonly metadataMatch: Readonly<Record<string, string>>;
}

export interface RetryPolicyConfig {
  readonly retryOn: boolean;
  readonly retryTimeoutMs: number;
  readonly numRetries: number;
  readonly statusCodes: readonly number[];
}

export interface RouteActionConfig {
  readonly clusterName: string;
  readonly clusterVariable: string;
  readonly weightedClusters: readonly WeightedClusterConfig[];
  readonly upstreamProtocol: string;
  /** 0 = MOSN's default global timeout applies. */
  readonly timeoutMs: number;
  readonly retryPolicy?: RetryPolicyConfig;
  readonly metadataMatch: Readonly<Record<string, string>>;
  readonly prefixRewrite: string;
  readonly regexRewrite?: { readonly pattern: string; readonly substitution: string };
  readonly hostRewrite: string;
  readonly autoHostRewrite: boolean;
  readonly autoHostRewriteHeader: string;
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
  /** Raw hash_policy entries, interpreted by the LB work. */
  readonly hashPolicy: readonly unknown[];
}

export interface RouteConfig {
  /** MOSN `Router.name` (optional; the `route_name` variable). */
  readonly name?: string;
  readonly match: RouteMatchConfig;
  readonly route?: RouteActionConfig;
  readonly redirect?: { readonly responseCode: number; readonly pathRedirect: string; readonly hostRedirect: string; readonly schemeRedirect: string };
  readonly directResponse?: { readonly status: number; readonly body: string };
  readonly perFilterConfig: Readonly<Record<string, unknown>>;
  readonly mirrorPolicies: readonly { readonly cluster: string; readonly percent: number }[];
  readonly metadata: Readonly<Record<string, string>>;
}

export interface VirtualHostConfig {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routers: readonly RouteConfig[];
  readonly perFilterConfig: Readonly<Record<string, unknown>>;
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface RouterConfig {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface ServerConfig {
  readonly name: string;
  /** `stdout`, `stderr` or a file path; default stderr. */
  readonly defaultLogPath: string;
  readonly defaultLogLevel: LogLevel;
  /** Drain time for graceful stop and listener removal; MOSN default 30 s. */
  readonly gracefulTimeoutMs: number;
  /** `processor`: worker count (`"auto"` → number of cores); used by the process-model work. */
  readonly processor: number | 'auto';
  readonly listeners: readonly ListenerConfig[];
  readonly routers: readonly RouterConfig[];
}

export interface AdminConfig {
  readonly address: TcpAddress;
}

/** The whole validated document. */
export interface SkiffConfig {
  readonly server: ServerConfig;
  readonly clusters: readonly ClusterConfig[];
  readonly admin?: AdminConfig;
  readonly disableUpgrade: boolean;
  readonly udsDir: string;
  readonly pidFile: string;
}
