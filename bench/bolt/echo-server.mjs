#!/usr/bin/env node
// Bolt benchmark upstream (bench/bolt/run.sh): answers every Bolt request with a response of the same
// id, serializer, class name and content (status 0), and every heartbeat with a heartbeat response.
// Oneway requests get nothing. It frames with Skiff's own compiled codec (decodeBolt / encodeBolt from
// $SKIFF_BUILD, default dist/), so the benchmark writes no second Bolt encoder.
//
//   node bench/bolt/echo-server.mjs [--port 0] [--host 127.0.0.1]
//
// Prints "LISTENING <port>" on stdout once bound. Also the idle-phase baseline: a plain Node server
// holding sockets, one 'data' listener each, nothing else per connection.
//
// Cheap per request so that it does not bound the direct run more than it must: a response is a copy of
// a cached template (encoded once per distinct class+content) with the id written in, and the responses
// to one read are written with one write.
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(repo, process.env.SKIFF_BUILD ?? 'dist');
const { decodeBolt, encodeBolt, BoltType, BoltCmdCode, BoltCodec } = await import(pathToFileURL(path.join(build, 'src/extensions/codecs/bolt/bolt.js')).href);
const { XFrameKind } = await import(pathToFileURL(path.join(build, 'src/api/xprotocol.js')).href);

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const LIMITS = { maxFrameBytes: 16 * 1024 * 1024 };
/** Request header sizes (v1, v2): class name, header map and content follow. */
const REQ_HEADER = [0, 22, 24];
const ID_AT = [0, 5, 6];

/** Cached response template: the last request body (class + content) seen and its encoded response. */
let lastBody = Buffer.alloc(0);
let lastVersion = 0;
let lastSerializer = -1;
let lastTemplate = Buffer.alloc(0);

/** The response template for a request frame (v1/v2, no CRC: the load generator sends none). */
function templateFor(bytes) {
  const version = bytes[0] === 2 ? 2 : 1;
  const h = REQ_HEADER[version];
  const classLen = bytes.readUInt16BE(h - 8);
  const mapLen = bytes.readUInt16BE(h - 6);
  const contentLen = bytes.readUInt32BE(h - 4);
  const serializer = bytes[version === 1 ? 9 : 10];
  const contentAt = h + classLen + mapLen;
  // The body that decides the response: class name and content (the header map is not echoed).
  const cls = bytes.subarray(h, h + classLen);
  const content = bytes.subarray(contentAt, contentAt + contentLen);
  if (version === lastVersion && serializer === lastSerializer && lastBody.length === classLen + contentLen
    && cls.equals(lastBody.subarray(0, classLen)) && content.equals(lastBody.subarray(classLen))) {
    return lastTemplate;
  }
  lastVersion = version;
  lastSerializer = serializer;
  lastBody = Buffer.concat([cls, content]);
  lastTemplate = encodeBolt({
    version, type: BoltType.Response, cmdCode: BoltCmdCode.Response, requestId: 0, serializer, status: 0,
    className: cls.toString('utf8'), content: Buffer.from(content),
  });
  return lastTemplate;
}

const outFrames = [];
const outIds = [];

function serve(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let rest = null;
  socket.on('data', (chunk) => {
    let buf = chunk;
    if (rest !== null) { buf = Buffer.concat([rest, chunk]); rest = null; }
    let off = 0;
    let outLen = 0;
    outFrames.length = 0;
    outIds.length = 0;
    while (off < buf.length) {
      const r = decodeBolt(buf, off, LIMITS);
      if (r.kind === 1) break;
      if (r.kind === 2) { socket.destroy(); return; }
      off += r.consumed;
      if (r.kind === 3) continue; // refused (unknown command): the benchmark never sends one
      const f = r.frame;
      if (f.kind === XFrameKind.Request) {
        const t = templateFor(f.bytes);
        outFrames.push(t);
        outIds.push(f.requestId);
        outLen += t.length;
      } else if (f.kind === XFrameKind.HeartbeatRequest) {
        const hb = BoltCodec.encodeHeartbeatResponse(f);
        outFrames.push(hb);
        outIds.push(-1);
        outLen += hb.length;
      }
    }
    if (off < buf.length) rest = Buffer.from(buf.subarray(off)); // copy: do not pin the whole chunk
    if (outLen === 0) return;
    const out = Buffer.allocUnsafe(outLen);
    let p = 0;
    for (let i = 0; i < outFrames.length; i++) {
      const t = outFrames[i];
      t.copy(out, p);
      const id = outIds[i];
      if (id >= 0) out.writeUInt32BE(id, p + ID_AT[t[0] === 2 ? 2 : 1]);
      p += t.length;
    }
    socket.write(out);
  });
}

const server = net.createServer(serve);
server.maxConnections = 1 << 30;
server.listen(Number(opt.port), opt.host, 1024, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
