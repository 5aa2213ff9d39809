import { ERRORS, MAX_TEXT_LENGTH, type SendFrame, type ServerFrame } from '@chorus/protocol';
import { Connection } from './connection.svelte.js';
import { MessageLog } from './message-log.svelte.js';
import { OnlineList } from './online-list.svelte.js';
import { explainSendError } from './plain-words.js';
import { ServerClock } from './server-clock.svelte.js';

/** A problem worth telling the user that is not about the connection itself. */
export interface Notice {
  readonly id: number;
  readonly text: string;
}

/**
 * One signed-in tab: the connection, the server clock, who is online and the
 * messages. Turns server frames into state; components only read it and call
 * {@link ChatSession.send}.
 */
export class ChatSession {
  /** My client id. */
  readonly me: string;
  readonly connection: Connection;
  readonly clock = new ServerClock();
  readonly online = new OnlineList();
  readonly messages = new MessageLog();
  /** Errors the server reported that no message of mine explains. */
  notices = $state<Notice[]>([]);
  /** The longest text the server accepts (from the welcome frame). */
  maxTextLength = $state(MAX_TEXT_LENGTH);
  /** Which server process holds the connection (for support). */
  node = $state<string | null>(null);

  readonly #refPrefix = Math.random().toString(36).slice(2, 10);
  #sends = 0;
  #notices = 0;
  readonly #onBrowserOnline = () => this.connection.retryNow();

  constructor(me: string, resolveUrl: () => Promise<string>) {
    this.me = me;
    this.connection = new Connection({
      clientId: me,
      resolveUrl,
      onFrame: (frame) => this.#handle(frame),
      onLost: (reason) => this.messages.failPending(`Not sent: ${reason}`),
    });
  }

  /** Connects (and keeps reconnecting as the close codes allow). */
  start(): void {
    window.addEventListener('online', this.#onBrowserOnline);
    this.connection.open();
  }

  /** Disconnects for good. */
  stop(): void {
    window.removeEventListener('online', this.#onBrowserOnline);
    this.connection.close();
  }

  /**
   * Sends `text` to `to` (null = everyone) and shows it at once as pending.
   * Returns false, sending nothing, when offline or the text is empty.
   */
  send(text: string, to: string | null): boolean {
    if (text.trim() === '' || text.length > this.maxTextLength) return false;
    const ref = `${this.#refPrefix}-${++this.#sends}`;
    const sentAt = Date.now();
    // `to` is omitted, not null, for everyone.
    const frame: SendFrame = { type: 'send', id: ref, ...(to === null ? {} : { to }), text, sentAt };
    if (!this.connection.send(frame)) return false;
    this.messages.addOwn({ ref, from: this.me, to, text, sentAt, serverAt: this.clock.now() });
    return true;
  }

  /** Hides a notice. */
  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  #handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.clock.fromWelcome(frame.serverAt);
        this.online.reset(frame.online);
        this.maxTextLength = frame.limits.maxTextLength;
        this.node = frame.node;
        // A round trip right away gives a much better clock estimate than the welcome.
        this.connection.send({ type: 'ping', id: 'sync', sentAt: Date.now() });
        return;
      case 'pong':
        this.clock.fromPong(frame.sentAt, frame.serverAt);
        return;
      case 'presence':
        this.online.apply(frame.joined, frame.left);
        return;
      case 'message':
        if (frame.from === this.me && this.messages.confirmOwn(frame)) return;
        this.messages.addReceived(frame);
        return;
      case 'ack':
        this.messages.ack(frame.ref, frame.id, frame.serverAt);
        return;
      case 'error':
        if (frame.ref !== undefined) {
          const pending = this.messages.pending(frame.ref);
          if (pending) {
            this.messages.fail(frame.ref, explainSendError(frame, pending.to));
            return;
          }
        }
        // Errors that end the connection are explained by the connection status.
        if ('close' in ERRORS[frame.code]) return;
        this.notices = [...this.notices, { id: ++this.#notices, text: `The server said: ${frame.message}.` }];
        return;
      default:
        frame satisfies never;
    }
  }
}
