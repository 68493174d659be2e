#!/usr/bin/env node
// Latency baseline for bench/bolt/run.sh: the barest Node TCP proxy. Every accepted socket gets its own
// upstream connection and bytes are piped both ways (socket.pipe), nothing parsed. What it adds to a
// request's latency is what any Node proxy pays for two extra socket hops and an event-loop turn; Skiff's
// added latency is compared with it.
//
//   node bench/bolt/pipe.mjs --to-port P [--to-host 127.0.0.1] [--port 0] [--host 127.0.0.1]
//
// Prints "LISTENING <port>" on stdout once bound.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'to-port': { type: 'string' },
    'to-host': { type: 'string', default: '127.0.0.1' },
  },
});
if (opt['to-port'] === undefined) {
  process.stderr.write('pipe: --to-port is required\n');
  process.exit(2);
}
const toPort = Number(opt['to-port']);

const server = net.createServer((down) => {
  down.setNoDelay(true);
  const up = net.connect(toPort, opt['to-host']);
  up.setNoDelay(true);
  const close = () => { down.destroy(); up.destroy(); };
  down.on('error', close);
  up.on('error', close);
  down.on('close', close);
  up.on('close', close);
  down.pipe(up);
  up.pipe(down);
});
server.listen(Number(opt.port), opt.host, 1024, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
