import type { ErrorCode } from '@chorus/protocol';

/** A chat message as it travels between nodes and reaches recipients (protocol-neutral). */
export interface Envelope {
  /** The server's id of the message. */
  readonly id: string;
  readonly from: string;
  /** The recipient of a private message; null for everyone. */
  readonly to: string | null;
  readonly text: string;
  readonly sentAt: number;
  readonly serverAt: number;
}

/** A presence change somewhere in the service. */
export interface PresenceChange {
  readonly clientId: string;
  readonly online: boolean;
  /** True when the client's worker died (no goodbye of its own). */
  readonly crashed?: boolean;
}

/**
 * What the hub tells a session, before any protocol has rendered it. Each codec
 * renders the events its protocol knows and ignores the rest (returns null).
 */
export type OutEvent =
  | { readonly kind: 'welcome'; readonly clientId: string; readonly online: readonly string[]; readonly serverAt: number }
  | { readonly kind: 'echo'; readonly text: string }
  | { readonly kind: 'ack'; readonly ref: string; readonly id: string; readonly serverAt: number }
  | { readonly kind: 'message'; readonly envelope: Envelope }
  | { readonly kind: 'unknown-recipient'; readonly target: string; readonly ref?: string | undefined }
  | { readonly kind: 'presence'; readonly joined: readonly string[]; readonly left: readonly string[]; readonly serverAt: number }
  | { readonly kind: 'left'; readonly clientId: string }
  | { readonly kind: 'pong'; readonly ref?: string | undefined; readonly sentAt: number; readonly serverAt: number }
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly detail?: string; readonly ref?: string | undefined };

/** What a session asked for, after its protocol parsed the frame. */
export type Command =
  | { readonly kind: 'send'; readonly ref?: string | undefined; readonly to: string | null; readonly text: string; readonly sentAt: number }
  | { readonly kind: 'ping'; readonly ref?: string | undefined; readonly sentAt: number }
  | { readonly kind: 'invalid'; readonly code: ErrorCode; readonly detail: string; readonly ref?: string | undefined };
