/*
 * Native: file-descriptor passing for the hot upgrade (issue 7). Node exposes no SCM_RIGHTS between
 * unrelated processes, so this Node-API addon offers the few socket calls the handoff needs:
 * TCP / unix listeners made by hand (so their fd can be handed over), an AF_UNIX SOCK_SEQPACKET
 * control channel (one sendmsg = one record, boundaries kept by the kernel), and record send/receive
 * with fds attached as SCM_RIGHTS. Everything is synchronous and non-blocking: the caller polls.
 * The typed face is src/base/native-fd.ts; read the contract there.
 *
 * Every fd this file creates is O_NONBLOCK + FD_CLOEXEC (received fds get CLOEXEC through
 * MSG_CMSG_CLOEXEC; their O_NONBLOCK flag belongs to the open file description, shared with the
 * sender, so it is left as the sender had it). Failures throw an Error carrying
 *   .code    errno name ('EADDRINUSE', 'ENOENT', …)   .errno  -errno, as libuv reports it
 *   .syscall the call that failed ('bind', 'sendmsg', …)
 * Bad argument types throw TypeError (code ERR_INVALID_ARG_TYPE), bad ranges RangeError
 * (ERR_OUT_OF_RANGE); nothing here aborts the process.
 *
 * Record wire (one seqpacket message):
 *   +---------------------- 1 .. 65536 bytes of data ----------------------+
 *   | payload (opaque to this file)                                          |
 *   +------------------------------------------------------------------------+
 *   ancillary: at most one SCM_RIGHTS cmsg, 0 .. 64 ints
 * A zero-byte record is refused on send: recvmsg() returns 0 both for it and for EOF.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <node_api.h>

#if defined(__linux__)

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RECORD_BYTES 65536
#define MAX_RECORD_FDS 64
#define SEQPACKET_BACKLOG 16

/* ---------- errors ---------- */

static const char *errno_name(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case EALREADY: return "EALREADY";
    case EBADF: return "EBADF";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINPROGRESS: return "EINPROGRESS";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISCONN: return "EISCONN";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case EMSGSIZE: return "EMSGSIZE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENFILE: return "ENFILE";
    case ENOBUFS: return "ENOBUFS";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case ENOTCONN: return "ENOTCONN";
    case ENOTDIR: return "ENOTDIR";
    case ENOTSOCK: return "ENOTSOCK";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPERM: return "EPERM";
    case EPIPE: return "EPIPE";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EROFS: return "EROFS";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "UNKNOWN";
  }
}

/* Throws Error("<syscall> <CODE> <detail>") with .code/.errno/.syscall; always returns NULL. */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *detail) {
  char message[512];
  const char *code = errno_name(err);
  if (detail != NULL && detail[0] != '\0') snprintf(message, sizeof message, "%s %s %s (%s)", syscall, code, detail, strerror(err));
  else snprintf(message, sizeof message, "%s %s (%s)", syscall, code, strerror(err));
  napi_value code_v, msg_v, error, errno_v, syscall_v;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg_v) != napi_ok) return NULL;
  if (napi_create_error(env, code_v, msg_v, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, -err, &errno_v) == napi_ok) napi_set_named_property(env, error, "errno", errno_v);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v) == napi_ok) napi_set_named_property(env, error, "syscall", syscall_v);
  napi_throw(env, error);
  return NULL;
}

/* ---------- argument helpers (each throws and returns 0 on bad input) ---------- */

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *fn) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    char message[128];
    snprintf(message, sizeof message, "%s() expects %zu arguments, got %zu", fn, want, argc);
    napi_throw_type_error(env, "ERR_MISSING_ARGS", message);
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value v, const char *name, int min, int max, int *out) {
  napi_valuetype type;
  char message[160];
  if (napi_typeof(env, v, &type) != napi_ok) return 0;
  if (type != napi_number) {
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= (double)min && d <= (double)max) || d != (double)(int)d) {
    snprintf(message, sizeof message, "%s must be an integer in [%d, %d]", name, min, max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return 0;
  }
  *out = (int)d;
  return 1;
}

static int get_fd(napi_env env, napi_value v, int *out) {
  return get_int(env, v, "fd", -1, 0x7fffffff, out);
}

