import cors from '@fastify/cors';
import { ERRORS, type ErrorCode } from '@chorus/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { bearerToken, type Accounts, type AuthFailure, type Identity, type SignedIn } from '../accounts/index.js';
import {
  ChangePasswordBody,
  DisplayNameBody,
  firstIssue,
  LoginBody,
  NamesQuery,
  RegisterBody,
  toProfile,
} from '../accounts/api-schemas.js';
import { originAllowed } from '../transport/origin-policy.js';

export interface AuthRoutesOptions {
  readonly accounts: Accounts;
  /** The WebSocket route's allow-list (ALLOWED_ORIGINS): the same pages may call this API. */
  readonly allowedOrigins: readonly string[];
  readonly production: boolean;
}

/** Bodies are a few hundred bytes; a password is at most 1 KiB here. */
const BODY_LIMIT = 16 * 1024;

/** Sends `{code, message}` with the registry's HTTP status for `code`. */
function sendError(reply: FastifyReply, code: ErrorCode, message: string = ERRORS[code].message): FastifyReply {
  const status = (ERRORS[code] as { status?: number }).status ?? 500;
  return reply.code(status).send({ code, message });
}

/** Answers a refusal from Accounts: its code and status, and Retry-After (seconds) when it has one. */
function sendFailure(reply: FastifyReply, failure: AuthFailure<ErrorCode>): FastifyReply {
  if (failure.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(failure.retryAfterMs / 1000)));
  return sendError(reply, failure.error, failure.message);
}

const signedIn = ({ token, expiresAt, user }: SignedIn) => ({ token, expiresAt, user });

/** The parsed body, or null after answering INVALID_REQUEST (the message names the field, never its value). */
function parseBody<S extends z.ZodType>(schema: S, request: FastifyRequest, reply: FastifyReply): z.output<S> | null {
  const parsed = schema.safeParse(request.body);
  if (parsed.success) return parsed.data;
  sendError(reply, 'INVALID_REQUEST', `invalid request: ${firstIssue(parsed.error)}`);
  return null;
}

/**
 * The accounts API under `/auth` (register with `{prefix: '/auth'}`): register,
 * login, logout, change password, and the signed-in account. JSON in and out;
 * every error is `{code, message}` with the registry's status. Browsers may
 * call it from the origins the WebSocket route accepts (CORS); other origins
 * get 403. Nothing here logs a password or a token: request logging is off
 * (app.ts), and the lines below name the user and the address only.
 */
export default async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { accounts } = options;

  // Before CORS, so that a page from a refused origin gets a plain 403 (its
  // preflight too), as the WebSocket route answers it.
  app.addHook('onRequest', async (request, reply) => {
    if (!originAllowed(request.headers.origin, options.allowedOrigins, options.production)) {
      return sendError(reply, 'ORIGIN_NOT_ALLOWED');
    }
  });
  await app.register(cors, {
    // Only allowed origins get this far: reflect the request's origin.
    origin: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Retry-After'],
    // Bearer tokens, not cookies: no credentials mode.
    credentials: false,
    maxAge: 600,
  });
  // Tokens and profiles are not for caches.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler((error: { statusCode?: number }, request, reply) => {
    // Fastify's own refusals (bad JSON, too large, not JSON). Its messages can
    // quote the body, which may hold a password: answer in our own words.
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send({ code: 'INVALID_REQUEST', message: `the body is larger than ${BODY_LIMIT} bytes` });
    if (status === 415) return reply.code(415).send({ code: 'INVALID_REQUEST', message: 'send the body as application/json' });
    if (status >= 400 && status < 500) return sendError(reply, 'INVALID_REQUEST', 'the body is not valid JSON');
    request.log.error({ err: error, route: request.routeOptions.url }, 'auth request failed');
    return sendError(reply, 'INTERNAL');
  });

  /** The identity of the request's bearer token, or null after answering 401. */
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer');
      sendError(reply, 'AUTH_REQUIRED', 'send the token as Authorization: Bearer <token>');
      return null;
    }
    const check = await accounts.verifyToken(token);
    if (!check.ok) {
      request.log.info({ ip: request.ip, reason: check.reason }, 'token refused');
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      sendError(reply, 'AUTH_FAILED');
      return null;
    }
    return { user: check.user, sessionId: check.sessionId };
  }

  const routeOptions = { bodyLimit: BODY_LIMIT };

  app.post('/register', routeOptions, async (request, reply) => {
    const body = parseBody(RegisterBody, request, reply);
    if (!body) return reply;
    const result = await accounts.register(
      { username: body.username, password: body.password, profile: toProfile(body.profile) },
      request.ip,
    );
    if (!result.ok) {
      if (result.error === 'TOO_MANY_ATTEMPTS') request.log.warn({ ip: request.ip }, 'registrations limited');
      return sendFailure(reply, result);
    }
    request.log.info({ user: result.user.username, ip: request.ip }, 'registered');
    return reply.code(201).send(signedIn(result));
  });

  app.post('/login', routeOptions, async (request, reply) => {
    const body = parseBody(LoginBody, request, reply);
    if (!body) return reply;
    const result = await accounts.login(body.username, body.password, request.ip);
    if (!result.ok) {
      const limited = result.error === 'TOO_MANY_ATTEMPTS';
      request.log[limited ? 'warn' : 'info']({ user: body.username, ip: request.ip }, limited ? 'sign-in limited' : 'sign-in failed');
      return sendFailure(reply, result);
    }
    request.log.info({ user: result.user.username, ip: request.ip }, 'signed in');
    return reply.code(200).send(signedIn(result));
  });

  app.post('/logout', routeOptions, async (request, reply) => {
    const identity = await authenticate(request, reply);
    if (!identity) return reply;
    await accounts.logout(identity);
    request.log.info({ user: identity.user, ip: request.ip }, 'signed out');
    return reply.code(204).send();
  });

  app.post('/password', routeOptions, async (request, reply) => {
    const identity = await authenticate(request, reply);
    if (!identity) return reply;
    const body = parseBody(ChangePasswordBody, request, reply);
    if (!body) return reply;
    const result = await accounts.changePassword(identity, body.currentPassword, body.newPassword, request.ip);
    if (!result.ok) return sendFailure(reply, result);
    request.log.info({ user: identity.user, ip: request.ip }, 'password changed; other sessions revoked');
    return reply.code(204).send();
  });

  app.post('/display-name', routeOptions, async (request, reply) => {
    const identity = await authenticate(request, reply);
    if (!identity) return reply;
    const body = parseBody(DisplayNameBody, request, reply);
    if (!body) return reply;
    const user = await accounts.setDisplayName(identity, body.displayName);
    if (!user) return sendError(reply, 'AUTH_FAILED');
    request.log.info({ user: identity.user }, 'display name changed');
    return { user };
  });

  // Public, as the names are: anyone in the chat sees them. Guests have no
  // account and so no display name: their username is what people see.
  app.get('/names', async (request, reply) => {
    const query = NamesQuery.safeParse(request.query);
    if (!query.success) return sendError(reply, 'INVALID_REQUEST', `invalid request: ${firstIssue(query.error)}`);
    return { names: await accounts.displayNames(query.data.ids) };
  });

  app.get('/me', async (request, reply) => {
    const identity = await authenticate(request, reply);
    if (!identity) return reply;
    const user = await accounts.profile(identity.user);
    if (!user) return sendError(reply, 'AUTH_FAILED');
    return { user };
  });
}
