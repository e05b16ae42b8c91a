/** @parley/sdk: the Parley client for Node and browsers (C15). */
export {
  ParleyClient,
  type ClientEvents,
  type ClientOptions,
  type DeviceRecord,
  type PendingRegistration,
} from './client.ts';
export type { LocalConversation, LocalMessage, GroupEvent, MessageReaction, MessageStatus } from './history.ts';
export { MUTED_ALWAYS, isMuted } from './mute.ts';
export { checkTimer, parseTimer, timerLabel, timerShort } from './disappearing.ts';
export {
  MAX_QUERY_LENGTH,
  foldText,
  matchRanges,
  type SearchHit,
  type SearchOptions,
  type TextRange,
} from './search.ts';
export { findLinks, type FoundLink } from './links.ts';
export { makeLinkPreview, previewableLink, type LinkPreviewOptions } from './link-preview.ts';
export { LINK_PREVIEW_LIMITS, type LinkPreview } from '@parley/protocol';
export type { MessageActionWindows, MessageChange } from './client/types.ts';
export type { SendMediaInput, TransferOptions, TransferProgress } from './media.ts';
export {
  Call,
  CallManager,
  FrameKeys,
  type CallEvents,
  type CallManagerEvents,
  type CallOptions,
  type CallState,
  type DeviceRef,
  type FrameKey,
  type IceServerLike,
  type LocalMedia,
  type PeerConnectionCtor,
  type PeerConnectionLike,
  type SignalRejection,
} from './calls/index.ts';
export {
  AUDIO_LEVEL_URI,
  GroupCall,
  GroupFrameCipher,
  type GroupCallEndReason,
  type GroupCallEvents,
  type GroupCallState,
  type GroupFrameKind,
  type GroupFrameStats,
  type GroupParticipant,
  type GroupReaction,
  type GroupRemoteTrack,
  type GroupSpeaker,
  type JoinGroupOptions,
} from './calls/index.ts';
export type { Attachment, BlobRef, MediaKind, Quote, ThumbnailRef } from '@parley/protocol';
export { MESSAGE_ACTION_LIMITS, SAFETY_LIMITS } from '@parley/protocol';
export type { BlockedEntry, ReportCategory, ReportResult } from '@parley/protocol';
export type { ReportOptions } from './client/safety.ts';
export {
  notificationFor,
  DEFAULT_NOTIFICATION_SETTINGS,
  NOTIFY_SETTINGS_KEY,
  NOTIFY_VIEW_KEY,
  type NotificationDecision,
  type NotificationSettings,
  type NotificationView,
} from './client/push.ts';
/** Voice-note waveforms from PCM samples, for clients that record (the web app cannot import crypto). */
export { waveformPeaks } from '@parley/crypto';
export type { DeviceStore } from './store/types.ts';
export { MemoryStore } from './store/memory.ts';
export { IndexedDbStore } from './store/indexeddb.ts';
export type { WebSocketCtor, WebSocketLike, SocketState } from './transport/socket.ts';
export { HttpApi } from './transport/http.ts';
export { DEFAULT_TIMEOUTS, type Timeouts } from './transport/deadline.ts';
export { checkNumbers } from './discovery.ts';
export {
  KtApi,
  KeyTransparencyChecker,
  auditLog,
  checkConsistent,
  checkHeadAge,
  checkLogKey,
  decodeKtHead,
  type AuditedHead,
  type AuditOptions,
  type AuditResult,
  type BindingCheck,
  type KeyTransparencyWarning,
  type KtCheckOptions,
} from './transparency.ts';
export type { FindByNumber, Settings, Visibility } from '@parley/protocol';
export type { Profile } from './profiles.ts';
export { ParleyError, isParleyError } from '@parley/protocol';
export {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  exportChats,
  exportChatsToBytes,
  exportFileName,
  type ExportedAttachment,
  type ExportedChat,
  type ExportedMessage,
  type ExportedPerson,
  type ExportManifest,
  type ExportOptions,
  type ExportProgress,
  type ExportSource,
} from './export/index.ts';
export { groupEventText } from './group-event-text.ts';
export {
  linkUri,
  parseLinkUri,
  type AccountDevice,
  type LinkCode,
  type LinkedDevice,
  type PendingLink,
  type LinkWaitOptions,
} from './client/device-links.ts';
export {
  HISTORY_CHOICES,
  type HistoryChoice,
  type HistoryProgress,
  type LinkHistoryRef,
} from './client/link-history.ts';
export type { VerifiedDeviceList } from './client/trust.ts';
export { generatedLabelText, PATTERN_TEXT, type GeneratedLabel } from '@parley/protocol';
export { noticeFor, keyHint, DEVICE_MODEL_PREFIX, PATTERN_MODEL_ID } from './client/imagine.ts';
export type { ImageModel, ImagineOptions, ImagineVariant, DeviceModel, DeviceKeyInfo } from './client/imagine.ts';
export type { BackupSummary, RestoreResult } from './client/backups.ts';
export { BACKUP_CONTENT_FORMAT, BACKUP_CONTENT_VERSION, isBackedUp } from './backup/contents.ts';
/** Backup file secrets and headers (C16): recovery keys are made and formatted on the device. */
export {
  generateRecoveryKey,
  formatRecoveryKey,
  normaliseRecoveryKey,
  readBackupHeader,
  DEFAULT_BACKUP_KDF,
  type BackupSecret,
  type BackupKdfParams,
  type BackupHeaderInfo,
} from '@parley/crypto';
