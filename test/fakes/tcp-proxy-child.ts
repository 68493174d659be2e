/**
 * Test entry script (run as a child process by test/integration/tcp-proxy-rss.test.ts): a tcp_proxy
 * listener on 127.0.0.1:0 in front of one upstream, so the parent can measure this process's RSS
 * alone. Usage: node tcp-proxy-child.js <upstream-port>. Prints `{"port":N}` once listening; exits
 * on SIGTERM or when stdin closes.
 */
import { clusterConfig, hostConfig, tcp } from './net-fixtures.js';
import { startTcpProxy } from './tcp-proxy-harness.js';

const upstreamPort = Number(process.argv[2]);
const proxy = await startTcpProxy({
  clusters: [clusterConfig('up', [hostConfig(tcp('127.0.0.1', upstreamPort))])],
  tcpProxy: { cluster: 'up' },
});
process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
const stop = (): void => {
  proxy.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
