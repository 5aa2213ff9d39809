import { z } from 'zod';
import { ClientId } from './client-id.js';
import { ERROR_CODES } from './errors.js';

/** The WebSocket subprotocol that selects the JSON protocol. */
export const SUBPROTOCOL = 'chorus.v1';

/** Longest message text, in UTF-16 code units, the JSON protocol accepts. */
export const MAX_TEXT_LENGTH = 10_000;

/** A client-chosen reference that the server echoes in acks and errors. */
export const ClientRef = z.string().min(1).max(64);
/** Milliseconds since the Unix epoch. */
export const EpochMs = z.number().finite().nonnegative();

// ---- client -> server ------------------------------------------------------

/** Send `text` to one client (`to`) or, without `to`, to everyone. */
export const SendFrame = z.strictObject({
  type: z.literal('send'),
  id: ClientRef,
  to: ClientId.nullish(),
  text: z.string().min(1).max(MAX_TEXT_LENGTH),
  sentAt: EpochMs,
});

/** Asks for the server's clock; answered with `pong`. */
export const PingFrame = z.strictObject({
  type: z.literal('ping'),
  id: ClientRef.optional(),
  sentAt: EpochMs,
});

export const ClientFrame = z.discriminatedUnion('type', [SendFrame, PingFrame]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type PingFrame = z.infer<typeof PingFrame>;

// ---- server -> client ------------------------------------------------------

/** First frame of every accepted JSON connection. */
export const WelcomeFrame = z.strictObject({
  type: z.literal('welcome'),
  protocol: z.literal(SUBPROTOCOL),
  clientId: ClientId,
  /** The server's clock when the frame was written. */
  serverAt: EpochMs,
  /** Which server process holds this connection (for logs and support). */
  node: z.string(),
  /** Everyone online when the client joined, the client included. */
  online: z.array(ClientId),
  limits: z.strictObject({ maxTextLength: z.number().int(), maxFrameBytes: z.number().int() }),
});

/** A chat message delivered to its recipients (and nobody else). */
export const MessageFrame = z.strictObject({
  type: z.literal('message'),
  /** The server's id of this message. */
  id: z.string(),
  from: ClientId,
  /** The recipient for a private message; null for everyone. */
  to: ClientId.nullable(),
  text: z.string(),
  /** The sender's clock when it sent the message. */
  sentAt: EpochMs,
  /** The server's clock when it accepted the message. */
  serverAt: EpochMs,
});

/** The server accepted the send whose `id` was `ref`. */
export const AckFrame = z.strictObject({
  type: z.literal('ack'),
  ref: ClientRef,
  id: z.string(),
  serverAt: EpochMs,
});

/** Who came and went since the last presence frame (batched). */
export const PresenceFrame = z.strictObject({
  type: z.literal('presence'),
  joined: z.array(ClientId),
  left: z.array(ClientId),
  serverAt: EpochMs,
});

export const PongFrame = z.strictObject({
  type: z.literal('pong'),
  id: ClientRef.optional(),
  /** The `sentAt` of the ping, echoed so the client can measure the round trip. */
  sentAt: EpochMs,
  serverAt: EpochMs,
});

export const ErrorFrame = z.strictObject({
  type: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  retryable: z.boolean(),
  /** The `id` of the client frame that caused the error, when it had one. */
  ref: ClientRef.optional(),
});

export const ServerFrame = z.discriminatedUnion('type', [
  WelcomeFrame,
  MessageFrame,
  AckFrame,
  PresenceFrame,
  PongFrame,
  ErrorFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type PresenceFrame = z.infer<typeof PresenceFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
