/**
 * Test fake: runs the real Skiff CLI (`node <outDir>/src/main.js …`) in a child process on a
 * config written to a temp dir, and reads its JSON log lines from stderr to learn the real ports
 * (every listener and the admin server bind port 0 in tests). Also: a tiny HTTP client for the
 * admin API and TCP upstreams (echo, slow streamer, hashing sink) for data-plane checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<outDir>/src/main.js`, relative to this compiled file (`<outDir>/test/fakes/`). */
export const MAIN_JS = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (validate, version, a start that fails). */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skiff ${args.join(' ')} did not exit; stderr: ${stderr}`));
    }, options.timeoutMs ?? 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // 'exit' may come before the pipes are drained.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeJson(dir: string, name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return path;
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A running `skiff start`. */
export class SkiffProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: (() => void)[] = [];
  #partial = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.#wake();
    });
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderr += text;
      this.#partial += text;
      const lines = this.#partial.split('\n');
      this.#partial = lines.pop() ?? '';
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as LogLine);
        } catch {
          /* not a log line */
        }
      }
      this.#wake();
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => setImmediate(() => {
      this.#wake();
      resolve({ code, signal });
    })));
  }

  /** Spawns `skiff start -c <file>` and waits until it (not one of its workers) logs "skiff is running". */
  static async start(configPath: string, extraArgs: readonly string[] = [], options: { nodeArgs?: readonly string[]; cwd?: string } = {}): Promise<SkiffProcess> {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN_JS, 'start', '-c', configPath, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
    const p = new SkiffProcess(child);
    let exited = false;
    void p.exited.then(() => (exited = true));
    // With workers, each worker says it runs too (with a `worker` field): wait for the process itself.
    await p.waitFor(() => exited || p.logs.some((l) => l.msg === 'skiff is running' && l['worker'] === undefined), 10_000, 'skiff did not start');
    if (exited) throw new Error(`skiff exited at start: ${p.stderr}`);
    return p;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond()` holds (re-checked on every output and every 50 ms). */
  async waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; stderr tail: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The port a listener was last bound to (from its "listener bound" log line). */
  listenerPort(name: string): number {
    return this.listener(name).port;
  }

  /** Waits for a listener's "listener bound" line (logs are asynchronous), returns its port. */
  async waitForListener(name: string): Promise<number> {
    await this.waitFor(() => this.logs.some((l) => l.msg === 'listener bound' && l['listener'] === name), 5000, `listener ${name}`);
    return this.listenerPort(name);
  }

  /** Host and port a listener was last bound to. */
  listener(name: string): { host: string; port: number } {
    const line = [...this.logs].reverse().find((l) => l.msg === 'listener bound' && l['listener'] === name);
    if (!line) throw new Error(`listener ${name} not bound; stderr: ${this.stderr.slice(-2000)}`);
    const text = String(line['address']);
    const at = text.lastIndexOf(':');
    return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
  }

  get adminPort(): number {
    const line = this.logs.find((l) => l.msg === 'admin API listening');
    if (!line) throw new Error('no admin');
    return Number(String(line['address']).split(':').pop());
  }

  admin(method: string, path: string, options: { body?: unknown; contentType?: string } = {}): Promise<HttpReply> {
    return httpRequest(this.adminPort, method, path, options);
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Kills the process if still running (test cleanup). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

/** One request on a fresh connection (no keep-alive pool keeps the test alive). */
export function httpRequest(port: number, method: string, path: string, options: { body?: unknown; contentType?: string } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A TCP upstream. `kind`: echo (reply with what is read), or a custom connection handler. */
export async function startUpstream(onConnection: (s: net.Socket) => void): Promise<{ port: number; server: net.Server; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export const echo = (s: net.Socket): void => {
  s.pipe(s);
};

/** Streams `totalBytes` of seeded random data over ~`durationMs`, then ends; reports the sha256. */
export function slowStreamer(totalBytes: number, durationMs: number, onHash?: (hex: string) => void): (s: net.Socket) => void {
  return (s) => {
    const chunks = 20;
    const size = Math.ceil(totalBytes / chunks);
    const hash = createHash('sha256');
    let sent = 0;
    const tick = (): void => {
      if (s.destroyed) return;
      const n = Math.min(size, totalBytes - sent);
      const buf = randomBytes(n);
      hash.update(buf);
      sent += n;
      s.write(buf);
      if (sent >= totalBytes) {
        onHash?.(hash.digest('hex'));
        s.end();
        return;
      }
      setTimeout(tick, durationMs / chunks);
    };
    tick();
  };
}

/** Connects, optionally sends, and collects everything until the peer ends; returns bytes and sha256. */
export function tcpCollect(port: number, send?: Buffer, host = '127.0.0.1'): Promise<{ bytes: number; sha256: string; error?: string }> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const s = net.connect(port, host, () => {
      if (send) s.write(send);
    });
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    s.on('end', () => s.end());
    s.on('close', () => resolve({ bytes, sha256: hash.digest('hex') }));
    s.on('error', (err) => resolve({ bytes, sha256: '', error: err.message }));
  });
}

/** Sends `payload` through an echo path and checks the same bytes come back. */
export function echoRoundTrip(port: number, payload: Buffer, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let n = 0;
    const s = net.connect(port, host, () => s.write(payload));
    s.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= payload.length) {
        s.destroy();
        resolve(Buffer.concat(got).equals(payload));
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(n >= payload.length && Buffer.concat(got).equals(payload)));
    s.setTimeout(3000, () => s.destroy());
  });
}

/** True if a TCP connect to the port succeeds. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** A MOSN v2 config with tcp_proxy listeners (port 0) and static clusters, admin on port 0. */
export function proxyConfig(options: {
  listeners: { name: string; cluster: string; address?: string; accessLogPath?: string }[];
  clusters: { name: string; ports: number[] }[];
  gracefulTimeout?: string;
  admin?: boolean;
  logPath?: string;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    servers: [
      {
        default_log_path: options.logPath ?? 'stderr',
        default_log_level: 'INFO',
        graceful_timeout: options.gracefulTimeout ?? '5s',
        listeners: options.listeners.map((l) => ({
          name: l.name,
          address: l.address ?? '127.0.0.1:0',
          bind_port: true,
          ...(l.accessLogPath ? { access_logs: [{ log_path: l.accessLogPath, log_format: '%upstream_cluster% %bytes_sent%' }] } : {}),
          filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster: l.cluster } }] }],
        })),
      },
    ],
    cluster_manager: {
      clusters: options.clusters.map((c) => ({
        name: c.name,
        type: 'SIMPLE',
        lb_type: 'LB_ROUNDROBIN',
        connect_timeout: '2s',
        hosts: c.ports.map((p) => ({ address: `127.0.0.1:${p}` })),
      })),
    },
    ...(options.admin === false ? {} : { admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } } }),
    ...options.extra,
  };
}
