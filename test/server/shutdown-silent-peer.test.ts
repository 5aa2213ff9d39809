import { connect, type Socket } from 'node:net';
import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient } from '../helpers/ws-client.js';

/**
 * A client that never answers its close frame (a frozen tab, a peer behind a
 * dead NAT) must not hold a shutdown for ws's 30 s close timeout: the server
 * sends 1001, waits a moment, then cuts the socket, and the stop finishes.
 * This test's own timeout is below those 30 s, so a server that waited for
 * the peer fails it.
 */

/** A WebSocket client written by hand on a raw socket: it upgrades, then never writes again. */
function silentPeer(port: number, id: string): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const received = () => Buffer.concat(chunks);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // Admitted once the welcome frame has come after the 101.
      if (received().includes('"welcome"')) resolve({ socket, received, closed });
    });
    socket.write(
      `GET /ws/${id} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chorus.v1\r\n\r\n',
    );
  });
}

t.test('a shutdown cuts a peer that never answers its close frame, after sending it 1001', { timeout: 20_000 }, async (t) => {
  const server = await startInProcess();
  const peer = await silentPeer(server.port, 'frozen');
  const polite = await jsonClient(server.base, 'polite');

  await server.stop();
  await peer.closed;
  t.pass('the stop finished and the silent peer was cut');

  // Its last bytes are a close frame with 1001: 0x88, a length byte (unmasked), then the code.
  const bytes = peer.received();
  const at = bytes.lastIndexOf(Buffer.from([0x03, 0xe9]));
  t.ok(at >= 2 && bytes[at - 2] === 0x88, 'the silent peer was sent a close frame with 1001 before it was cut');
  t.equal((await polite.closed).code, 1001, 'a client that answers is closed with 1001 as before');
});
