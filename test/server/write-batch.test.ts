import { createServer, connect, type Socket } from 'node:net';
import t from 'tap';
import { TurnBatch } from '../../apps/server/src/transport/turn-batch.js';
import { LastFrame, wsTextFrame } from '../../apps/server/src/transport/ws-text-frame.js';
import { forEachTarget } from '../helpers/targets.js';
import { jsonClient, textClient, type TestClient } from '../helpers/ws-client.js';

/** A connected pair of TCP sockets on loopback. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

t.test('TurnBatch: writes of one turn wait, corked, and leave together and in order when the turn ends', async (t) => {
  const { client, server, close } = await socketPair();
  t.teardown(close);
  const batch = new TurnBatch();
  const received: Buffer[] = [];
  const got = new Promise<void>((resolve) =>
    client.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (Buffer.concat(received).length === 9) resolve();
    }),
  );
  const turn = batch.turn;
  batch.hold(server);
  for (const part of ['one', 'two', 'six']) server.write(part);
  t.equal(server.writableCorked, 1, 'corked');
  t.equal(server.writableLength, 9, 'nothing left during the turn');
  await got;
  t.equal(Buffer.concat(received).toString(), 'onetwosix', 'whole and in order');
  t.equal(server.writableCorked, 0, 'uncorked after the turn');
  t.not(batch.turn, turn, 'a new turn: writers hold again');
  batch.hold(server);
  t.equal(server.writableCorked, 1, 'the next turn corks again');
  batch.flush();
  t.equal(server.writableCorked, 0);
});

t.test('wsTextFrame: text frames with each length encoding, framed once per payload', async (t) => {
  for (const length of [0, 1, 125, 126, 65_535, 65_536, 70_000]) {
    const frame = wsTextFrame(Buffer.alloc(length, 0x61));
    t.equal(frame[0], 0x81, `${length}: FIN and the text opcode`);
    const [header, declared] =
      frame[1]! < 126 ? [2, frame[1]!] : frame[1] === 126 ? [4, frame.readUInt16BE(2)] : [10, Number(frame.readBigUInt64BE(2))];
    t.equal(declared, length, `${length}: the declared length`);
    t.equal(frame.length, header + length, `${length}: header and payload, nothing else`);
  }
  const text = 'héllo, wörld ✓';
  t.equal(wsTextFrame(text).subarray(2).toString('utf8'), text, 'strings go out as UTF-8');
  t.equal(wsTextFrame(text)[1], Buffer.byteLength(text), 'their length in bytes');
  const last = new LastFrame();
  const payload = Buffer.from('shared');
  t.equal(last.of(payload), last.of(payload), 'the same payload is framed once');
  t.not(last.of(Buffer.from('other')), last.of(payload), 'another payload gets its own frame');
});

/** Frames of the JSON protocol, parsed. */
async function jsonFrames(client: TestClient, count: number, match: (f: { type: string }) => boolean): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  while (out.length < count) out.push((await client.nextJson(match as never, 10_000)) as unknown as Record<string, unknown>);
  return out;
}

forEachTarget(t, {}, async (t, server) => {
  const [alice, bob] = await Promise.all([jsonClient(server.base, 'alice'), jsonClient(server.base, 'bob')]);
  const carol = await textClient(server.base, 'carol');
  t.teardown(() => Promise.all([alice, bob, carol].map((c) => c.close())));

  await t.test('frames caused in one turn arrive whole and in order, small and large', async (t) => {
    // One TCP write from alice: the server reads every frame in one turn and answers in one.
    const tcp = (alice.socket as unknown as { _socket: Socket })._socket;
    const texts = Array.from({ length: 12 }, (_, i) => `${i}:`.padEnd([10, 200, 10_000][i % 3]!, 'abcdefghij'));
    tcp.cork();
    for (let i = 0; i < 30; i++) alice.send({ type: 'ping', id: `p${i}`, sentAt: i });
    texts.forEach((text, i) => {
      alice.send({ type: 'send', id: `m${i}`, text, sentAt: 1 });
    });
    tcp.uncork();

    const pongs = await jsonFrames(alice, 30, (f) => f.type === 'pong');
    t.same(
      pongs.map((p) => p.id),
      Array.from({ length: 30 }, (_, i) => `p${i}`),
      'every pong, in order',
    );
    const acks = await jsonFrames(alice, 12, (f) => f.type === 'ack');
    t.same(
      acks.map((a) => a.ref),
      texts.map((_, i) => `m${i}`),
      'every ack, in order',
    );
    const messages = await jsonFrames(bob, 12, (f) => f.type === 'message');
    t.same(
      messages.map((m) => m.text),
      texts,
      'a JSON client gets every message whole, in order',
    );
    t.same(
      messages.map((m) => Object.keys(m)),
      messages.map(() => ['type', 'id', 'from', 'to', 'room', 'conversation', 'seq', 'text', 'sentAt', 'serverAt']),
      'with the message frame fields, in order',
    );
    for (const text of texts) t.equal(await carol.next((f) => f.startsWith('Client #alice says: ')), `Client #alice says: ${text}`);

    // A history page over 64 KiB goes out with the 8-byte length.
    bob.send({ type: 'history', id: 'h', conversation: 'everyone', limit: 12 });
    const history = (await bob.nextJson((f) => f.type === 'history')) as unknown as { messages: { text: string }[] };
    t.same(history.messages.map((m) => m.text).sort(), [...texts].sort(), 'a large frame arrives whole');
  });
});
