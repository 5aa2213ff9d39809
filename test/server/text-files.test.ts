import t from 'tap';
import { formatSize } from '@chorus/protocol';
import { httpBase, upload } from '../helpers/files.js';
import { startInProcess } from '../helpers/in-process-server.js';
import { jsonClient, textClient } from '../helpers/ws-client.js';

/**
 * A person with a plain terminal: `/upload` tells them how to upload with
 * curl and gives them a ticket, `/share` sends the uploaded file, and the
 * others read it in the text protocol's words (JSON clients get its metadata).
 */
t.test('a text client uploads with the ticket of /upload and shares with /share', async (t) => {
  const server = await startInProcess({ PUBLIC_URL: 'http://chat.example' });
  t.teardown(() => server.stop());
  const tex = await textClient(server.base, 'tex');
  const ana = await jsonClient(server.base, 'ana');
  await tex.extract((f) => f === 'Client #ana joined the chat');
  const carl = await textClient(server.base, 'carl');
  await tex.extract((f) => f === 'Client #carl joined the chat');
  t.teardown(() => Promise.all([tex.close(), ana.close(), carl.close()]));

  tex.send('/upload');
  const lines = (await tex.next()).split('\n');
  const ticket = /: (f1\.tex\.\d+\.[A-Za-z0-9_-]{43})$/.exec(lines[0]!)?.[1];
  t.ok(ticket, `the first line ends with the ticket: ${lines[0]}`);
  const limit = formatSize(25 * 1024 * 1024);
  t.match(
    lines[0],
    new RegExp(`^Upload ticket \\(while you stay connected, until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; at most ${limit} a file\\): `),
  );
  t.equal(lines[1], `Upload: curl -H "Authorization: Bearer ${ticket}" -F file=@FILE http://chat.example/files`);
  t.equal(lines[2], 'Then share it: /share ID * (everyone), /share ID #ROOM or /share ID @CLIENT, a message after it if you like');

  const data = Buffer.from('meeting notes\n');
  const response = await upload(server.base, { data, name: 'notes.txt' }, ticket!);
  t.equal(response.status, 201);
  const file = (await response.json()) as { id: string };

  tex.send(`/share ${file.id} @ana  the notes,  as promised`);
  t.equal(await tex.next(), 'You wrote: the notes,  as promised');
  const message = await ana.nextJson((f) => f.type === 'message');
  t.match(message, {
    from: 'tex',
    to: 'ana',
    text: 'the notes,  as promised',
    files: [{ id: file.id, name: 'notes.txt', size: data.length }],
  });
  const url = (message as { files: { url: string }[] }).files[0]!.url;
  t.equal((await fetch(`${httpBase(server.base)}${url}`)).status, 200, 'ana may download it');

  const again = (await (await upload(server.base, { data, name: 'notes.txt' }, ticket!)).json()) as { id: string };
  tex.send(`/share ${again.id} *`);
  t.equal(await tex.next(), 'You wrote: ');
  const line = await carl.extract((f) => f.startsWith('Client #tex shared'));
  t.match(
    line,
    new RegExp(`^Client #tex shared notes\\.txt \\(${formatSize(data.length)}\\): http://chat\\.example/files/${again.id}\\?e=\\d+&s=`),
  );
});

t.test('/share refuses what it cannot send, with a readable line', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const tex = await textClient(server.base, 'tex');
  const ana = await jsonClient(server.base, 'ana');
  t.teardown(() => Promise.all([tex.close(), ana.close()]));
  const anasFile = (await (
    await upload(server.base, { data: Buffer.from('mine'), name: 'a.txt' }, JSON.parse(ana.frames[0]!).uploads.ticket)
  ).json()) as { id: string };

  tex.send('/share');
  t.equal(await tex.extract((f) => f.startsWith('usage')), 'usage: /share FILE WHERE [message]');
  tex.send('/share ../../etc/passwd *');
  t.equal(await tex.extract((f) => f.startsWith('usage')), 'usage: /share FILE WHERE [message]');
  tex.send(`/share ${anasFile.id} nowhere`);
  t.equal(await tex.extract((f) => f.startsWith('usage')), 'usage: /share FILE WHERE [message]');
  tex.send(`/share ${anasFile.id} *`);
  t.match(await tex.extract((f) => f.startsWith('no such file')), /^no such file, or not yours to share or see/);
});
