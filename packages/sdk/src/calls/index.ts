/** Calls on the client (C6–C8): 1:1 call signalling inside MLS, group-call frame keys, live reactions. */
export { CallManager, type CallLayerContent, type CallManagerEvents, type SignalMeta } from './manager.ts';
export { Call } from './call.ts';
export { FrameKeys, type FrameKey, type FrameKeyEvents } from './frame-keys.ts';
export {
  AUDIO_LEVEL_URI,
  GroupCall,
  GroupCalls,
  type GroupCallEndReason,
  type GroupCallEvents,
  type GroupCallState,
  type GroupParticipant,
  type GroupReaction,
  type GroupRemoteTrack,
  type GroupSignalling,
  type GroupSpeaker,
  type JoinGroupOptions,
} from './group.ts';
export { GroupFrameCipher, type GroupFrameKind, type GroupFrameStats } from './group-frames.ts';
export type {
  CallEvents,
  CallHost,
  CallOptions,
  CallState,
  DeviceRef,
  IceCandidateLike,
  IceServerLike,
  LocalMedia,
  PeerConnectionCtor,
  PeerConnectionLike,
  SignalRejection,
} from './types.ts';
