/**
 * The chat export's machine-readable format (C16), version 1: what `export.json` and each chat's
 * `chat.json` hold. docs/export.md describes the zip's layout; this file is the schema. Times are ISO
 * 8601 strings in UTC; people are named by account id, with the name and number this device knew.
 * Readers should ignore fields they do not know: later versions only add fields.
 */

/** `format` of every JSON file in a Parley chat export. */
export const EXPORT_FORMAT = 'parley-chat-export';
/** The version of the format this SDK writes. */
export const EXPORT_VERSION = 1;

/** A person as the exporting device knew them. */
export interface ExportedPerson {
  accountId: string;
  /** Their profile name, when they shared it with this account. */
  name?: string;
  /** Their phone number, when this device knows it (its own, or a contact found by number). */
  phone?: string;
}

/** An attachment: the decrypted file in the zip (`file`), or why it is missing (`error`). */
export interface ExportedAttachment {
  kind: string;
  mimeType: string;
  fileName?: string;
  /** Plaintext bytes. */
  size: number;
  durationMs?: number;
  width?: number;
  height?: number;
  /** Path of the file inside the chat's folder (`media/…`); absent when media was left out or failed. */
  file?: string;
  /** Why the file is missing: `not_included` (the export left media out) or the download's error code. */
  error?: string;
}

/** One message. */
export interface ExportedMessage {
  id: string;
  /** Sender account id. */
  from: string;
  outgoing: boolean;
  /** The sender's clock. */
  sentAt: string;
  /** The server's clock when it stored the message. */
  serverTime?: string;
  /** The text, or an attachment's caption. Absent when empty or deleted. */
  text?: string;
  attachment?: ExportedAttachment;
  replyTo?: { id: string; from: string; excerpt?: string; deleted?: true };
  forwarded?: true;
  /** When the message was last edited (`text` is the latest text). */
  editedAt?: string;
  /** When it was deleted for everyone: nothing of it is kept but this. */
  deletedAt?: string;
  reactions?: { from: string; emoji: string; at: string }[];
  /** A call-log entry: how a call ended. */
  call?: { callId: string; media: string; outcome: string; durationMs: number; startedAt: string; caller: string };
  /** A line about a group change this device recorded (no sender wrote it): who did what. */
  system?: { kind: string; by: string; member?: string; name?: string };
  /** Outgoing messages: the accounts that had it delivered, read, and (notes) played. */
  deliveredTo?: string[];
  readBy?: string[];
  playedBy?: string[];
}

/** `chats/<folder>/chat.json`: one conversation. */
export interface ExportedChat {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  id: string;
  kind: 'direct' | 'group';
  title: string;
  /** A group's description, when it has one. */
  description?: string;
  createdAt: string;
  /** False once this account left or was removed. */
  active: boolean;
  members: ExportedPerson[];
  /** Group admins' account ids. */
  admins: string[];
  /** Oldest first; only messages from `since` on when the export was limited. */
  messages: ExportedMessage[];
}

/** `export.json` at the top of the zip. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  /** The exporting account. */
  account: ExportedPerson;
  /** Only messages from this time on, when the export was limited. */
  since?: string;
  /** Whether media files were included. */
  media: boolean;
  chats: {
    id: string;
    title: string;
    kind: 'direct' | 'group';
    folder: string;
    messages: number;
    mediaFiles: number;
  }[];
}
