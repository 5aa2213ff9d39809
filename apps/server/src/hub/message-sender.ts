import { CLIENT_ID_PATTERN, directConversation, LOBBY, roomConversation } from '@chorus/protocol';
import type { HubBackend } from './backend.js';
import type { Connection } from './connection.js';
import type { Command, OutEvent, Target } from './events.js';
import { envelopeOf } from './envelope.js';
import type { HubLogger } from './hub.js';
import type { MessageLog, StoredMessage } from './message-log.js';
import type { FileInfo, MessageFiles } from './message-files.js';
import type { HubMetrics } from './metrics.js';
import type { ReceiptBook } from './receipt-book.js';
import { RecentIds } from './recent-ids.js';
import { replyRefOf } from './log-entries.js';
import type { MessageActions } from './message-actions.js';

export type SendCommand = Extract<Command, { kind: 'send' }>;

/**
 * A client's send, from the frame to the ack: checks the target, stores the
 * message (the commit point), refuses an id reused for another message,
 * routes it, and acknowledges it. The sender's echo comes first (text), then
 * the delivery or the error, in the original protocol's order.
 */
export class MessageSender {
  readonly #actions: MessageActions;
  readonly #backend: HubBackend;
  readonly #messages: MessageLog;
  readonly #node: string;
  readonly #clock: () => number;
  readonly #receipts: ReceiptBook;
  readonly #log: HubLogger;
  readonly #metrics: HubMetrics;
  readonly #files: MessageFiles | undefined;
  #messageCount = 0;
  /** Messages this node has routed lately, so a client's retry is not delivered twice. */
  readonly #routed = new RecentIds(100_000);

  constructor(options: {
    actions: MessageActions;
    backend: HubBackend;
    messages: MessageLog;
    node: string;
    clock: () => number;
    receipts: ReceiptBook;
    log: HubLogger;
    metrics: HubMetrics;
    files?: MessageFiles;
  }) {
    this.#actions = options.actions;
    this.#files = options.files;
    this.#backend = options.backend;
    this.#messages = options.messages;
    this.#node = options.node;
    this.#clock = options.clock;
    this.#receipts = options.receipts;
    this.#log = options.log;
    this.#metrics = options.metrics;
  }

