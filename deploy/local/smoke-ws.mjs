// The WebSocket half of deploy/local/smoke.sh, with the `ws` package of the repository's node_modules.
//   node deploy/local/smoke-ws.mjs welcome ws://127.0.0.1:PORT N
//     N JSON clients (chorus.v1) through the proxy: each gets a welcome; prints the nodes they landed on;
//     then a private message from the first to the second arrives (across nodes when they differ).
//   node deploy/local/smoke-ws.mjs refused ws://127.0.0.1:PORT ORIGIN
//     a browser page from ORIGIN is refused at upgrade (HTTP 403, production's ALLOWED_ORIGINS).
//   node deploy/local/smoke-ws.mjs hold ws://127.0.0.1:PORT ID
//     stays connected; prints "open" and, when the server closes it, "close CODE"; exits 0 on 1001.
// Every step is bounded in time; a timeout exits 1. SMOKE_INSECURE_TLS=1 accepts a self-signed
// certificate (the smoke test's own, for wss:// through nginx's TLS server); SMOKE_ORIGIN sends
// that Origin header, as a browser page would.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const WebSocket = require('ws');

const [mode, base, arg] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error(`smoke-ws ${mode}: timed out`);
  process.exit(1);
}, 20_000);

function open(id, protocol) {
  return new Promise((resolve, reject) => {
    const options = {
      ...(process.env.SMOKE_INSECURE_TLS === '1' ? { rejectUnauthorized: false } : {}),
      ...(process.env.SMOKE_ORIGIN ? { origin: process.env.SMOKE_ORIGIN } : {}),
    };
    const socket = new WebSocket(`${base}/ws/${id}`, protocol ? [protocol] : [], options);
    const frames = [];
    const waiters = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      frames.push(frame);
      for (const w of [...waiters]) if (w.match(frame)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(frame);
    });
    socket.once('open', () =>
      resolve({
        socket,
        next: (match) =>
          new Promise((res) => {
            const seen = frames.find(match);
            if (seen) res(seen);
            else waiters.push({ match, resolve: res });
          }),
      }),
    );
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`${id}: HTTP ${res.statusCode} at upgrade`)));
  });
}

if (mode === 'welcome') {
  const count = Math.max(2, Number(arg ?? 4));
  const tag = process.pid.toString(36);
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(await open(`smoke-${tag}-${i}`, 'chorus.v1'));
  const welcomes = await Promise.all(clients.map((c) => c.next((f) => f.type === 'welcome')));
  const nodes = welcomes.map((w) => w.node);
  console.log(`welcome: ${count} clients, nodes ${nodes.join(' ')} (${new Set(nodes).size} distinct)`);
  const [a, b] = clients;
  const text = `hello from ${tag}`;
  a.socket.send(JSON.stringify({ type: 'send', id: `${tag}-m1`, text, to: `smoke-${tag}-1`, sentAt: Date.now() }));
  const got = await b.next((f) => f.type === 'message' && f.text === text);
  console.log(`message: ${welcomes[0].node} -> ${welcomes[1].node}: "${got.text}" arrived`);
  for (const c of clients) c.socket.close(1000);
  clearTimeout(deadline);
} else if (mode === 'refused') {
  const socket = new WebSocket(`${base}/ws/smoke-origin-${process.pid}`, ['chorus.v1'], { origin: arg });
  socket.once('open', () => {
    console.log(`origin ${arg}: admitted`);
    process.exit(1);
  });
  socket.once('unexpected-response', (_req, res) => {
    console.log(`origin ${arg}: HTTP ${res.statusCode} at upgrade`);
    process.exit(res.statusCode === 403 ? 0 : 1);
  });
  socket.once('error', (err) => {
    console.log(`origin ${arg}: ${err.message}`);
    process.exit(1);
  });
} else if (mode === 'hold') {
  const client = await open(arg, 'chorus.v1');
  await client.next((f) => f.type === 'welcome');
  console.log('open');
  clearTimeout(deadline); // held until the server goes away; smoke.sh bounds it
  client.socket.once('close', (code) => {
    console.log(`close ${code}`);
    process.exit(code === 1001 ? 0 : 1);
  });
} else {
  console.error('usage: smoke-ws.mjs welcome|refused|hold URL ARG');
  process.exit(2);
}
