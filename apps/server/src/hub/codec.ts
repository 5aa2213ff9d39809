import type { Command, OutEvent } from './events.js';

/** Which wire protocol a session speaks. */
export type ProtocolName = 'text' | 'json';

/** Parses one protocol's inbound frames and renders hub events in it. */
export interface Codec {
  readonly name: ProtocolName;
  /**
   * Who keeps a client's place in its private conversations. `client`: it
   * sends its cursors when it resumes (chorus.v1). `server`: it has no cursor
   * of its own (the text protocol), so the hub keeps one per conversation in
   * storage and, when the client connects, sends what was kept for it since.
   */
  readonly cursors: 'client' | 'server';
  /**
   * How presence reaches its sessions. `per-event`: one line per join or
   * leave, at once (the text protocol). `batched`: a presence frame at most
   * every presenceInterval, carrying every change since the last (chorus.v1).
   */
  readonly presence: 'per-event' | 'batched';
  /**
   * A private message to someone offline who has connected before:
   * `accepted` (kept, and delivered when they are back: chorus.v1), or
   * `refused` as not a valid client (the original text protocol's answer).
   */
  readonly offlineRecipients: 'accepted' | 'refused';
  /** Parses one inbound text frame; bad frames come back as an `invalid` command. */
  decode(frame: string, receivedAt: number): Command;
  /**
   * Renders an event as one frame, or null when this protocol does not show
   * that event. Pure: the hub renders a fanout once per protocol and sends the
   * same string to every session that speaks it.
   */
  encode(event: OutEvent): string | null;
}
