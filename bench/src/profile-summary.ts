/**
 * Summarizes V8 CPU profiles (from `npm run bench -- --cpu-prof DIR`, or any
 * `node --cpu-prof`): where the busy time went, by category (ws frame parsing,
 * JSON, zod, IPC, mesh, Fastify, storage, GC, ...) and by function (self time).
 *
 *   node bench/dist/profile-summary.js DIR|FILE.cpuprofile [...] [--top N]
 *
 * Every profile is summarized on its own (a primary and its workers are
 * different processes), then all of them together. When the folder holds the
 * bench's windows.json, the samples are cut to each measured window (V8's
 * profile clock is the machine's monotonic clock, like process.hrtime), so
 * that connecting and warming up do not count.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** Category rules, first match wins: [name, test on url, test on function name]. */
const RULES: readonly [string, RegExp | null, RegExp | null][] = [
  ['GC', null, /^\(garbage collector\)$/],
  ['idle', null, /^\(idle\)$/],
  ['V8/native (program)', null, /^\(program\)$/],
  [
    'socket write syscalls (kernel TCP, loopback included)',
    /^$/,
    /^(writev|writeUtf8String|writeBuffer|writeLatin1String|writeAsciiString)$/,
  ],
  ['ws: receive (frame parsing, unmasking, UTF-8 check)', /\/ws\/lib\/(receiver|buffer-util|validation|permessage-deflate)\.js/, null],
  ['ws: send (framing, masking)', /\/ws\/lib\/sender\.js/, null],
  ['ws: WebSocket object, events', /\/ws\/lib\/(websocket|event-target|extension|subprotocol)\.js/, null],
  ['zod validation', /\/zod\//, null],
  ['JSON.parse', /^$/, /^(parse|JsonParse|JSONParse)$/],
  ['JSON.stringify', /^$/, /^(stringify|JsonStringify|JSONStringify)$/],
  ['IPC (process.send / cluster messages)', /node:internal\/(child_process|cluster)|node:cluster/, null],
  ['mesh (worker-to-worker links)', /\/cluster\/mesh\.js/, null],
  ['cluster backend / primary state', /\/cluster\//, null],
  ['storage (SQLite, kysely)', /better-sqlite3|\/kysely\/|\/storage\/|stored-message-log|message-log|room-persistence/, null],
  ['Fastify, @fastify/websocket', /\/fastify\/|@fastify|find-my-way|avvio|light-my-request|fastify-plugin/, null],
  ['logging (pino)', /\/pino|sonic-boom/, null],
  ['Chorus hub, codecs, transport', /apps\/server\/dist\/|\/hub\/|\/protocols\/|\/transport\//, null],
  ['@chorus/protocol', /packages\/protocol\//, null],
  ['socket.io / engine.io', /socket\.io|engine\.io/, null],
  ['bench baseline code', /bench\/dist\/baselines\//, null],
  ['net, streams, timers (Node internals)', /^node:/, null],
  ['native (writev, Buffer, string ops ...)', /^$/, null],
];

function categoryOf(frame: CallFrame): string {
  for (const [name, url, fn] of RULES) {
    if (url !== null && !url.test(frame.url)) continue;
    if (fn !== null && !fn.test(frame.functionName)) continue;
    return name;
  }
  return 'other';
}

interface Tally {
  totalMs: number;
  idleMs: number;
  byCategory: Map<string, number>;
  byFunction: Map<string, { ms: number; category: string }>;
}

interface Window {
  readonly scenario: string;
  readonly label: string;
  readonly startUs: number;
  readonly endUs: number;
}

function tally(profile: CpuProfile, into: Tally, window?: Window): void {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  let at = profile.startTime;
  // timeDeltas[i] is the time between sample i-1 and sample i: charge it to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    const node = nodes.get(profile.samples[i]!);
    if (!node) continue;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const category = categoryOf(node.callFrame);
    into.totalMs += ms;
    if (category === 'idle') {
      into.idleMs += ms;
      continue;
    }
    into.byCategory.set(category, (into.byCategory.get(category) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(apps|packages)\//, '$1/')}:${lineNumber + 1}`
      : '(native)';
    const key = `${functionName || '(anonymous)'} ${where}`;
    const prior = into.byFunction.get(key);
    if (prior) prior.ms += ms;
    else into.byFunction.set(key, { ms, category });
  }
}

function print(title: string, t: Tally, top: number): void {
  const busy = t.totalMs - t.idleMs;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  process.stdout.write(
    `\n== ${title}: ${(busy / 1000).toFixed(2)} s busy of ${(t.totalMs / 1000).toFixed(2)} s sampled\n\nby category (self time):\n`,
  );
  for (const [name, ms] of [...t.byCategory].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${pct(ms)}  ${name}\n`);
  process.stdout.write(`\ntop ${top} functions (self time):\n`);
  for (const [name, { ms, category }] of [...t.byFunction].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    process.stdout.write(`  ${pct(ms)}  ${name}  [${category}]\n`);
  }
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(path, f));
}

function windowsIn(paths: readonly string[]): Window[] {
  for (const path of paths) {
    const file = join(path, 'windows.json');
    if (statSync(path).isDirectory() && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Window[];
  }
  return [];
}

const emptyTally = (): Tally => ({ totalMs: 0, idleMs: 0, byCategory: new Map(), byFunction: new Map() });

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  const files = args.flatMap(profilesIn);
  if (files.length === 0) {
    process.stderr.write('usage: node bench/dist/profile-summary.js DIR|FILE.cpuprofile [...] [--top N]\n');
    process.exit(2);
  }
  const profiles = files.map((file) => ({ file, profile: JSON.parse(readFileSync(file, 'utf8')) as CpuProfile }));
  const windows = windowsIn(args);
  if (windows.length === 0) {
    const all = emptyTally();
    for (const { file, profile } of profiles) {
      const one = emptyTally();
      tally(profile, one);
      tally(profile, all);
      print(basename(file), one, Math.min(top, 12));
    }
    if (files.length > 1) print(`all ${files.length} profiles`, all, top);
    return;
  }
  for (const window of windows) {
    const all = emptyTally();
    for (const { file, profile } of profiles) {
      const one = emptyTally();
      tally(profile, one, window);
      tally(profile, all, window);
      if (profiles.length > 1) print(`${window.scenario} / ${window.label} / ${basename(file)}`, one, Math.min(top, 8));
    }
    print(`${window.scenario} / ${window.label}${profiles.length > 1 ? ` / all ${profiles.length} processes` : ''}`, all, top);
  }
}

main();
