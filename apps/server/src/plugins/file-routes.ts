import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import { ERRORS, FileId, parseConversation, type ErrorCode, type UploadedFile } from '@chorus/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, type Accounts } from '../accounts/index.js';
import type { Attachments } from '../files/attachments.js';
import type { FileRecord } from '../files/file-catalog.js';
import { contentDisposition, sanitizeFileName } from '../files/file-names.js';
import { detectType, RASTER_IMAGES, servedInline, SNIFF_BYTES } from '../files/file-types.js';
import { probeImage, thumbnailStream } from '../files/images.js';
import { UploadLimiter } from '../files/upload-limiter.js';
import type { StateView } from '../hub/backend.js';
import { originAllowed } from '../transport/origin-policy.js';

export interface FileRoutesOptions {
  readonly attachments: Attachments;
  readonly accounts: Accounts;
  /** Presence and rooms: who is connected (guests' tickets), who is in which room. */
  readonly view: () => StateView;
  readonly uploadsPerMinute: number;
  readonly maxImagePixels: number;
  readonly uploadTtlMs: number;
  readonly allowedOrigins: readonly string[];
  readonly production: boolean;
  readonly clock?: () => number;
}

/** Multipart framing around one file: headers and boundaries are a few hundred bytes; this is generous. */
const MULTIPART_OVERHEAD = 16 * 1024;

function sendError(reply: FastifyReply, code: ErrorCode, message: string = ERRORS[code].message): FastifyReply {
  const status = (ERRORS[code] as { status?: number }).status ?? 500;
  return reply.code(status).send({ code, message });
}