  async send(connection: Connection, command: SendCommand): Promise<void> {
    const from = connection.clientId;
    const { ref } = command;
    const fileIds = command.files ?? [];
    if (fileIds.length > 0) {
      // Checked before the echo: a send that cannot carry its files goes nowhere.
      const refusal = this.#files ? await this.#files.check(from, fileIds, ref) : { code: 'FILES_UNAVAILABLE' as const, detail: '' };
      if (refusal)
        return connection.emit({ kind: 'error', code: refusal.code, ...(refusal.detail ? { detail: refusal.detail } : {}), ref });
    }
    const view = this.#backend.view;
    let recipients: number;
    let target: Target;
    let conversation: string;
    if (command.room !== null) {
      // A room message that cannot go out gets the error alone: an echo would say it went out.
      const room = view.room(command.room);
      if (!room) return connection.emit({ kind: 'error', code: 'ROOM_NOT_FOUND', detail: command.room, ref });
      if (!room.members.has(from)) return connection.emit({ kind: 'error', code: 'NOT_ROOM_MEMBER', detail: command.room, ref });
      connection.emit({ kind: 'echo', text: command.text });
      target = { kind: 'room', room: command.room };
      conversation = roomConversation(command.room);
      recipients = room.members.size - 1;
    } else if (command.to !== null) {
      // The original protocol's order: the echo, then the delivery or the error.
      connection.emit({ kind: 'echo', text: command.text });
      const to = command.to;
      // Most recipients are online: answered without a promise to wait for.
      const canReceive = this.#canReceive(to, connection.codec.offlineRecipients === 'accepted');
      if (!(canReceive === true || (canReceive !== false && (await canReceive)))) {
        return connection.emit({ kind: 'unknown-recipient', target: to, ref });
      }
      target = { kind: 'client', clientId: to };
      conversation = directConversation(from, to);
      recipients = to === from ? 0 : 1;
    } else {
      connection.emit({ kind: 'echo', text: command.text });
      target = { kind: 'all' };
      conversation = LOBBY;
      recipients = Math.max(0, view.onlineCount() - 1);
    }

    let answered: StoredMessage | null = null;
    if (command.replyTo !== undefined) {
      // A reply answers a message of the same conversation that is still there.
      answered = await this.#actions.find(connection, command.replyTo, ref);
      if (!answered) return;
      if (answered.conversation !== conversation) {
        return connection.emit({ kind: 'error', code: 'UNKNOWN_MESSAGE', detail: `${answered.id} is not in ${conversation}`, ref });
      }
      if (answered.deletedAt !== undefined) return connection.emit({ kind: 'error', code: 'MESSAGE_DELETED', detail: answered.id, ref });
    }

    let stored: StoredMessage;
    let duplicate: boolean;
    try {
      const result = await this.#messages.append({
        id: `${this.#node}.${(++this.#messageCount).toString(36)}`,
        conversation,
        from,
        to: command.to,
        room: command.room,
        text: command.text,
        sentAt: command.sentAt,
        serverAt: this.#clock(),
        ref: ref ?? null,
        ...(answered ? { replyTo: answered.id } : {}),
      });
      stored = result.message;
      duplicate = result.duplicate;
    } catch (err) {
      this.#log.error({ err, clientId: from }, 'could not store a message');
      return connection.emit({ kind: 'error', code: 'STORAGE_FAILED', ref });
    }
    if (duplicate && !isRetryOf(stored, conversation, command.text)) {
      // The id names another message: acknowledging it would claim this one was stored.
      return connection.emit({ kind: 'error', code: 'ID_REUSED', detail: `id ${ref} was used for another message`, ref });
    }
    let files: FileInfo[] = [];
    if (fileIds.length > 0 && this.#files) {
      try {
        files = await this.#files.attach(from, { id: stored.id, ref: stored.ref, conversation }, fileIds);
      } catch (err) {
        this.#log.error({ err, clientId: from }, 'could not share the files of a stored message');
        return connection.emit({ kind: 'error', code: 'STORAGE_FAILED', ref });
      }
      if (files.length < fileIds.length) {
        // Another send took one of them between the check and now: this message went without it.
        this.#log.warn({ clientId: from, id: stored.id }, 'an upload was shared by another message first');
      }
    }
    const plain = envelopeOf(files.length > 0 ? { ...stored, files } : stored);
    const envelope = answered ? { ...plain, replyTo: replyRefOf(answered) } : plain;
    const ack: OutEvent = {
      kind: 'ack',
      ref: ref ?? envelope.id,
      id: envelope.id,
      serverAt: envelope.serverAt,
      recipients,
      conversation,
      seq: envelope.seq,
    };
    if (envelope.to === from) {
      // A note to yourself needs no routing: acknowledge it, then deliver it, like the text echo.
      this.#metrics.acked();
      connection.emit(ack);
      connection.emit({ kind: 'message', envelope });
      return;
    }
    // A retry of a message this node routed is only acknowledged again. A retry of
    // one it did not route (sent before a crash or a reconnect to another node) is
    // routed: it may never have gone out; clients keep one copy per (conversation, seq).
    if (!(duplicate && this.#routed.has(envelope.id))) {
      this.#receipts.track(envelope.id, from, envelope.to, recipients);
      this.#routed.add(envelope.id);
      const delivery = { target, payload: { kind: 'message', envelope }, origin: connection.id } as const;
      try {
        // An offline recipient of a private message gets it when it resumes.
        this.#metrics.routed(target.kind);
        await this.#backend.route(delivery);
        // The sender's other tabs see what it sent (to everyone and to rooms they get it anyway).
        if (target.kind === 'client' && view.connections(from) > 1) {
          await this.#backend.route({ ...delivery, target: { kind: 'client', clientId: from } });
        }
      } catch (err) {
        // Stored, so acknowledged all the same: recipients that missed it live get it when they resume.
        this.#log.warn({ err, clientId: from }, 'a stored message could not be routed live');
      }
    }
    this.#metrics.acked();
    connection.emit(ack);
  }

  /**
   * Whether a private message to `to` can be accepted: it is online, or (a
   * protocol that accepts messages for offline recipients) it has connected
   * before, so it will get the message when it comes back.
   */
  #canReceive(to: string, keepForOffline: boolean): boolean | Promise<boolean> {
    if (!CLIENT_ID_PATTERN.test(to)) return false;
    if (this.#backend.view.isOnline(to)) return true;
    if (!keepForOffline) {
      // Not in this node's replica: it may have connected a moment ago elsewhere.
      return this.#backend.route({ target: { kind: 'client', clientId: to }, payload: { kind: 'probe' } });
    }
    return this.#messages.hasBeenSeen(to).catch(() => false);
  }
}

/**
 * Whether a send whose (sender, id) is stored already is a retry of that
 * message: the same conversation and text. Anything else reuses the id for a
 * new message, which is refused (ID_REUSED) rather than silently dropped.
 */
function isRetryOf(stored: StoredMessage, conversation: string, text: string): boolean {
  return stored.conversation === conversation && stored.text === text;
}
