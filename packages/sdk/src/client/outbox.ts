/**
 * The outbox (C3): encrypts one content for a conversation and hands it to the server over the
 * socket, idempotent by client message id. The one way every other service sends content
 * (messages, receipts, typing, profile keys, group names, call signalling).
 */
import type { Content, Envelope } from '@parley/protocol';
import { newClientMessageId } from '../random.ts';
import type { Requester } from './connection.ts';
import type { Groups } from './groups.ts';

/** Options of one send. */
export interface SendOptions {
  /** The id the server de-duplicates by (default: a fresh one). */
  clientMessageId?: string;
  /** The sender's clock, inside the envelope (default: now). */
  sentAt?: number;
  /** Only devices online now get it; the server stores nothing. */
  ephemeral?: boolean;
  /** This send accepts the chat (a profile key shared by writing in it). */
  accept?: true;
  /**
   * A disappearing message's expiry (C17, ms since the epoch): inside the envelope for every
   * device, and told to the server so it deletes the ciphertext then.
   */
  expiresAt?: number;
}

/** The server's answer to a stored send. */
export interface SendAnswer {
  messageId: string;
  seq: number;
  sentAt: number;
  duplicate: boolean;
}

/** Sends content to a conversation. */
export interface ContentSender {
  send(conversationId: string, content: Content, opts?: SendOptions): Promise<SendAnswer>;
}

/** Encrypt-and-send for one device. */
export class Outbox implements ContentSender {
  constructor(
    private readonly groups: Groups,
    private readonly requests: Requester,
  ) {}

  /** Encrypt content for a conversation and hand it to the server (idempotent by client id). */
  send(conversationId: string, content: Content, opts: SendOptions = {}): Promise<SendAnswer> {
    const envelope: Envelope = {
      v: 1,
      content,
      sentAt: opts.sentAt ?? Date.now(),
      ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}),
    };
    const plaintext = new TextEncoder().encode(JSON.stringify(envelope));
    // The request is queued while the group lock is held, so messages leave in encryption order.
    return this.groups.encrypt(conversationId, plaintext, (ciphertext) =>
      this.requests.request<SendAnswer>(
        'send',
        {
          conversationId,
          clientMessageId: opts.clientMessageId ?? newClientMessageId(),
          ...(opts.ephemeral ? { ephemeral: true } : {}),
          ...(opts.accept ? { accept: true } : {}),
          ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}),
        },
        { payload: ciphertext, idempotent: !opts.ephemeral },
      ),
    );
  }
}
