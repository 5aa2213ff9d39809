import type { ChatMessage } from './chat-message.js';

/** The mark on a message of mine: a clock, one tick, two ticks, two blue ticks, or a failure. */
export type Tick = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/** How far a message of mine got, for its ticks. */
export interface TickState {
  readonly tick: Tick;
  /** A full sentence for the tooltip and screen readers. */
  readonly label: string;
  /** Short counts shown next to the ticks in a room or the lobby ("read by 2 of 3"); null in a direct conversation. */
  readonly detail: string | null;
}

type TickFacts = Pick<ChatMessage, 'status' | 'failure' | 'to' | 'room' | 'recipients' | 'delivered' | 'read'>;

/**
 * The tick state of a message of mine: pending until the ack; sent; delivered
 * once at least one recipient has it; read once at least one has seen it. In a
 * room or the lobby the counts say how many of how many ("delivered to 2 of 3").
 */
export function tickOf(message: TickFacts): TickState {
  if (message.status === 'pending') return { tick: 'pending', label: 'Sending…', detail: null };
  if (message.status === 'failed') return { tick: 'failed', label: message.failure ?? 'Not sent', detail: null };
  // Sent from elsewhere (another device, or before this browser kept it): stored, counts unknown.
  if (message.recipients === null) return { tick: 'sent', label: 'Sent', detail: null };
  const of = message.recipients;
  const group = message.to === null;
  // Seen implies received, whatever order the counts came in.
  const read = Math.min(message.read, of);
  const delivered = Math.min(Math.max(message.delivered, read), of);
  if (of === 0) {
    const nobody = message.room !== null ? 'no one else is in this room' : message.to === null ? 'no one else is online' : null;
    return { tick: 'sent', label: nobody ? `Sent (${nobody})` : 'Sent', detail: null };
  }
  if (!group) {
    if (read > 0) return { tick: 'read', label: 'Read', detail: null };
    if (delivered > 0) return { tick: 'delivered', label: 'Delivered', detail: null };
    return { tick: 'sent', label: 'Sent', detail: null };
  }
  const deliveredText = `delivered to ${delivered} of ${of}`;
  if (read > 0) {
    const readText = `read by ${read} of ${of}`;
    return { tick: 'read', label: `Read by ${read} of ${of}, ${deliveredText}`, detail: readText };
  }
  if (delivered > 0) return { tick: 'delivered', label: `Delivered to ${delivered} of ${of}`, detail: deliveredText };
  return { tick: 'sent', label: `Sent to ${of}, not delivered yet`, detail: null };
}
