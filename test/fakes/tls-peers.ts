/**
 * Test fakes for TLS: an HTTPS (or plain HTTP) origin that answers with its name and what it saw of
 * the client's certificate, and a one-request TLS client that reports what the handshake negotiated.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';

export interface Origin {
  readonly port: number;
  /** Requests that reached it. */
  readonly hits: number;
  close(): Promise<void>;
}

/** An origin answering `name` (+ `|peer=<CN>` when the client showed a certificate). */
export async function startOrigin(name: string, tlsOptions?: tls.TlsOptions, port = 0): Promise<Origin> {
  const state = { port: 0, hits: 0, close: async (): Promise<void> => undefined };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    state.hits++;
    const sock = req.socket as tls.TLSSocket;
    const peer = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
    const cn = peer !== undefined && peer !== null && 'subject' in peer && peer.subject !== undefined ? `|peer=${peer.subject.CN}` : '';
    req.resume();
    req.on('end', () => res.end(`${name}${cn}`));
  };
  const server: http.Server | https.Server = tlsOptions === undefined ? http.createServer(handler) : https.createServer(tlsOptions, handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => { for (const s of sockets) s.destroy(); await new Promise<void>((r) => server.close(() => r())); };
  return state;
}

export interface TlsReply {
  readonly ok: boolean;
  readonly status: number;
  readonly body: string;
  readonly error: string;
  readonly protocol: string;
  readonly alpn: string;
  readonly serial: string;
  readonly resumed: boolean;
  readonly session: Buffer | undefined;
}

/** One `GET path` over a fresh TLS connection (Connection: close); never throws. */
export function tlsGet(port: number, options: tls.ConnectionOptions & { path?: string; hostHeader?: string } = {}): Promise<TlsReply> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let data = '';
    let done = false;
    const { path, hostHeader, ...connect } = options;
    const s = tls.connect({ host: '127.0.0.1', port, ...connect });
    const finish = (error: string): void => {
      if (done) return;
      done = true;
      const head = data.split('\r\n\r\n')[0] ?? '';
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const peer = s.getPeerCertificate?.();
      resolve({
        ok: error === '' && status !== 0,
        status,
        body: data.slice(data.indexOf('\r\n\r\n') + 4),
        error,
        protocol: s.getProtocol?.() ?? '',
        alpn: typeof s.alpnProtocol === 'string' ? s.alpnProtocol : '',
        serial: peer !== undefined && peer !== null && 'serialNumber' in peer ? String(peer.serialNumber).toUpperCase() : '',
        resumed: s.isSessionReused?.() ?? false,
        session,
      });
      s.destroy();
    };
    s.on('session', (b: Buffer) => { session = b; });
    s.once('secureConnect', () => {
      s.write(`GET ${path ?? '/'} HTTP/1.1\r\nHost: ${hostHeader ?? 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { data += d; });
    s.on('end', () => finish(''));
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    s.on('close', () => finish(data === '' ? 'closed' : ''));
    s.setTimeout(5000, () => finish('timeout'));
  });
}
