/**
 * @parley/crypto public API (C2 end-to-end encryption, C4 media encryption, C13 key hygiene). Runs in Node and browsers:
 * it uses @noble/*, ts-mls and WebCrypto via `globalThis.crypto`, never `node:` modules.
 */
export {
  validateX25519PublicKey,
  validateEd25519PublicKey,
  generateSigningKeyPair,
  signingPublicKey,
  sign,
  verifySignature,
  type SigningKeyPair,
} from './keys.ts';
export {
  inspectKeyPackage,
  parseKeyPackage,
  keyPackageRef,
  CIPHER_SUITE,
  type KeyPackageInfo,
  type ExpectedKeyPackageOwner,
  type ParsedKeyPackage,
} from './keypackage.ts';
export { CIPHER_SUITE_NAME, type DeviceAuthenticator, type MlsOptions } from './mls-context.ts';
export {
  createDeviceIdentity,
  generateKeyPackages,
  type DeviceIdentity,
  type KeyPackageSecret,
  type GeneratedKeyPackages,
} from './mls-identity.ts';
export {
  MlsGroup,
  createGroup,
  addMembers,
  removeMembers,
  updateKeys,
  processCommit,
  joinFromWelcome,
  findWelcomeBundle,
  encryptMessage,
  decryptMessage,
  groupEpoch,
  groupMembers,
  groupId,
  groupIsActive,
  serializeGroup,
  deserializeGroup,
  type AddMembersResult,
  type RemoveMembersResult,
  type UpdateKeysResult,
  type ProcessCommitResult,
  type EncryptResult,
  type DecryptResult,
  type MembershipChange,
} from './mls.ts';
export { inspectMlsMessage, inspectCommitEpoch, type MlsMessageInfo, type MlsContentType } from './mls-inspect.ts';
export {
  safetyNumber,
  safetyNumberQrPayload,
  verifySafetyNumberQr,
  identityFingerprint,
  type SafetyParty,
} from './safety.ts';
export {
  encryptMedia,
  decryptMedia,
  mediaDigest,
  waveformPeaks,
  type EncryptedMedia,
  type MediaSecrets,
  type WaveformOptions,
} from './media.ts';
export { concatBytes } from './bytes.ts';
export {
  SFRAME_CIPHER_SUITE,
  SFRAME_BASE_KEY_BYTES,
  CLEAR_BYTES,
  SFrameSender,
  SFrameReceiver,
  encodeSFrameHeader,
  parseSFrameHeader,
  deriveSFrameKey,
  encryptFrame,
  decryptFrame,
  inspectSealedFrame,
  type ClearBytes,
  type SFrameHeader,
  type SFrameKey,
} from './sframe.ts';
export {
  blindNumber,
  finalizeNumber,
  finalizeInput,
  discoveryTag,
  evaluateNumber,
  blindEvaluate,
  generateOprfKey,
  deriveOprfKey,
  blindWithScalar,
  discoveryInput,
  DISCOVERY_SUITE,
  OPRF_ELEMENT_BYTES,
  type BlindedNumber,
} from './oprf.ts';
export { usernameHash } from './username.ts';
export {
  ktLeafHash,
  ktNodeHash,
  encodeKtLeaf,
  ktBindingHash,
  ktTreeOf,
  ktRoot,
  ktInclusionProof,
  ktConsistencyProof,
  verifyKtInclusion,
  verifyKtConsistency,
  ktHeadMessage,
  signKtHead,
  verifyKtHead,
  ktLabel,
  verifyKtLabel,
  KT_EMPTY_ROOT,
  KT_HASH_BYTES,
  type KtLeaf,
  type KtSignedHead,
  type KtTreeView,
} from './transparency.ts';
export { sealProfileField, openProfileField, type SealedProfileField } from './profile.ts';
export {
  generateLinkKeyPair,
  generateLinkSecret,
  deriveLinkKey,
  sealLinkMessage,
  openLinkMessage,
  LINK_SECRET_BYTES,
  type LinkKeyPair,
  type LinkMessageKind,
} from './device-link.ts';
export {
  sealBackup,
  openBackup,
  readBackupHeader,
  generateRecoveryKey,
  normaliseRecoveryKey,
  formatRecoveryKey,
  BACKUP_MAGIC,
  BACKUP_VERSION,
  DEFAULT_BACKUP_KDF,
  type BackupSecret,
  type BackupKdfParams,
  type BackupHeaderInfo,
} from './backup.ts';
