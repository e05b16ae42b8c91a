/**
 * The contract between the server and the hosted business devices it is given (C10,
 * docs/business.md "Where the keys live"): the server may not import the SDK, so both sides take
 * these shapes from here. Types only: nothing of it goes on the wire.
 */
import type { BusinessMessage } from './business-content.ts';
import type { LinkPreview } from './link-preview.ts';
import type { MediaKind } from './media.ts';

/** A business number the host runs a device for. */
export interface HostedNumber {
  phoneNumberId: string;
  phone: string;
  verifiedName: string;
}

/** What a business sends, after the platform checked it. */
export type HostedContent =
  | { kind: 'text'; body: string; preview?: LinkPreview }
  | { kind: 'reaction'; messageId: string; emoji: string | null }
  | { kind: 'business'; message: BusinessMessage }
  /**
   * Media the business uploaded (`POST /{v}/{pnid}/media`) and sent by id: the device encrypts
   * and uploads it as an ordinary end-to-end encrypted attachment.
   */
  | {
      kind: 'media';
      bytes: Uint8Array;
      mimeType: string;
      mediaKind: MediaKind;
      fileName?: string;
      caption?: string;
    };

/** An event for the webhook: a user's message or reaction, or a status of the business's message. */
export type HostedEvent =
  | {
      type: 'message';
      phoneNumberId: string;
      conversationId: string;
      /** The user's account. */
      from: string;
      messageId: string;
      /** Server time of the message. */
      at: number;
      text: string;
      business?: BusinessMessage;
      replyTo?: string;
      attachment?: { kind: string; mime: string; size: number; caption?: string };
    }
  | {
      type: 'reaction';
      phoneNumberId: string;
      conversationId: string;
      from: string;
      /** The reacted-to message. */
      messageId: string;
      emoji: string;
      at: number;
    }
  | {
      type: 'status';
      phoneNumberId: string;
      conversationId: string;
      /** The user the message went to. */
      recipient: string;
      messageId: string;
      status: 'sent' | 'delivered' | 'read';
      at: number;
    };
