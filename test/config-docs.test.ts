import { readFileSync } from 'node:fs';
import { ERRORS, CloseCode } from '@chorus/protocol';
import t from 'tap';
import { ClientConfigSchema } from '../apps/client/src/config.js';
import { ServerConfigSchema } from '../apps/server/src/config.js';

/** The variable names an .env example sets or mentions (commented-out lines count: they document). */
function variablesIn(file: string): Set<string> {
  const names = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (match) names.add(match[1]!);
  }
  return names;
}

const schemaVariables = new Set([...Object.keys(ServerConfigSchema.shape), ...Object.keys(ClientConfigSchema.shape)]);

t.test('.env.example and .env.prod.example list exactly the variables the apps read', async (t) => {
  for (const file of ['.env.example', '.env.prod.example']) {
    t.same([...variablesIn(file)].sort(), [...schemaVariables].sort(), file);
  }
});

t.test('docs/protocol.md lists every error code and close code', async (t) => {
  const doc = readFileSync('docs/protocol.md', 'utf8');
  for (const code of Object.keys(ERRORS)) t.match(doc, new RegExp(`\`${code}\``), `error ${code} documented`);
  for (const [name, code] of Object.entries(CloseCode)) t.match(doc, new RegExp(`\\b${code}\\b`), `close ${name} documented`);
});

t.test('the JSON examples send a real clock time, in milliseconds, and say how to get one', async (t) => {
  // A copied `"sentAt":0` made every browser show "sender's clock is 20790 days behind".
  const year2020 = Date.UTC(2020, 0, 1);
  for (const file of ['README.md', 'docs/protocol.md']) {
    const doc = readFileSync(file, 'utf8');
    const values = [...doc.matchAll(/"sentAt":\s*(\d+)/g)].map((m) => Number(m[1]));
    t.ok(values.length > 0, `${file} has a JSON example`);
    for (const value of values)
      t.ok(value >= year2020 && value < Date.UTC(2100, 0, 1), `${file}: sentAt ${value} is a time in ms since the epoch`);
    t.match(doc, /date \+%s%3N/, `${file} shows how to get the time now`);
  }
});
