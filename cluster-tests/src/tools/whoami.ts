// "Who am I" over TCP (HTTP) and UDP: the server answers every request with the address it came
// from and logs one JSON line per request; NAT tests read which source address a host outside
// the overlay saw. Run inside a namespace by the harness:
//
//   node whoami.js serve PORT [HOST]           HTTP on TCP and a UDP socket on PORT (HOST :: = both families)
//   node whoami.js ask-udp ADDRESS PORT [MS]   one UDP question; prints the answer, exit 1 on timeout
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { isIPv6 } from 'node:net';

function peer(proto: 'tcp' | 'udp', address: string, port: number) {
  // A v4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
  return { proto, address: address.replace(/^::ffff:(?=\d+\.)/, ''), port };
}

function serve(port: number, host: string): void {
  let pending = 2;
  const up = () => {
    if (--pending === 0) process.stdout.write(`listening on ${host} port ${port} (tcp, udp)\n`);
  };
  createServer((req, res) => {
    const p = peer('tcp', req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0);
    process.stdout.write(`${JSON.stringify(p)}\n`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(p));
  }).listen({ port, host, ipv6Only: false }, up);
  const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: false });
  udp.on('message', (_msg, rinfo) => {
    const p = peer('udp', rinfo.address, rinfo.port);
    process.stdout.write(`${JSON.stringify(p)}\n`);
    udp.send(JSON.stringify(p), rinfo.port, rinfo.address);
  });
  udp.bind(port, host, up);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function askUdp(address: string, port: number, timeoutMs: number): void {
  const sock = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  const timer = setTimeout(() => {
    process.stderr.write(`no UDP answer from ${address} port ${port} within ${timeoutMs} ms\n`);
    process.exit(1);
  }, timeoutMs);
  sock.on('message', (msg) => {
    clearTimeout(timer);
    process.stdout.write(`${msg.toString()}\n`);
    sock.close();
  });
  sock.send('whoami', port, address);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'serve' && a) serve(Number(a), b ?? '::');
else if (mode === 'ask-udp' && a && b) askUdp(a, Number(b), Number(c ?? 2000));
else {
  process.stderr.write('usage: whoami.js serve PORT [HOST] | ask-udp ADDRESS PORT [TIMEOUT_MS]\n');
  process.exit(2);
}
