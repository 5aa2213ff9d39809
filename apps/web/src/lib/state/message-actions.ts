import type { ChatMessage } from './chat-message.js';

/** The reactions the picker offers (any emoji can come from others, and shows as a chip). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;

/** What a message's menu can do, as the session does it (components never send frames). */
export interface MessageActionHandlers {
  readonly me: string;
  edit(message: ChatMessage, text: string): boolean;
  remove(message: ChatMessage): boolean;
  canDelete(message: ChatMessage): boolean;
  toggleReaction(message: ChatMessage, emoji: string): boolean;
  /** The composer's next message answers `message`. */
  replyTo(message: ChatMessage): void;
  /** The held message with this server id (a reply's quote shows it as it is now). */
  lookup(id: string): ChatMessage | undefined;
}