function mib(bytes: number): string {
  const value = bytes / (1024 * 1024);
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`;
}

/**
 * Files over HTTP: `POST /files` (multipart, one file, streamed to the
 * FileStore) answers 201 with the upload, which a `send` frame then shares by
 * its id; `GET /files/:id` and `/files/:id/thumbnail` serve them, by a signed
 * link from a message or with `Authorization: Bearer` (a session token or the
 * welcome's upload ticket) for a person allowed in the file's conversation.
 * Served with the detected type, `nosniff`, a sandboxing CSP, and
 * `Content-Disposition: attachment` unless it is a raster image, audio or video.
 */
export default async function fileRoutes(app: FastifyInstance, options: FileRoutesOptions): Promise<void> {
  const { attachments } = options;
  const clock = options.clock ?? Date.now;
  const limiter = new UploadLimiter(options.uploadsPerMinute);
  const maxBytes = attachments.maxBytes;
  const tooLarge = `the file is larger than the limit of ${mib(maxBytes)} (MAX_UPLOAD_BYTES=${maxBytes} bytes)`;

  app.addHook('onRequest', async (request, reply) => {
    if (!originAllowed(request.headers.origin, options.allowedOrigins, options.production)) return sendError(reply, 'ORIGIN_NOT_ALLOWED');
  });
  await app.register(cors, {
    origin: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Retry-After', 'Content-Disposition'],
    credentials: false,
    maxAge: 600,
  });
  await app.register(multipart, {
    // One file per request, and nothing else worth buffering.
    limits: { fileSize: maxBytes, files: 1, fields: 4, fieldSize: 1024, parts: 5, headerPairs: 50 },
  });

  app.setErrorHandler((error: { statusCode?: number; code?: string }, request, reply) => {
    if (error.code === 'FST_REQ_FILE_TOO_LARGE' || error.statusCode === 413) return sendError(reply, 'FILE_TOO_LARGE', tooLarge);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, 'INVALID_REQUEST', 'send one file as multipart/form-data (field "file")');
    request.log.error({ err: error, route: request.routeOptions.url }, 'file request failed');
    return sendError(reply, 'INTERNAL');
  });

  // Unsent uploads are swept by every worker and node (deleting twice is harmless).
  const sweepEvery = Math.min(60_000, Math.max(1_000, options.uploadTtlMs / 4));
  const sweeper = setInterval(() => {
    attachments.sweepUnsent().catch((err) => app.log.warn({ err }, 'files: the sweep of unsent uploads failed'));
  }, sweepEvery);
  sweeper.unref();
  app.addHook('onClose', async () => clearInterval(sweeper));

  /**
   * The client id behind `Authorization: Bearer`: an upload ticket of a client
   * connected now (guests have nothing else), or an account's session token.
   * Null after answering 401.
   */
  async function identify(request: FastifyRequest, reply: FastifyReply): Promise<string | null> {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer');
      sendError(reply, 'AUTH_REQUIRED', 'send the upload ticket (welcome frame) or a session token as Authorization: Bearer <token>');
      return null;
    }
    if (token.startsWith('f1.')) {
      const clientId = attachments.links.openTicket(token, clock());
      // A ticket is good only while its client is connected: it does not outlive the session.
      if (clientId !== undefined && options.view().isOnline(clientId)) return clientId;
    } else if (token !== '') {
      const check = await options.accounts.verifyToken(token);
      if (check.ok) return check.user;
    }
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
    sendError(reply, 'AUTH_FAILED', 'the token or ticket is not valid (a ticket is valid only while its client is connected)');
    return null;
  }

  /** Whether `clientId` may see `file`: its uploader, or someone in the conversation that shares it. */
  function mayRead(clientId: string, file: FileRecord): boolean {
    if (file.owner === clientId) return true;
    if (file.conversation === null) return false;
    const conversation = parseConversation(file.conversation);
    if (!conversation) return false;
    // The lobby: anyone signed in, or a guest connected now (identify checked both).
    if (conversation.kind === 'lobby') return true;
    if (conversation.kind === 'room') return options.view().room(conversation.room)?.members.has(clientId) ?? false;
    return conversation.a === clientId || conversation.b === clientId;
  }

  app.post('/files', async (request, reply) => {
    const clientId = await identify(request, reply);
    if (clientId === null) return reply;
    const declared = Number(request.headers['content-length']);
    // Refused before a byte is read when the length says so; a chunked body is cut at the limit instead.
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) return sendError(reply, 'FILE_TOO_LARGE', tooLarge);
    const wait = limiter.take(clientId, clock());
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendError(
        reply,
        'UPLOADS_LIMITED',
        `at most ${options.uploadsPerMinute} uploads a minute: try again in ${Math.ceil(wait / 1000)} s`,
      );
    }
    if (!request.isMultipart()) return sendError(reply, 'INVALID_REQUEST', 'send one file as multipart/form-data (field "file")');
    const part = await request.file();
    if (!part) return sendError(reply, 'INVALID_REQUEST', 'the form has no file');

    const id = randomBytes(16).toString('base64url');
    let head = Buffer.alloc(0);
    let size: number;
    try {
      size = await attachments.store.write(
        id,
        (async function* keepHead(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
            yield chunk;
          }
        })(part.file),
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') return sendError(reply, 'FILE_TOO_LARGE', tooLarge);
      throw err;
    }
    if (part.file.truncated) {
      await attachments.store.delete([id]);
      return sendError(reply, 'FILE_TOO_LARGE', tooLarge);
    }

    let type = await detectType(head);
    let width: number | null = null;
    let height: number | null = null;
    let hasThumbnail = false;
    if (RASTER_IMAGES.has(type)) {
      const probe = await probeImage((await attachments.store.read(id)) as Readable, options.maxImagePixels);
      if (!probe.ok && probe.reason === 'too-many-pixels') {
        await attachments.store.delete([id]);
        return sendError(
          reply,
          'IMAGE_TOO_LARGE',
          `the image is ${probe.width} x ${probe.height} pixels; the limit is ${options.maxImagePixels} (MAX_IMAGE_PIXELS)`,
        );
      }
      if (probe.ok) {
        ({ width, height } = probe);
        try {
          await attachments.store.write(
            `${id}.thumb`,
            thumbnailStream((await attachments.store.read(id)) as Readable, options.maxImagePixels),
          );
          hasThumbnail = true;
        } catch (err) {
          request.log.info({ err, clientId }, 'files: no thumbnail for an image');
        }
      } else {
        // Looks like an image, is not one sharp can read: kept, but served as bytes to download.
        type = 'application/octet-stream';
      }
    }
    const now = clock();
    const record = {
      id,
      owner: clientId,
      name: sanitizeFileName(part.filename),
      type,
      size,
      width,
      height,
      hasThumbnail,
      createdAt: now,
    };
    try {
      await attachments.catalog.insert(record);
    } catch (err) {
      await attachments.store.delete([id, `${id}.thumb`]).catch(() => {});
      throw err;
    }
    request.log.info({ clientId, id, size, type }, 'file uploaded');
    const body: UploadedFile = {
      ...attachments.info({ ...record, messageId: null, messageRef: null, conversation: null }, now),
      expiresAt: now + options.uploadTtlMs,
    };
    return reply.code(201).header('cache-control', 'no-store').send(body);
  });

  async function serve(request: FastifyRequest, reply: FastifyReply, thumbnail: boolean): Promise<FastifyReply> {
    const { id } = request.params as { id: string };
    const { e, s } = request.query as { e?: string; s?: string };
    if (!FileId.safeParse(id).success) return sendError(reply, 'FILE_NOT_FOUND');
    const path = thumbnail ? `/files/${id}/thumbnail` : `/files/${id}`;
    let viaHeader: string | null = null;
    if (e !== undefined || s !== undefined) {
      if (!attachments.links.urlValid(path, e, s, clock())) {
        return sendError(
          reply,
          'FILE_ACCESS_DENIED',
          'this link is not valid or has expired: ask for the message again (history) for a new one',
        );
      }
    } else {
      viaHeader = await identify(request, reply);
      if (viaHeader === null) return reply;
    }
    const file = await attachments.catalog.get(id);
    if (!file || (thumbnail && !file.hasThumbnail)) return sendError(reply, 'FILE_NOT_FOUND');
    if (viaHeader !== null && !mayRead(viaHeader, file)) return sendError(reply, 'FILE_ACCESS_DENIED');
    const stream = await attachments.store.read(thumbnail ? `${id}.thumb` : id);
    if (!stream) return sendError(reply, 'FILE_NOT_FOUND');
    const type = thumbnail ? 'image/webp' : file.type;
    const inline = servedInline(type);
    reply
      .header('content-type', type)
      .header(
        'content-disposition',
        contentDisposition(inline ? 'inline' : 'attachment', thumbnail ? `${stripExtension(file.name)}.webp` : file.name),
      )
      .header('x-content-type-options', 'nosniff')
      // Even opened directly, nothing in it may run or load anything.
      .header('content-security-policy', "default-src 'none'; img-src 'self'; media-src 'self'; sandbox")
      // The web client is on another origin and embeds images and media.
      .header('cross-origin-resource-policy', 'cross-origin')
      // A signed link may be cached by this browser until it expires; a header-authenticated answer not at all.
      .header('cache-control', viaHeader === null ? 'private, max-age=300' : 'private, no-store');
    if (!thumbnail) reply.header('content-length', String(file.size));
    return reply.send(stream);
  }

  app.get('/files/:id', (request, reply) => serve(request, reply, false));
  app.get('/files/:id/thumbnail', (request, reply) => serve(request, reply, true));
}

function stripExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
