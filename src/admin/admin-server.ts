/**
 * Admin layer: the admin HTTP server (node:http) on the `admin` address from config, exactly as
 * configured (the bundled config uses 127.0.0.1). It routes by exact path to one handler per
 * endpoint (handlers/), and guards the process against admin abuse so the data plane is unaffected:
 *
 *   - mutating endpoints: POST only (else 405), `Content-Type: application/json` only (else 415:
 *     a browser's cross-origin "simple" request can't trigger a change), body ≤ maxBodyBytes (413);
 *   - read-only endpoints: GET/HEAD only (else 405);
 *   - at most `maxConnections` admin connections (extra ones are refused at accept), a headers
 *     timeout and a whole-request timeout (slowloris), bounded header size.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TcpAddress } from '../api/config.js';
import type { Logger } from '../api/observability.js';
import { ErrorCode, SkiffError } from '../base/errors.js';
import type { AdminContext } from './admin-context.js';
import { text, type AdminHandler, type AdminResponse } from './admin-handler.js';
import { builtinAdminHandlers } from './handlers/index.js';

export interface AdminServerOptions {
  readonly address: TcpAddress;
  readonly context: AdminContext;
  readonly logger: Logger;
  /** Defaults to every built-in endpoint. */
  readonly handlers?: readonly AdminHandler[];
  /** Default 64. */
  readonly maxConnections?: number;
  /** Default 4 MiB. */
  readonly maxBodyBytes?: number;
  /** Default 5 s. */
  readonly headersTimeoutMs?: number;
  /** Default 15 s. */
  readonly requestTimeoutMs?: number;
}

class BodyTooLarge extends Error {}

export class AdminServer {
  readonly #options: AdminServerOptions;
  readonly #handlers: ReadonlyMap<string, AdminHandler>;
  readonly #maxBodyBytes: number;
  readonly #server: http.Server;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    this.#maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#handlers = new Map((options.handlers ?? builtinAdminHandlers()).map((h) => [h.path, h]));
    const headersTimeout = options.headersTimeoutMs ?? 5000;
    this.#server = http.createServer(
      {
        headersTimeout,
        requestTimeout: Math.max(options.requestTimeoutMs ?? 15_000, headersTimeout + 1),
        keepAliveTimeout: 5000,
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => {
        this.#serve(req, res).catch((err: unknown) => {
          options.logger.error({ err }, 'admin request failed');
          if (!res.headersSent) this.#send(res, req.method === 'HEAD', text(500, 'internal error'));
          else res.destroy();
        });
      },
    );
    this.#server.maxConnections = options.maxConnections ?? 64;
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /**
   * Binds the admin address (or serves `fd`, an admin socket inherited in a hot upgrade); rejects
   * `E_ADDR_IN_USE` / `E_BIND` with a one-line message.
   */
  listen(fd?: number): Promise<void> {
    const { address } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const code = err.code === 'EADDRINUSE' ? ErrorCode.AddressInUse : ErrorCode.Bind;
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound: ${err.code ?? err.message}`;
        reject(new SkiffError(code, `admin: address ${address.text} ${why}`, { cause: err }));
      };
      this.#server.once('error', onError);
      this.#server.listen(fd !== undefined ? { fd } : { host: address.host, port: address.port }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err) => this.#options.logger.error({ err }, 'admin server error'));
        resolve();
      });
    });
  }

  /** The bound port (the real one when config said 0). */
  get port(): number {
    const a = this.#server.address() as AddressInfo | null;
    return a?.port ?? 0;
  }

  get host(): string {
    return this.#options.address.host;
  }

  /** The listening socket (a hot upgrade hands it over); undefined when not listening. */
  get server(): import('node:net').Server {
    return this.#server;
  }

  /** Stops accepting and closes every admin connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        this.#server.closeAllConnections();
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      this.#send(res, head, text(400, 'bad request target'));
      return;
    }
    const handler = this.#handlers.get(url.pathname);
    if (!handler) {
      req.resume();
      this.#send(res, head, text(404, `no admin endpoint ${url.pathname} (see /)`));
      return;
    }
    if (!handler.mutating) {
      req.resume();
      if (method !== 'GET' && !head) {
        res.setHeader('Allow', 'GET, HEAD');
        this.#send(res, false, text(405, `${url.pathname} accepts GET only`));
        return;
      }
      this.#send(res, head, await handler.handle({ method, url, body: undefined }, this.#options.context));
      return;
    }
    if (method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'POST');
      this.#send(res, head, text(405, `${url.pathname} accepts POST only`));
      return;
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      req.resume();
      this.#send(res, false, text(415, `${url.pathname} accepts only Content-Type: application/json`));
      return;
    }
    let raw: string;
    try {
      raw = await this.#readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        this.#send(res, false, text(413, `request body larger than ${this.#maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      throw err;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      this.#send(res, false, text(400, `request body is not valid JSON: ${(err as Error).message}`));
      return;
    }
    this.#options.logger.info({ endpoint: url.pathname }, 'admin mutation request');
    this.#send(res, false, await handler.handle({ method, url, body }, this.#options.context));
  }

  #readBody(req: http.IncomingMessage): Promise<string> {
    const limit = this.#maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) return Promise.reject(new BodyTooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.removeAllListeners('data');
          req.pause();
          reject(new BodyTooLarge());
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  #send(res: http.ServerResponse, head: boolean, reply: AdminResponse): void {
    const payload = reply.kind === 'json' ? `${JSON.stringify(reply.body, null, 2)}\n` : String(reply.body);
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.kind === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(payload));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end(head ? undefined : payload);
  }
}
