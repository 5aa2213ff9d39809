import { emojiProblem, MAX_TEXT_LENGTH, textProblem } from '@chorus/protocol';
import type { HubBackend } from './backend.js';
import type { Connection } from './connection.js';
import type { Command, MessageRef } from './events.js';
import type { HubLogger } from './hub.js';
import { actionEventOf, audienceOf, conversationOf } from './log-entries.js';
import type { MessageLog, StoredMessage } from './message-log.js';
import { RecentIds } from './recent-ids.js';

export type ActCommand = Extract<Command, { kind: 'edit' | 'delete' | 'react' | 'unreact' }>;

/**
 * Edits, deletes and reactions, from the frame to the ack: finds the message,
 * checks that the client may do it, stores the action (an entry of the
 * conversation's log, applied to the message in the same transaction), routes
 * it to the message's audience (the actor's connections included: every
 * client applies it from the one `action` event), and acknowledges it.
 */
export class MessageActions {
  readonly #backend: HubBackend;
  readonly #messages: MessageLog;
  readonly #node: string;
  readonly #clock: () => number;
  readonly #log: HubLogger;
  readonly #mayRead: (clientId: string, conversation: string) => boolean;
  readonly #onDeleted: (messageId: string) => void;
  #count = 0;
  /** Actions this node routed lately, so that a client's retry is acknowledged again, not delivered twice. */
  readonly #routed = new RecentIds(10_000);

  constructor(options: {
    backend: HubBackend;
    messages: MessageLog;
    node: string;
    clock: () => number;
    log: HubLogger;
    mayRead: (clientId: string, conversation: string) => boolean;
    /** Told once a message is deleted (its files go with it). */
    onDeleted?: (messageId: string) => void;
  }) {
    this.#backend = options.backend;
    this.#messages = options.messages;
    this.#node = options.node;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#mayRead = options.mayRead;
    this.#onDeleted = options.onDeleted ?? (() => {});
  }

  /**
   * The message `ref` names, if `clientId` may see it: null (and the error
   * told) otherwise. A message in a conversation the client is not part of is
   * NOT_IN_CONVERSATION; an unknown id, or a seq that is an action, UNKNOWN_MESSAGE.
   */
  async find(connection: Connection, ref: MessageRef, cmdRef: string | undefined): Promise<StoredMessage | null> {
    const clientId = connection.clientId;
    const message =
      'id' in ref
        ? await this.#messages.messageById(ref.id)
        : await this.#messages.entryAt(conversationOf(clientId, ref.conversation), ref.seq);
    const shown = 'id' in ref ? ref.id : `seq ${ref.seq}`;
    if (!message || message.kind !== undefined) {
      connection.emit({ kind: 'error', code: 'UNKNOWN_MESSAGE', detail: shown, ref: cmdRef });
      return null;
    }
    if (!this.#mayRead(clientId, message.conversation)) {
      connection.emit({ kind: 'error', code: 'NOT_IN_CONVERSATION', detail: message.conversation, ref: cmdRef });
      return null;
    }
    return message;
  }

  async act(connection: Connection, command: ActCommand): Promise<void> {
    const from = connection.clientId;
    const { ref } = command;
    const refused = this.#badInput(command);
    if (refused) return connection.emit({ kind: 'error', code: refused.code, detail: refused.detail, ref });
    const message = await this.find(connection, command.message, ref);
    if (!message) return;
    if (message.deletedAt !== undefined) return connection.emit({ kind: 'error', code: 'MESSAGE_DELETED', detail: message.id, ref });
    if (command.kind === 'edit' && message.from !== from) {
      return connection.emit({ kind: 'error', code: 'NOT_YOUR_MESSAGE', detail: message.id, ref });
    }
    if (command.kind === 'delete' && message.from !== from && !this.#ownsRoomOf(from, message)) {
      return connection.emit({ kind: 'error', code: 'NOT_ALLOWED', detail: message.id, ref });
    }

    let result;
    try {
      result = await this.#messages.act({
        id: `${this.#node}!${(++this.#count).toString(36)}`,
        kind: command.kind,
        from,
        target: message.id,
        text: command.kind === 'delete' ? '' : command.text,
        serverAt: this.#clock(),
        ref: ref ?? null,
      });
    } catch (err) {
      this.#log.error({ err, clientId: from }, 'could not store an action');
      return connection.emit({ kind: 'error', code: 'STORAGE_FAILED', ref });
    }
    if (!result.ok) {
      // Deleted (or gone) between the look-up and the transaction.
      const code = result.reason === 'deleted' ? 'MESSAGE_DELETED' : 'UNKNOWN_MESSAGE';
      return connection.emit({ kind: 'error', code, detail: message.id, ref });
    }
    const { action: entry, duplicate } = result;
    if (
      duplicate &&
      !(entry.kind === command.kind && entry.target === message.id && (command.kind === 'delete' || entry.text === command.text))
    ) {
      return connection.emit({ kind: 'error', code: 'ID_REUSED', detail: `id ${ref} was used for something else`, ref });
    }
    if (command.kind === 'delete' && !duplicate) this.#onDeleted(message.id);
    const action = actionEventOf(entry, message);
    // A retry of one this node routed is only acknowledged again; one it did not
    // route (before a crash, or on another node) may never have gone out.
    if (!(duplicate && this.#routed.has(entry.id))) {
      this.#routed.add(entry.id);
      try {
        for (const target of audienceOf(message)) await this.#backend.route({ target, payload: { kind: 'action', action } });
      } catch (err) {
        // Stored, so acknowledged all the same: whoever missed it live gets it on resume.
        this.#log.warn({ err, clientId: from }, 'a stored action could not be routed live');
      }
    }
    connection.emit({
      kind: 'ack',
      ref: ref ?? entry.id,
      id: entry.id,
      serverAt: entry.serverAt,
      recipients: 0,
      conversation: entry.conversation,
      seq: entry.seq,
    });
  }

  /** What is wrong with the command's own input (before any look-up), or null. */
  #badInput(command: ActCommand): { code: 'BAD_EMOJI' | 'TOO_LONG' | 'BAD_FRAME'; detail: string } | null {
    if (command.kind === 'react' || command.kind === 'unreact') {
      const problem = emojiProblem(command.text);
      return problem ? { code: 'BAD_EMOJI', detail: problem } : null;
    }
    if (command.kind === 'edit') {
      if (command.text.length > MAX_TEXT_LENGTH) return { code: 'TOO_LONG', detail: `at most ${MAX_TEXT_LENGTH} characters` };
      if (command.text.length === 0) return { code: 'BAD_FRAME', detail: 'the new text is empty' };
      const problem = textProblem(command.text);
      if (problem) return { code: 'BAD_FRAME', detail: problem };
    }
    return null;
  }

  /** Whether `clientId` owns the room `message` is in (a room's owner may delete any message there). */
  #ownsRoomOf(clientId: string, message: StoredMessage): boolean {
    return message.room !== null && this.#backend.view.room(message.room)?.owner === clientId;
  }
}
