/** @parley/sdk: the Parley client for Node and browsers (C15). */
export { ParleyClient, type ClientEvents, type ClientOptions, type DeviceRecord } from './client.ts';
export type { LocalConversation, LocalMessage, MessageStatus } from './history.ts';
export type { SendMediaInput, TransferOptions, TransferProgress } from './media.ts';
export type { Attachment, BlobRef, MediaKind, ThumbnailRef } from '@parley/protocol';
/** Voice-note waveforms from PCM samples, for clients that record (the web app cannot import crypto). */
export { waveformPeaks } from '@parley/crypto';
export type { DeviceStore } from './store/types.ts';
export { MemoryStore } from './store/memory.ts';
export { IndexedDbStore } from './store/indexeddb.ts';
export type { WebSocketCtor, WebSocketLike, SocketState } from './transport/socket.ts';
export { HttpApi } from './transport/http.ts';
export { ParleyError, isParleyError } from '@parley/protocol';
