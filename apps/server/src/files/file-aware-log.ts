import type { MessageFiles } from '../hub/message-files.js';
import type { ConversationId, MessageLog, StoredMessage } from '../hub/message-log.js';

/**
 * A MessageLog whose reads (history, resume, the text clients' catch-up) bring
 * each message's files, links signed afresh: one catalog query per page.
 * Appends and the rest pass through (the sender attaches files itself).
 */
export function fileAwareLog(log: MessageLog, files: Pick<MessageFiles, 'ofMessages'>): MessageLog {
  const withFiles = async (messages: StoredMessage[]): Promise<StoredMessage[]> => {
    if (messages.length === 0) return messages;
    const byMessage = await files.ofMessages(messages.map((m) => m.id));
    if (byMessage.size === 0) return messages;
    return messages.map((m) => {
      const list = byMessage.get(m.id);
      return list ? { ...m, files: list } : m;
    });
  };
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'history') {
        return async (conversation: ConversationId, limit: number, before?: number) =>
          withFiles(await target.history(conversation, limit, before));
      }
      if (property === 'since') {
        return async (conversation: ConversationId, after: number, limit: number) =>
          withFiles(await target.since(conversation, after, limit));
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
