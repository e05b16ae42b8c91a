/**
 * Types shared by the client's services (C1–C3, C15): what a device keeps about itself, the
 * client's options and events, and the one narrow interface through which services emit them.
 */
import type { SocketEvents, SocketState, WebSocketCtor } from '../transport/socket.ts';
import type { FetchLike } from '../transport/http.ts';
import type { Timeouts } from '../transport/deadline.ts';
import type { DeviceStore } from '../store/types.ts';
import type { LocalConversation, LocalMessage } from '../history.ts';
import type { CallOptions } from '../calls/index.ts';
import type { KeyTransparencyWarning } from '../transparency.ts';

/** What a registered device keeps about itself. */
export interface DeviceRecord {
  serverUrl: string;
  phone: string;
  accountId: string;
  deviceId: string;
  token: string;
  identity: { publicKey: Uint8Array; privateKey: Uint8Array };
  signing: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/**
 * A code request waiting for its code (kept in the device store under `pending-registration`):
 * `sessionId` is what the server answered the request with, and `verify` must send it back.
 */
export interface PendingRegistration {
  serverUrl: string;
  phone: string;
  /** Absent in records from before sessions existed: such a record needs a new code request. */
  sessionId?: string;
}

/** What happened to a message: the `message-changed` event's `change`. */
export type MessageChange = 'reaction' | 'edit' | 'delete' | 'quote';

/** How long the sender may edit or delete for everyone (defaults: `MESSAGE_ACTION_LIMITS` in the protocol). */
export interface MessageActionWindows {
  editMs: number;
  deleteMs: number;
}

/** Events a client emits. */
export interface ClientEvents extends Record<string, unknown> {
  /** A text or media message arrived (already stored locally and acknowledged). */
  message: LocalMessage;
  /**
   * A group's system line was stored in its history (`LocalMessage.system`: a rename, a
   * description, members added, removed or leaving, a role change). `messages()` returns it in order
   * with the messages; it is not a `message` event, since nobody sent it.
   */
  'system-line': LocalMessage;
  /**
   * An outgoing message changed status (sending, sent, delivered, read, failed), or a failed one
   * was discarded (it is then gone from `messages()`).
   */
  status: LocalMessage;
  receipt: { conversationId: string; from: string; receipt: 'delivered' | 'read' | 'played'; messageIds: string[] };
  typing: { conversationId: string; from: string; typing: boolean };
  /** A conversation was created, joined, renamed or changed membership. */
  conversation: LocalConversation;
  connection: SocketState;
  /**
   * The server refused this device's credentials for good (it was unlinked from another device of
   * the account, or its number was registered again; not emitted when this device logs itself out):
   * the socket stops, and every later request fails with `unauthenticated`. `reason` is the
   * server's word for it.
   */
  revoked: { reason: string };
  /**
   * A connection attempt failed or the connection dropped: the next attempt starts in `inMs`
   * (exponential backoff with jitter, up to 10 s). `reason` says what went wrong.
   */
  reconnecting: SocketEvents['reconnecting'];
  /** A contact's identity key differs from the one this device saw first: compare safety numbers. */
  identityChanged: { accountId: string; previous: string; current: string };
  /**
   * An account's signed device list has another version than this device saw last: a device was
   * linked or unlinked (C1). For a contact, compare safety numbers if that was unexpected.
   */
  'devices-changed': {
    accountId: string;
    previous: number;
    current: number;
    devices: { deviceId: string; signingKey: string }[];
  };
  /** A key-transparency check failed: the server serves a key its log does not bind, or its log is not append-only. */
  'key-transparency-warning': KeyTransparencyWarning;
  /**
   * Another account's profile key arrived in a conversation (already kept). It comes just before
   * that account's first own message there, which is also when the server starts counting this
   * account as its contact, so `profileOf(accountId)` may now show and read more than before.
   */
  'profile-key': { accountId: string; conversationId: string; version: number };
  /** This account blocked or unblocked someone (here, or on a linked device as this one learnt). */
  blocked: { accountId: string; blocked: boolean };
  /**
   * A stored message changed: a reaction, an edit, a delete for everyone (its text and attachment
   * are gone), or a reply's quote lost its excerpt because the quoted message was deleted.
   */
  'message-changed': { message: LocalMessage; change: MessageChange };
  /**
   * A message was deleted on this device only (`deleteForMe`), or disappeared: its expiry passed
   * (C17) and it is gone from this device's history.
   */
  'message-removed': { conversationId: string; messageId: string };
  /**
   * A reaction, edit or delete arrived that may not be applied (from someone who is not the sender
   * or not a member, outside its window, or for a message this device does not hold or that was
   * deleted): nothing changed. `messageId` is the action's own id, `target` the message it named.
   */
  'action-ignored': {
    conversationId: string;
    messageId: string;
    from: string;
    type: 'message-reaction' | 'edit' | 'delete';
    target: string;
    reason: string;
  };
  /** Something went wrong while processing a delivery (it is still acknowledged if unrecoverable). */
  error: { error: unknown; context: string };
}

/** Options for `ParleyClient.open`. */
export interface ClientOptions {
  store: DeviceStore;
  /** WebSocket class: the global one in browsers, `ws` in Node. */
  WebSocket?: WebSocketCtor;
  fetch?: FetchLike;
  /**
   * Deadlines in ms (defaults: 30 s per request, 10 s to connect; 0 or `Infinity` for none).
   * Past one, the call fails with the retryable `timeout` error.
   */
  timeouts?: Partial<Timeouts>;
  /** One-time KeyPackages to keep on the server. */
  keyPackageTarget?: number;
  /** Calls: peer-connection class, local media, ICE servers, timeouts (`docs/calls.md`). */
  calls?: CallOptions;
  /**
   * The server's key-transparency log key (unpadded base64url, `logKey` of `GET /v1/kt/head`),
   * learned from the operator out of band. When set, every head must be signed by it, from the
   * first check on; when not, the first key seen is pinned (docs/key-transparency.md).
   */
  ktLogKey?: string;
  /** Refuse key-transparency heads older than this by the device's clock (default 24 h, `KT_MAX_HEAD_AGE_MS`). */
  ktMaxHeadAgeMs?: number;
  /**
   * How long a sender may edit a message (default 24 h) or delete it for everyone (default 48 h),
   * checked when sending and on receipt. Every device should keep the defaults: a device with
   * shorter windows ignores actions others accept. Tests shorten them.
   */
  messageActionWindows?: Partial<MessageActionWindows>;
  /**
   * The device's clock in ms since the epoch (default `Date.now`): when disappearing messages
   * expire and what a sent message's expiry is (C17). Tests pass a simulated clock.
   */
  now?: () => number;
}

/** How services emit the client's events: the facade's own `emit`, nothing more. */
export interface ClientEventSink {
  emit<K extends keyof ClientEvents>(name: K, e: ClientEvents[K]): void;
}

/** Report a failure that has no caller to throw to, as the client's `error` event. */
export function reportError(events: ClientEventSink, context: string): (error: unknown) => void {
  return (error) => events.emit('error', { error, context });
}