/* Copies a JS string into buf (NUL-terminated). Returns its byte length, or -1 after throwing. */
static ptrdiff_t get_string(napi_env env, napi_value v, const char *name, char *buf, size_t cap) {
  napi_valuetype type;
  char message[160];
  if (napi_typeof(env, v, &type) != napi_ok) return -1;
  if (type != napi_string) {
    snprintf(message, sizeof message, "%s must be a string", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return -1;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  if (len + 1 > cap) return (ptrdiff_t)len; /* caller checks against cap */
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return -1;
  return (ptrdiff_t)len;
}

/* Fills a sockaddr_un for a filesystem path; throws ENAMETOOLONG / EINVAL. */
static int get_unix_addr(napi_env env, napi_value v, const char *syscall, struct sockaddr_un *sun, socklen_t *len) {
  char path[sizeof sun->sun_path + 1];
  ptrdiff_t n = get_string(env, v, "path", path, sizeof path);
  if (n < 0) return 0;
  if ((size_t)n >= sizeof sun->sun_path) { throw_errno(env, ENAMETOOLONG, syscall, "(path longer than sun_path)"); return 0; }
  if (n == 0 || memchr(path, '\0', (size_t)n) != NULL) { throw_errno(env, EINVAL, syscall, "(empty path or NUL inside)"); return 0; }
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  memcpy(sun->sun_path, path, (size_t)n + 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
  return 1;
}

static napi_value make_int(napi_env env, int x) {
  napi_value v;
  return napi_create_int32(env, x, &v) == napi_ok ? v : NULL;
}

static void close_keep_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

/* ---------- listeners ---------- */

static napi_value listen_tcp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char host[INET6_ADDRSTRLEN + 1];
  int port, backlog;
  if (!get_args(env, info, 3, argv, "listenTcp")) return NULL;
  ptrdiff_t hn = get_string(env, argv[0], "host", host, sizeof host);
  if (hn < 0) return NULL;
  if (!get_int(env, argv[1], "port", 0, 65535, &port)) return NULL;
  if (!get_int(env, argv[2], "backlog", 0, 0x7fffffff, &backlog)) return NULL;
  if ((size_t)hn >= sizeof host) return throw_errno(env, EINVAL, "listenTcp", "(host is not an IP address)");

  struct sockaddr_storage ss;
  socklen_t sslen;
  int any6 = 0;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sslen = sizeof *sin;
  } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sslen = sizeof *sin6;
    any6 = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
  } else {
    return throw_errno(env, EINVAL, "listenTcp", host);
  }

  char detail[INET6_ADDRSTRLEN + 16];
  snprintf(detail, sizeof detail, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", detail);
  int on = 1, off = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) goto fail_setsockopt;
  /* '::' is dual stack, as in Node, whatever net.ipv6.bindv6only says. */
  if (any6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) goto fail_setsockopt;
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    close_keep_errno(fd);
    return throw_errno(env, errno, "bind", detail);
  }
  if (listen(fd, backlog) != 0) {
    close_keep_errno(fd);
    return throw_errno(env, errno, "listen", detail);
  }
  return make_int(env, fd);
fail_setsockopt:
  close_keep_errno(fd);
  return throw_errno(env, errno, "setsockopt", detail);
}

/* socket + bind + listen on an AF_UNIX path; returns the fd or -1 after throwing. */
static int listen_unix_path(napi_env env, napi_value path_v, int type, int backlog, int unlink_socket) {
  struct sockaddr_un sun;
  socklen_t len;
  if (!get_unix_addr(env, path_v, "bind", &sun, &len)) return -1;
  if (unlink_socket) {
    /* Remove a stale socket file left by a dead listener; never a regular file or directory. */
    struct stat st;
    if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(sun.sun_path) != 0 && errno != ENOENT) {
      throw_errno(env, errno, "unlink", sun.sun_path);
      return -1;
    }
  }
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { throw_errno(env, errno, "socket", sun.sun_path); return -1; }
  if (bind(fd, (struct sockaddr *)&sun, len) != 0) {
    close_keep_errno(fd);
    throw_errno(env, errno, "bind", sun.sun_path);
    return -1;
  }
  if (listen(fd, backlog) != 0) {
    close_keep_errno(fd);
    throw_errno(env, errno, "listen", sun.sun_path);
    return -1;
  }
  return fd;
}

static napi_value listen_unix(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int backlog;
  if (!get_args(env, info, 2, argv, "listenUnix")) return NULL;
  if (!get_int(env, argv[1], "backlog", 0, 0x7fffffff, &backlog)) return NULL;
  int fd = listen_unix_path(env, argv[0], SOCK_STREAM, backlog, 0);
  return fd < 0 ? NULL : make_int(env, fd);
}

