/**
 * Base: the typed face of the native fd-passing addon (native/skiff_fd.c, built by node-gyp into
 * build/Release/skiff_fd.node). The hot upgrade (issue 7) hands listening sockets and live TCP
 * connections to an unrelated new process over a unix socket; that needs SCM_RIGHTS, which Node
 * does not expose. Control path only: nothing here runs per request.
 *
 * Every call is synchronous and never blocks (one bounded exception: `seqpacketConnect`). Nothing
 * notifies readiness: the caller polls `seqpacketAccept` / `recvRecord` / retries `sendRecord`.
 * Every fd the addon creates is O_NONBLOCK + FD_CLOEXEC; received fds are FD_CLOEXEC and keep the
 * sender's O_NONBLOCK (the flag lives on the shared open file description; Node's `net` sets it
 * anyway when it wraps an fd). The addon never closes an fd it returned: the caller owns it
 * (`close`, or hand it to `net.Socket({ fd })` / `server.listen({ fd })`, which then owns it).
 *
 * Failures throw an `Error` with `.code` = errno name ('EADDRINUSE', 'ENOENT', 'ECONNREFUSED',
 * 'EPIPE', …), `.errno` = −errno (libuv's sign) and `.syscall` ('bind', 'connect', 'sendmsg', …).
 * Wrong argument types throw `TypeError` (code ERR_INVALID_ARG_TYPE); out-of-range numbers
 * `RangeError` (ERR_OUT_OF_RANGE).
 *
 * The seqpacket channel carries records, one `sendmsg` each, boundaries kept by the kernel:
 *
 *   sendRecord(fd, data, fds)  ──►  [ data: 1 .. 65536 bytes | SCM_RIGHTS: 0 .. 64 fds ]  ──►  recvRecord(fd)
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Largest `data` one record may carry (bytes). */
export const MAX_RECORD_BYTES = 65536;
/** Most fds one record may carry. */
export const MAX_RECORD_FDS = 64;

export interface NativeFd {
  /** socket(AF_INET or AF_INET6 by the host's form), SO_REUSEADDR, bind, listen(backlog). host: '0.0.0.0', '127.0.0.1', '::', '::1', …
   *  (an IP literal: names throw EINVAL). For '::' IPV6_V6ONLY is off (dual stack, like Node). Returns the fd. */
  listenTcp(host: string, port: number, backlog: number): number;
  /** AF_UNIX SOCK_STREAM listener at path (the caller removed any stale file). */
  listenUnix(path: string, backlog: number): number;
  /** getsockname port of a TCP socket fd (EAFNOSUPPORT for a non-IP socket). */
  localPort(fd: number): number;
  /** AF_UNIX SOCK_SEQPACKET listener at path, backlog 16 (unlinks an existing *socket* file at path
   *  first; any other kind of file stays and bind throws EADDRINUSE). */
  seqpacketListen(path: string): number;
  /** accept4 on a seqpacket listener: the new fd, or -1 when none is pending (EAGAIN). */
  seqpacketAccept(fd: number): number;
  /** connect to a seqpacket listener (fd non-blocking after connect). Throws ENOENT / ECONNREFUSED.
   *  A unix connect completes at once unless the listener's backlog (16) is full; then it waits
   *  at most 1 s for the listener to accept and throws EAGAIN. */
  seqpacketConnect(path: string): number;
  /** sendmsg ONE record: data (1 byte ≤ length ≤ 64 KiB, else throws EMSGSIZE / EINVAL for empty —
   *  an empty record would read as EOF) + fds (≤ 64, else throws EINVAL) as SCM_RIGHTS. MSG_NOSIGNAL.
   *  Returns false on EAGAIN (nothing sent; retry later); throws on other errors (EPIPE when the
   *  peer is gone). The sender keeps its fds open: close them once the record is sent. */
  sendRecord(fd: number, data: Uint8Array, fds: readonly number[]): boolean;
  /** recvmsg ONE record (MSG_CMSG_CLOEXEC; buffer 64 KiB + room for 64 fds). null on EAGAIN;
   *  { data: Buffer(0), fds: [], eof: true } at EOF; a truncated record (MSG_TRUNC/MSG_CTRUNC) throws
   *  EMSGSIZE after closing any fds received. The data Buffer is a fresh copy the caller owns. */
  recvRecord(fd: number): { data: Buffer; fds: number[]; eof: boolean } | null;
  /** close(2). Throws EBADF (callers must not double-close). EINTR is not an error (the fd is gone). */
  close(fd: number): void;
  /** fcntl(F_DUPFD_CLOEXEC): a second descriptor for the same socket (a hot upgrade keeps its listening
   *  sockets alive this way until the new process is done). Throws EBADF for a closed fd. */
  dup(fd: number): number;
  /** fstat + getsockopt(SO_TYPE) → 'tcp' (an AF_INET/AF_INET6 TCP socket) | 'unix' (AF_UNIX
   *  SOCK_STREAM, what Node's net can wrap) | 'other' (a file, a pipe, a seqpacket or UDP socket…).
   *  Used to check inherited fds. Throws EBADF for a closed fd. */
  socketKind(fd: number): 'tcp' | 'unix' | 'other';
}

/** Where node-gyp puts the addon: <repo>/build/Release. This file runs from <repo>/<outDir>/src/base/. */
const ADDON_URL = new URL('../../../build/Release/skiff_fd.node', import.meta.url);

const FUNCTIONS = ['listenTcp', 'listenUnix', 'localPort', 'seqpacketListen', 'seqpacketAccept', 'seqpacketConnect', 'sendRecord', 'recvRecord', 'close', 'dup', 'socketKind'] as const;

function load(): { addon: NativeFd | undefined; error: string | undefined } {
  const path = fileURLToPath(ADDON_URL);
  let loaded: Record<string, unknown>;
  try {
    loaded = createRequire(import.meta.url)(path) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND') return { addon: undefined, error: `native addon not built: ${path} is missing (run npm install, or node scripts/ensure.mjs)` };
    const first = String(err.message ?? err).split('\n', 1)[0];
    return { addon: undefined, error: `native addon ${path} failed to load: ${first}` };
  }
  if (typeof loaded['unsupported'] === 'string') return { addon: undefined, error: `native addon unavailable: ${loaded['unsupported']}` };
  for (const name of FUNCTIONS) {
    if (typeof loaded[name] !== 'function') return { addon: undefined, error: `native addon ${path} is stale: no ${name}() (rebuild it: node-gyp rebuild)` };
  }
  return { addon: loaded as unknown as NativeFd, error: undefined };
}

const result = load();

/** The addon, or undefined when it is not built (then `nativeFdError` says why, one line). */
export const nativeFd: NativeFd | undefined = result.addon;
export const nativeFdError: string | undefined = result.error;
