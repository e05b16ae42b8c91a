/**
 * Key transparency (C13): the wire shapes of the append-only log of account → identity-key
 * bindings. Heads, history and consistency proofs are public (an auditor needs no account); a
 * binding's proof is fetched per account, authenticated and limited per requester and target.
 * Byte values are unpadded base64url. See docs/key-transparency.md.
 */
import { z } from 'zod';
import { accountIdSchema } from './common.ts';
import { element32Schema } from './discovery.ts';

/** Most heads in one page of GET /v1/kt/heads. */
export const KT_HEADS_PAGE = 500;

/**
 * How old the head a server serves (GET /v1/kt/head, a proof's head) may get before the server
 * signs it again with the current time, even when nothing new was logged. An honest log's served
 * head is therefore never older than this (plus the clock difference between server and device).
 */
export const KT_HEAD_REFRESH_MS = 60 * 60_000;

/**
 * Default maximum age of a head the SDK and `parley audit-log` accept (device clock minus the
 * head's timestamp): 24 hours, well above {@link KT_HEAD_REFRESH_MS} so clock error does not trip
 * it, short enough that a server cannot freeze the log for long unnoticed.
 */
export const KT_MAX_HEAD_AGE_MS = 24 * 60 * 60_000;

/** 32 bytes (a hash, a label or an Ed25519 public key) as unpadded base64url: exactly 43 characters. */
export const kt32Schema = element32Schema;
/** 64 bytes (an Ed25519 signature) as unpadded base64url: exactly 86 characters. */
export const kt64Schema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'must be 64 bytes of unpadded base64url (86 characters)');
const size = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A signed tree head: the log of `treeSize` leaves has root `rootHash` (signature by the log key). */
export const ktHeadSchema = z.object({ treeSize: size, rootHash: kt32Schema, timestamp: size, signature: kt64Schema });
export type KtHead = z.infer<typeof ktHeadSchema>;

/** GET /v1/kt/head: the latest head and the keys that sign heads and labels. */
export const ktHeadResponse = z.object({ head: ktHeadSchema, logKey: kt32Schema, labelKey: kt32Schema });

export const ktHeadsQuery = z.object({ from: size.default(0) }).strict();
/** Heads with treeSize >= from, oldest first; `next` is the `from` of the following page, or null at the end. */
export const ktHeadsResponse = z.object({ heads: z.array(ktHeadSchema), next: size.nullable() });

export const ktConsistencyQuery = z.object({ from: size, to: size }).strict();
/** RFC 9162 consistency proof from tree size `from` to `to`. */
export const ktConsistencyResponse = z.object({ from: size, to: size, proof: z.array(kt32Schema) });

export const ktProofParams = z.object({ accountId: accountIdSchema }).strict();
/** The account's newest binding, its label proof, and its inclusion proof against `head`. */
export const ktProofResponse = z.object({
  accountId: accountIdSchema,
  label: kt32Schema,
  labelProof: kt64Schema,
  leaf: z.object({ index: size, identityKey: kt32Schema, version: size, time: size }),
  inclusion: z.array(kt32Schema),
  head: ktHeadSchema,
  logKey: kt32Schema,
  labelKey: kt32Schema,
});
export type KtProof = z.infer<typeof ktProofResponse>;
