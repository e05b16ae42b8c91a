/**
 * Delivery Service view of MLS messages (C2): what the server may read from the framing without
 * any group secret — group id, epoch and content type of every handshake/application message,
 * plus, for PublicMessage commits, the committer's leaf and the devices added and leaves removed,
 * and for Welcomes the KeyPackageRefs they are addressed to.
 */
import {
  contentTypes,
  decode,
  defaultProposalTypes,
  mlsMessageDecoder,
  proposalOrRefTypes,
  senderTypes,
  wireformats,
  type KeyPackage,
  type MlsMessage,
} from 'ts-mls';
import { ParleyError } from '@parley/protocol';
import { credentialDeviceId } from './mls-context.ts';

/** Content types named as in RFC 9420. */
export type MlsContentType = 'application' | 'proposal' | 'commit';

/** What {@link inspectMlsMessage} can tell about a message. */
export interface MlsMessageInfo {
  wireformat: 'public_message' | 'private_message' | 'welcome' | 'group_info' | 'key_package';
  groupId?: Uint8Array;
  epoch?: number;
  contentType?: MlsContentType;
  /** Committer / sender leaf index (PublicMessage from a member only). */
  senderLeafIndex?: number;
  /** Device ids added by a PublicMessage commit. */
  addedDeviceIds?: string[];
  /** Leaf indices removed by a PublicMessage commit. */
  removedLeafIndices?: number[];
  /** KeyPackageRefs a Welcome is encrypted to. */
  welcomeKeyPackageRefs?: Uint8Array[];
}

const CONTENT: Record<number, MlsContentType> = { 1: 'application', 2: 'proposal', 3: 'commit' };

/** Decode an MLSMessage's public framing. Throws `bad_request` when it is not an MLSMessage. */
export function inspectMlsMessage(bytes: Uint8Array): MlsMessageInfo {
  let msg: MlsMessage | undefined;
  try {
    msg = decode(mlsMessageDecoder, bytes);
  } catch {
    msg = undefined;
  }
  if (!msg) throw new ParleyError('bad_request', { message: 'not an MLS message' });
  switch (msg.wireformat) {
    case wireformats.mls_public_message: {
      const c = msg.publicMessage.content;
      const info: MlsMessageInfo = {
        wireformat: 'public_message',
        groupId: c.groupId,
        epoch: Number(c.epoch),
        contentType: CONTENT[c.contentType] ?? 'application',
      };
      if (c.sender.senderType === senderTypes.member) info.senderLeafIndex = c.sender.leafIndex;
      if (c.contentType === contentTypes.commit) {
        info.addedDeviceIds = [];
        info.removedLeafIndices = [];
        for (const p of c.commit.proposals) {
          if (p.proposalOrRefType !== proposalOrRefTypes.proposal) continue;
          if (p.proposal.proposalType === defaultProposalTypes.add) {
            const kp = (p.proposal as { add: { keyPackage: KeyPackage } }).add.keyPackage;
            info.addedDeviceIds.push(credentialDeviceId(kp.leafNode.credential) ?? '');
          } else if (p.proposal.proposalType === defaultProposalTypes.remove) {
            info.removedLeafIndices.push((p.proposal as { remove: { removed: number } }).remove.removed);
          }
        }
      }
      return info;
    }
    case wireformats.mls_private_message: {
      const pm = msg.privateMessage;
      return {
        wireformat: 'private_message',
        groupId: pm.groupId,
        epoch: Number(pm.epoch),
        contentType: CONTENT[pm.contentType] ?? 'application',
      };
    }
    case wireformats.mls_welcome:
      return { wireformat: 'welcome', welcomeKeyPackageRefs: msg.welcome.secrets.map((s) => s.newMember) };
    case wireformats.mls_group_info:
      return {
        wireformat: 'group_info',
        groupId: msg.groupInfo.groupContext.groupId,
        epoch: Number(msg.groupInfo.groupContext.epoch),
      };
    case wireformats.mls_key_package:
      return { wireformat: 'key_package' };
    default: {
      const never: never = msg;
      throw new ParleyError('bad_request', { message: `unknown wire format ${String(never)}` });
    }
  }
}

/** Group id and epoch of a commit MLSMessage (either framing); `bad_request` if it is not a commit. */
export function inspectCommitEpoch(bytes: Uint8Array): { groupId: Uint8Array; epoch: number } {
  const info = inspectMlsMessage(bytes);
  if (info.contentType !== 'commit' || info.groupId === undefined || info.epoch === undefined) {
    throw new ParleyError('bad_request', { message: 'not an MLS commit' });
  }
  return { groupId: info.groupId, epoch: info.epoch };
}
