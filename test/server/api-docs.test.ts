import t from 'tap';
import { startInProcess } from '../helpers/in-process-server.js';

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
        responses: Record<string, unknown>;
        security?: unknown;
      }
    >
  >;
  externalDocs: { url: string };
}

t.test('/docs: the HTTP routes in OpenAPI, the bodies from the zod schemas that validate them', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const http = server.base.replace(/^ws/, 'http');

  const ui = await fetch(`${http}/docs/`);
  t.equal(ui.status, 200);
  t.match(await ui.text(), /swagger/i, 'Swagger UI');

  const doc = (await (await fetch(`${http}/docs/json`)).json()) as OpenApi;
  t.equal(doc.openapi, '3.1.0');
  t.same(
    Object.keys(doc.paths).sort(),
    [
      '/auth/display-name',
      '/auth/login',
      '/auth/names',
      '/auth/logout',
      '/auth/me',
      '/auth/password',
      '/auth/register',
      '/health',
      '/ready',
      '/ws/{clientId}',
    ].sort(),
    'every route of the API, and no page for people',
  );
  t.equal(doc.externalDocs.url, '/protocol', 'the WebSocket protocols are linked');
  const register = doc.paths['/auth/register']!.post!;
  t.match(register.requestBody!.content['application/json']!.schema, {
    type: 'object',
    properties: {
      username: { type: 'string', maxLength: 256 },
      password: { type: 'string', maxLength: 1024 },
      profile: { type: 'object' },
    },
    required: ['username', 'password'],
    additionalProperties: false,
  });
  t.ok(register.responses['201'] && register.responses['429'], 'answers documented, refusals included');
  t.ok(doc.paths['/auth/me']!.get!.security, 'the routes that need a token say so');
  t.match(doc.paths['/auth/display-name']!.post!.requestBody!.content['application/json']!.schema, { required: ['displayName'] });
});

t.test('documented routes still answer with their own codes: the schema is not a second validator', async (t) => {
  const server = await startInProcess();
  t.teardown(() => server.stop());
  const http = server.base.replace(/^ws/, 'http');
  const post = (body: unknown) =>
    fetch(`${http}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const weak = await post({ username: 'docsuser', password: 'a' });
  t.equal(weak.status, 400);
  t.equal(((await weak.json()) as { code: string }).code, 'WEAK_PASSWORD');
  const extra = await post({ username: 'docsuser', password: 'a', admin: true });
  t.equal(extra.status, 400);
  t.match(await extra.json(), { code: 'INVALID_REQUEST' }, 'an unknown field: the API’s answer, not a framework’s');
  const ok = await post({ username: 'docsuser', password: 'a long enough password 123' });
  t.equal(ok.status, 201);
  t.match(await ok.json(), { token: String, user: { username: 'docsuser' } }, 'the whole answer: nothing dropped by a serializer');
});
