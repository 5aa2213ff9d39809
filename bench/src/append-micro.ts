/**
 * CPU cost per stored message of Chorus's SQLite append path, in a tight loop:
 * `SqliteStorage.append` (the server's path: write gate, storable check,
 * appender) on a fresh file, batches awaited one after another.
 *
 *   node bench/dist/append-micro.js [--server DIR] [--batch 50] [--conversations 500]
 *                                   [--messages 100000] [--reps 5] [--duplicates 0]
 *
 * --server is a built server package (default apps/server of this checkout),
 * so that a copy of an earlier build can be measured with the same script.
 * The CPU is the whole process's (process.cpuUsage: user + system, all
 * threads, so the background checkpoint thread counts too). Messages look
 * like the direct scenario's: ids `<node>.<counter>`, private conversations,
 * a 100-character text, a ref per message; --duplicates is the share of
 * messages that repeat an earlier (from, ref), a retry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { directConversation } from '@chorus/protocol';
import { ROOT } from './systems.js';

interface Message {
  id: string;
  conversation: string;
  from: string;
  to: string | null;
  room: string | null;
  text: string;
  sentAt: number;
  serverAt: number;
  ref: string | null;
}
interface Storage {
  migrate(): Promise<void>;
  append(messages: readonly Message[]): Promise<unknown[]>;
  close(): Promise<void>;
}
type StorageClass = new (options: { file: string; backgroundCheckpoints?: boolean }) => Storage;

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: join(ROOT, 'apps/server') },
    batch: { type: 'string', default: '50' },
    conversations: { type: 'string', default: '500' },
    messages: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '5' },
    duplicates: { type: 'string', default: '0' },
  },
});
const batch = Number(values.batch);
const conversations = Number(values.conversations);
const total = Number(values.messages);
const reps = Number(values.reps);
const duplicateShare = Number(values.duplicates);

/** A small deterministic generator (mulberry32), so that every build sees the same batches. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` messages in batches of `batch`, made before the clock starts. */
function makeBatches(count: number, next: () => number, counter: { n: number }): Message[][] {
  const sent: Message[] = [];
  const batches: Message[][] = [];
  for (let i = 0; i < count; i += batch) {
    const messages: Message[] = [];
    for (let j = 0; j < batch && i + j < count; j++) {
      if (sent.length > 0 && next() < duplicateShare) {
        // A retry: same (from, ref), a new server id.
        const earlier = sent[Math.floor(next() * sent.length)]!;
        messages.push({ ...earlier, id: `n1x2.${(++counter.n).toString(36)}` });
        continue;
      }
      const pair = Math.floor(next() * conversations);
      const [a, b] = next() < 0.5 ? [`c${2 * pair}`, `c${2 * pair + 1}`] : [`c${2 * pair + 1}`, `c${2 * pair}`];
      const n = ++counter.n;
      const prefix = `${pair}|${n}|`;
      const message: Message = {
        id: `n1x2.${n.toString(36)}`,
        conversation: directConversation(a, b),
        from: a,
        to: b,
        room: null,
        text: prefix + '.'.repeat(100 - prefix.length),
        sentAt: 1_700_000_000_000 + n,
        serverAt: 1_700_000_000_000 + n,
        ref: `r${n}`,
      };
      sent.push(message);
      messages.push(message);
    }
    batches.push(messages);
  }
  return batches;
}

async function runOnce(Storage: StorageClass, rep: number): Promise<{ cpuUs: number; wallUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'append-micro-'));
  const storage = new Storage({ file: join(dir, 'chorus.db'), backgroundCheckpoints: true });
  try {
    await storage.migrate();
    const next = random(rep + 1);
    const counter = { n: 0 };
    // Warm-up: the JIT, the statements, and every conversation's counter row.
    for (const messages of makeBatches(Math.max(20_000, conversations * 4), next, counter)) await storage.append(messages);
    const batches = makeBatches(total, next, counter);
    const cpu = process.cpuUsage();
    const wall = process.hrtime.bigint();
    for (const messages of batches) await storage.append(messages);
    const wallNs = Number(process.hrtime.bigint() - wall);
    const used = process.cpuUsage(cpu);
    return { cpuUs: (used.user + used.system) / total, wallUs: wallNs / 1000 / total };
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const entry = pathToFileURL(join(resolve(values.server), 'dist/storage/sqlite-storage.js')).href;
const { SqliteStorage } = (await import(entry)) as { SqliteStorage: StorageClass };
console.log(
  `append-micro: ${entry}\n  ${total} messages per rep in batches of ${batch} over ${conversations} conversations, ` +
    `duplicates ${duplicateShare}`,
);
const cpus: number[] = [];
for (let rep = 0; rep < reps; rep++) {
  const { cpuUs, wallUs } = await runOnce(SqliteStorage, rep);
  cpus.push(cpuUs);
  console.log(`  rep ${rep + 1}: ${cpuUs.toFixed(2)} us CPU/message, ${wallUs.toFixed(2)} us wall/message`);
}
cpus.sort((x, y) => x - y);
console.log(
  `  CPU us/message: median ${cpus[Math.floor(cpus.length / 2)]!.toFixed(2)}, ` +
    `min ${cpus[0]!.toFixed(2)}, max ${cpus[cpus.length - 1]!.toFixed(2)}`,
);
