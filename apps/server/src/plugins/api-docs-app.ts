import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify';
import { z } from 'zod';
import { ChangePasswordBody, DisplayNameBody, LoginBody, RegisterBody } from '../accounts/api-schemas.js';

/** A JSON Schema of what a route accepts, made from the zod schema that validates it (one source). */
const bodyOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const ERROR = {
  type: 'object',
  description: 'Every refusal: a stable code and a sentence for people (see docs/protocol.md for the codes)',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;

const USER = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    createdAt: { type: 'number', description: 'ms since the epoch' },
    firstNames: { type: ['string', 'null'] },
    lastNames: { type: ['string', 'null'] },
    age: { type: ['integer', 'null'] },
    gender: { type: ['string', 'null'] },
    displayName: { type: ['string', 'null'], description: 'the name people see (any script, spaces allowed); null: the username' },
  },
} as const;

const SIGNED_IN = {
  type: 'object',
  properties: {
    token: { type: 'string', description: 'send as `Authorization: Bearer <token>`, or as the WebSocket subprotocol `auth.<token>`' },
    expiresAt: { type: 'number', description: 'ms since the epoch' },
    user: USER,
  },
} as const;

const BEARER = [{ bearer: [] }];
const refusals = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, { ...ERROR, description: ERROR.description }]));

/**
 * What /docs says about each HTTP route, by method and path. Attached to the
 * routes as they are added (onRoute), so the routes' own files stay about
 * serving; the bodies come from the zod schemas the handlers validate with.
 */
const ROUTE_DOCS: Record<string, FastifySchema & { summary: string; tags: string[]; security?: unknown }> = {
  'GET /health': {
    summary: 'The process runs',
    tags: ['health'],
    response: { 200: { type: 'object', properties: { status: { const: 'ok' } } } },
  },
  'GET /ready': {
    summary: 'Workers, clients connected and the cap; 503 while shutting down',
    tags: ['health'],
    response: {
      200: {
        type: 'object',
        properties: {
          status: { type: 'string' },
          clients: { type: 'integer' },
          maxClients: { type: 'integer' },
          workers: {
            type: 'array',
            items: { type: 'object', properties: { id: { type: 'integer' }, pid: { type: 'integer' }, clients: { type: 'integer' } } },
          },
        },
      },
    },
  },
  'POST /auth/register': {
    summary: 'Create an account; answers a session token',
    tags: ['accounts'],
    body: bodyOf(RegisterBody),
    response: { 201: SIGNED_IN, ...refusals(400, 409, 429) },
  },
  'POST /auth/login': {
    summary: 'Sign in; answers a session token',
    tags: ['accounts'],
    body: bodyOf(LoginBody),
    response: { 200: SIGNED_IN, ...refusals(400, 401, 429) },
  },
  'POST /auth/logout': {
    summary: 'End this session, on every node (its live connections close with 4401)',
    tags: ['accounts'],
    security: BEARER,
    response: { 204: { type: 'null', description: 'signed out' }, ...refusals(401) },
  },
  'POST /auth/password': {
    summary: "Change the password; the user's other sessions end",
    tags: ['accounts'],
    security: BEARER,
    body: bodyOf(ChangePasswordBody),
    response: { 204: { type: 'null', description: 'changed' }, ...refusals(400, 401, 429) },
  },
  'POST /auth/display-name': {
    summary: 'Set or clear (null) the name people see instead of your username',
    tags: ['accounts'],
    security: BEARER,
    body: bodyOf(DisplayNameBody),
    response: { 200: { type: 'object', properties: { user: USER } }, ...refusals(400, 401) },
  },
  'GET /auth/names': {
    summary: 'Display names of up to 200 usernames (those without one are absent: show the username)',
    tags: ['accounts'],
    querystring: { type: 'object', properties: { ids: { type: 'string', description: 'comma-separated usernames' } } },
    response: {
      200: { type: 'object', properties: { names: { type: 'object', additionalProperties: { type: 'string' } } } },
      ...refusals(400),
    },
  },
  'GET /auth/me': {
    summary: 'The signed-in user',
    tags: ['accounts'],
    security: BEARER,
    response: { 200: { type: 'object', properties: { user: USER } }, ...refusals(401) },
  },
  'GET /ws/:clientId': {
    summary: 'The chat: a WebSocket, text protocol (`message,target`) or JSON frames (subprotocol `chorus.v1`)',
    description:
      'Upgrade to a WebSocket. Without an upgrade: 400 for an invalid name, 426 otherwise. The frames, close codes and semantics are in the protocol reference: GET /protocol.',
    tags: ['chat'],
    params: {
      type: 'object',
      properties: { clientId: { type: 'string', description: 'your name: letters, digits and _ . - @, up to 64' } },
    },
    querystring: {
      type: 'object',
      properties: {
        resume: { type: 'string', enum: ['1'], description: 'live traffic waits for your resume frame (JSON protocol)' },
        takeover: { type: 'string', enum: ['1'], description: 'take the name over from its other connection (closed with 4410)' },
      },
    },
  },
};

/** A route of the chat server's app, as /docs lists it. */
export interface RouteSpec {
  readonly method: string | string[];
  readonly url: string;
}

/**
 * The app that serves /docs (Swagger UI; the document itself at /docs/json):
 * @fastify/swagger and its UI over stand-ins of `routes`, the chat server's
 * own routes, documented by ROUTE_DOCS. Built on the first request for /docs
 * (api-docs.ts): swagger, its UI, their YAML and JSON Schema compilers are
 * several hundred modules that a serving process does not need otherwise.
 */
export async function buildDocsApp(routes: readonly RouteSpec[]): Promise<FastifyInstance> {
  const docs = Fastify({ logger: false });
  docs.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const found = methods.map((m) => ROUTE_DOCS[`${m} ${route.url}`]).find((d) => d !== undefined);
    if (!found) {
      // The landing page and the protocol reference are pages for people, not API.
      if (!route.url.startsWith('/docs')) route.schema = { ...route.schema, hide: true } as FastifySchema;
      return;
    }
    route.schema = { ...route.schema, ...found } as FastifySchema;
    // Stand-ins: nothing here validates or serializes (the chat server's handlers validate with zod).
    route.validatorCompiler = () => () => true;
    route.serializerCompiler = () => (data) => JSON.stringify(data);
  });
  await docs.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chorus chat server',
        version: '1',
        description:
          'The HTTP routes of the chat server. The chat itself is a WebSocket at /ws/{clientId}: its two protocols are described in the protocol reference, GET /protocol (docs/protocol.md).',
      },
      externalDocs: { description: 'The WebSocket protocols (docs/protocol.md)', url: '/protocol' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a session token from /auth/login' } } },
      tags: [
        { name: 'chat', description: 'The WebSocket endpoint' },
        { name: 'accounts', description: 'Sign-up, sign-in and sessions' },
        { name: 'health', description: 'For load balancers and operators' },
      ],
    },
  });
  await docs.register(swaggerUi, { routePrefix: '/docs' });
  const standIn = async () => ({});
  for (const route of routes) {
    // HEAD routes come with their GET ones here too.
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    if (methods.length > 0) docs.route({ method: methods, url: route.url, handler: standIn });
  }
  await docs.ready();
  return docs;
}
