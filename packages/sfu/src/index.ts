/**
 * `@parley/sfu`: the group-call Selective Forwarding Unit (C6) and dominant-speaker detection
 * (C8). It forwards end-to-end-encrypted media it cannot read and never holds a key; see
 * docs/calls.md. Test helpers (a werift call participant) live in `@parley/sfu/testing`.
 */
export { Sfu, DEFAULT_MAX_PARTICIPANTS } from './sfu.ts';
export type {
  AuthorizeJoin,
  LeaveReason,
  MediaKind,
  RoomInfo,
  RoomSpeakerChange,
  SfuAnswer,
  SfuIceCandidate,
  SfuIceServer,
  SfuOffer,
  SfuOptions,
  SfuStats,
  SfuTrack,
} from './types.ts';
export {
  AUDIO_LEVEL_URI,
  ONE_BYTE_PROFILE,
  TWO_BYTE_PROFILE,
  audioLevelFromElements,
  decodeAudioLevel,
  encodeAudioLevel,
  findExtensionElement,
  readAudioLevel,
  type AudioLevel,
  type HeaderExtensionElement,
} from './audio-level.ts';
export {
  DEFAULT_DOMINANT_SPEAKER_OPTIONS,
  DominantSpeakerDetector,
  activityScore,
  type DominantSpeakerOptions,
  type SpeakerChange,
  type SpeakerScores,
} from './dominant-speaker.ts';
export { EXTENSION_IDS, PAYLOAD_TYPES } from './media.ts';
export { mintTurnCredentials, turnPassword, type MintTurnOptions, type TurnCredentials } from './turn.ts';
