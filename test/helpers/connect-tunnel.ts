/** @module test/helpers/connect-tunnel — the tunnel an HTTP proxy opens for a CONNECT request, for test proxies. */
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

/** Answers a CONNECT `host:port` request: opens the upstream connection and splices the two sockets together. */
export function openTunnel(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const [host, port] = (req.url ?? '').split(':');
  const upstream = connect(Number(port), host ?? '', () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
}