static napi_value local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "localPort") || !get_fd(env, argv[0], &fd)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, errno, "getsockname", NULL);
  if (ss.ss_family == AF_INET) return make_int(env, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  if (ss.ss_family == AF_INET6) return make_int(env, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
  return throw_errno(env, EAFNOSUPPORT, "getsockname", "(not an IP socket)");
}

/* ---------- seqpacket control channel ---------- */

static napi_value seqpacket_listen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "seqpacketListen")) return NULL;
  int fd = listen_unix_path(env, argv[0], SOCK_SEQPACKET, SEQPACKET_BACKLOG, 1);
  return fd < 0 ? NULL : make_int(env, fd);
}

static napi_value seqpacket_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "seqpacketAccept") || !get_fd(env, argv[0], &fd)) return NULL;
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) return make_int(env, c);
    if (errno == EINTR || errno == ECONNABORTED) continue; /* a peer gave up: try the next one */
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, -1);
    return throw_errno(env, errno, "accept4", NULL);
  }
}

static napi_value seqpacket_connect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct sockaddr_un sun;
  socklen_t len;
  if (!get_args(env, info, 1, argv, "seqpacketConnect")) return NULL;
  if (!get_unix_addr(env, argv[0], "connect", &sun, &len)) return NULL;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", sun.sun_path);
  /* A unix connect completes at once unless the listener's backlog is full; then a blocking
   * connect waits for the listener to accept. Bound that wait (SO_SNDTIMEO) so a wedged old
   * process cannot freeze the event loop: after 1 s the connect fails with EAGAIN. */
  struct timeval tv = {1, 0}, zero = {0, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) goto fail_setsockopt;
  if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
    close_keep_errno(fd);
    return throw_errno(env, errno, "connect", sun.sun_path);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero) != 0) goto fail_setsockopt;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    close_keep_errno(fd);
    return throw_errno(env, errno, "fcntl", sun.sun_path);
  }
  return make_int(env, fd);
fail_setsockopt:
  close_keep_errno(fd);
  return throw_errno(env, errno, "setsockopt", sun.sun_path);
}

/* Ancillary buffer sized for MAX_RECORD_FDS, aligned for struct cmsghdr. */
typedef union {
  char buf[CMSG_SPACE(sizeof(int) * MAX_RECORD_FDS)];
  struct cmsghdr align;
} fd_control;

static napi_value send_record(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  if (!get_args(env, info, 3, argv, "sendRecord") || !get_fd(env, argv[0], &fd)) return NULL;

  bool is_typed = false;
  napi_typedarray_type ttype;
  size_t length = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok) return NULL;
  if (is_typed && napi_get_typedarray_info(env, argv[1], &ttype, &length, &data, NULL, NULL) != napi_ok) return NULL;
  if (!is_typed || ttype != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data must be a Uint8Array or Buffer");
    return NULL;
  }
  if (length > MAX_RECORD_BYTES) return throw_errno(env, EMSGSIZE, "sendmsg", "(record data over 65536 bytes)");
  if (length == 0) return throw_errno(env, EINVAL, "sendmsg", "(empty record: indistinguishable from EOF)");

  bool is_array = false;
  uint32_t nfds = 0;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok) return NULL;
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fds must be an array of numbers");
    return NULL;
  }
  if (napi_get_array_length(env, argv[2], &nfds) != napi_ok) return NULL;
  if (nfds > MAX_RECORD_FDS) return throw_errno(env, EINVAL, "sendmsg", "(more than 64 fds in one record)");

  fd_control control;
  int fds[MAX_RECORD_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value el;
    if (napi_get_element(env, argv[2], i, &el) != napi_ok) return NULL;
    if (!get_int(env, el, "fds[i]", 0, 0x7fffffff, &fds[i])) return NULL;
  }

  struct iovec iov = {data, length};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    napi_value result;
    if (n >= 0) {
      /* seqpacket sends a record whole or not at all */
      if (napi_get_boolean(env, true, &result) != napi_ok) return NULL;
      return result;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (napi_get_boolean(env, false, &result) != napi_ok) return NULL;
      return result;
    }
    return throw_errno(env, errno, "sendmsg", NULL);
  }
}

static napi_value recv_record(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "recvRecord") || !get_fd(env, argv[0], &fd)) return NULL;

  /* On the stack: re-entrant across worker threads, no allocation when nothing is pending. */
  unsigned char data[MAX_RECORD_BYTES];
  fd_control control;
  struct iovec iov = {data, sizeof data};
  struct msghdr msg;
  ssize_t n;
  for (;;) {
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_value nothing;
      return napi_get_null(env, &nothing) == napi_ok ? nothing : NULL;
    }
    return throw_errno(env, errno, "recvmsg", NULL);
  }

  int fds[CMSG_SPACE(sizeof(int) * MAX_RECORD_FDS) / sizeof(int)];
  size_t nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k && nfds < sizeof fds / sizeof fds[0]; i++) {
      memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    /* A record we cannot hold whole: drop it and every fd it brought, and say so. */
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    return throw_errno(env, EMSGSIZE, "recvmsg",
                       (msg.msg_flags & MSG_CTRUNC) ? "(record carried more than 64 fds; received fds closed)"
                                                    : "(record over 65536 bytes; received fds closed)");
  }

  napi_value result, buf, arr, eof;
  void *copy = NULL;
  int ok = napi_create_object(env, &result) == napi_ok &&
           napi_create_buffer_copy(env, (size_t)n, data, &copy, &buf) == napi_ok &&
           napi_create_array_with_length(env, nfds, &arr) == napi_ok &&
           napi_get_boolean(env, n == 0 && nfds == 0, &eof) == napi_ok;
  for (size_t i = 0; ok && i < nfds; i++) {
    napi_value v;
    ok = napi_create_int32(env, fds[i], &v) == napi_ok && napi_set_element(env, arr, (uint32_t)i, v) == napi_ok;
  }
  ok = ok && napi_set_named_property(env, result, "data", buf) == napi_ok &&
       napi_set_named_property(env, result, "fds", arr) == napi_ok &&
       napi_set_named_property(env, result, "eof", eof) == napi_ok;
  if (!ok) {
    /* JS could not take the fds (an exception is pending): do not leak them. */
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    return NULL;
  }
  return result;
}

/* ---------- plain fd helpers ---------- */

static napi_value close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "close") || !get_fd(env, argv[0], &fd)) return NULL;
  /* Linux releases the fd even when close() reports EINTR: never retry, never report it. */
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
  napi_value undefined;
  return napi_get_undefined(env, &undefined) == napi_ok ? undefined : NULL;
}

/* dup(fd) as a close-on-exec descriptor: keeps a socket alive in this process while another owns it
 * (a hot upgrade keeps its listening sockets this way until the new process is done). */
static napi_value dup_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "dup") || !get_fd(env, argv[0], &fd)) return NULL;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return throw_errno(env, errno, "dup", NULL);
  return make_int(env, copy);
}

static napi_value socket_kind(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!get_args(env, info, 1, argv, "socketKind") || !get_fd(env, argv[0], &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return throw_errno(env, errno, "fstat", NULL);
  const char *kind = "other";
  if (S_ISSOCK(st.st_mode)) {
    int type = 0;
    socklen_t tlen = sizeof type;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0) return throw_errno(env, errno, "getsockopt", NULL);
    if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0) return throw_errno(env, errno, "getsockname", NULL);
    if (type == SOCK_STREAM && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
      int proto = IPPROTO_TCP;
#ifdef SO_PROTOCOL
      socklen_t plen = sizeof proto;
      if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) != 0) proto = IPPROTO_TCP;
#endif
      if (proto == IPPROTO_TCP) kind = "tcp";
    } else if (type == SOCK_STREAM && ss.ss_family == AF_UNIX) {
      kind = "unix";
    }
  }
  napi_value v;
  return napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : NULL;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback cb; } fns[] = {
      {"listenTcp", listen_tcp},
      {"listenUnix", listen_unix},
      {"localPort", local_port},
      {"seqpacketListen", seqpacket_listen},
      {"seqpacketAccept", seqpacket_accept},
      {"seqpacketConnect", seqpacket_connect},
      {"sendRecord", send_record},
      {"recvRecord", recv_record},
      {"close", close_fd},
      {"dup", dup_fd},
      {"socketKind", socket_kind},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}

#else /* !__linux__ */

/* SOCK_SEQPACKET, accept4 and MSG_CMSG_CLOEXEC are Linux's: elsewhere the addon builds (so
 * `npm install` succeeds) but only says why it cannot help; the loader reports it. */
NAPI_MODULE_INIT() {
  napi_value why;
  if (napi_create_string_utf8(env, "skiff_fd supports Linux only", NAPI_AUTO_LENGTH, &why) == napi_ok)
    napi_set_named_property(env, exports, "unsupported", why);
  return exports;
}

#endif
