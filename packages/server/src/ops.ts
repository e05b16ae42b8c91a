/**
 * The one handler table (C3, C19): every operation is declared once with its input schema, whether
 * it needs an authenticated device, its HTTP route (if any) and its action. The HTTP layer and the
 * WebSocket gateway both serve this table through one dispatcher (`dispatch.ts`), with the same
 * checks, the same parsing and the same error mapping.
 */
import { z } from 'zod';
import {
  ackBody,
  claimKeyPackagesBody,
  commitBody,
  conversationIdSchema,
  createConversationBody,
  pingBody,
  requestCodeBody,
  sendBody,
  isSendBody,
  setPinBody,
  setRoleBody,
  uploadKeyPackagesBody,
  verifyBody,
  accountIdSchema,
} from '@parley/protocol';
import {
  discoverEvaluateBody,
  discoverLookupBody,
  settingsBody,
  setUsernameBody,
  usernameLookupBody,
  profileBody,
} from '@parley/protocol';
import {
  LIMITS,
  MEDIA_LIMITS,
  ParleyError,
  appendUploadParams,
  blobParams,
  createUploadBody,
  downloadParams,
} from '@parley/protocol';
import { callAnswerBody, callCandidateBody, callJoinBody, callLeaveBody, iceServersBody } from '@parley/protocol';
import { ktConsistencyQuery, ktHeadsQuery, ktProofParams } from '@parley/protocol';
import { blockParams, reportBody, imagineBody } from '@parley/protocol';
import {
  deviceListBody,
  linkApproveBody,
  linkFetchBody,
  linkJoinBody,
  linkParams,
  unlinkParams,
} from '@parley/protocol';
import { pushSubscriptionBody } from '@parley/protocol';
import type { AuthedCaller, Caller, ServerContext } from './context.ts';
import * as accounts from './actions/accounts.ts';
import * as keypackages from './actions/keypackages.ts';
import * as conversations from './actions/conversations.ts';
import * as media from './actions/media.ts';
import * as discovery from './actions/discovery.ts';
import * as usernames from './actions/usernames.ts';
import * as profiles from './actions/profiles.ts';
import * as calls from './actions/calls.ts';
import * as transparency from './actions/transparency.ts';
import * as safety from './actions/safety.ts';
import * as linking from './actions/linking.ts';
import * as push from './actions/push.ts';
import * as imagegen from './actions/imagegen.ts';

/** One operation of the API. */
export interface OpSpec<S extends z.ZodType = z.ZodType> {
  readonly input: S;
  /** False only for registration. */
  readonly auth: boolean;
  /** HTTP route; absent for WebSocket-only ops (sends and commits). */
  readonly http?: {
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    path: string;
    status?: number;
    /** Request headers copied into the input, by lower-case header name → input field (e.g. `range`). */
    headers?: Record<string, string>;
    /** Largest request body for this route, when above the JSON limit (binary chunks). */
    bodyLimit?: number;
  };
  /**
   * True when the op takes a binary payload: a WebSocket binary frame's payload, or (for ops with an
   * HTTP route) an `application/octet-stream` body, the input then coming from path and query.
   */
  readonly payload?: boolean;
  /** Largest WebSocket payload of a `payload` op (docs/protocol.md, Limits; default `LIMITS.ciphertextBytes`); larger is `payload_too_large`. */
  readonly maxPayload?: number;
  /**
   * A cheap exact check, for the hottest ops: true only for bodies the schema accepts and returns
   * unchanged, which are then used without the schema's pass (anything else still goes through it).
   */
  readonly accepts?: (body: unknown) => boolean;
  /**
   * True when a successful request with this input wants no answer frame (`ack` with `quiet`): the
   * dispatcher then resolves to `NO_ANSWER`. HTTP always answers.
   */
  readonly quiet?: (input: z.infer<S>) => boolean;
  /** True when the answer is raw bytes (a `BinaryAnswer`): served over HTTP only. */
  readonly httpOnly?: boolean;
  readonly run: (ctx: ServerContext, caller: Caller, input: z.infer<S>, payload: Uint8Array) => Promise<unknown>;
}

const authed = (c: Caller) => c as AuthedCaller;
const convParam = z.object({ conversationId: conversationIdSchema }).strict();
const op = <S extends z.ZodType>(spec: OpSpec<S>): OpSpec<S> =>
  spec.httpOnly ? { ...spec, run: httpOnlyRun(spec.run) } : spec;

/** The WebSocket gateway serves the whole table; an HTTP-only op refuses other transports itself. */
function httpOnlyRun<S extends z.ZodType>(run: OpSpec<S>['run']): OpSpec<S>['run'] {
  return (ctx, caller, input, payload) => {
    if (caller.transport !== 'http')
      return Promise.reject(new ParleyError('unknown_op', { message: 'This operation is served over HTTP only.' }));
    return run(ctx, caller, input, payload);
  };
}

/** Every operation by name; names are the WebSocket `op` values. */
export const OPS = {
  requestCode: op({
    input: requestCodeBody,
    auth: false,
    http: { method: 'POST', path: '/v1/registration/code', status: 202 },
    run: (ctx, c, b) => accounts.requestCode(ctx, c, b),
  }),
  verify: op({
    input: verifyBody,
    auth: false,
    http: { method: 'POST', path: '/v1/registration/verify' },
    run: (ctx, c, b) => accounts.verifyRegistration(ctx, c, b),
  }),
  me: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/me' },
    run: (ctx, c) => accounts.me(ctx, authed(c)),
  }),
  setPin: op({
    input: setPinBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/pin' },
    run: (ctx, c, b) => accounts.setPin(ctx, authed(c), b),
  }),
  logout: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'POST', path: '/v1/accounts/me/logout' },
    run: (ctx, c) => accounts.logout(ctx, authed(c)),
  }),
  getAccount: op({
    input: z.object({ accountId: accountIdSchema }).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/:accountId' },
    run: (ctx, c, b) => accounts.getAccount(ctx, authed(c), b.accountId),
  }),
  // ----- linked devices (C1, docs/devices.md)
  linkStart: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'POST', path: '/v1/devices/links', status: 201 },
    run: (ctx, c) => linking.startLink(ctx, authed(c)),
  }),
  linkStatus: op({
    input: linkParams,
    auth: true,
    http: { method: 'GET', path: '/v1/devices/links/:linkId' },
    run: (ctx, c, b) => linking.linkStatus(ctx, authed(c), b.linkId),
  }),
  linkApprove: op({
    input: linkApproveBody,
    auth: true,
    http: { method: 'POST', path: '/v1/devices/links/:linkId/approve' },
    run: (ctx, c, b) => linking.approveLink(ctx, authed(c), b),
  }),
  linkCancel: op({
    input: linkParams,
    auth: true,
    http: { method: 'DELETE', path: '/v1/devices/links/:linkId' },
    run: (ctx, c, b) => linking.cancelLink(ctx, authed(c), b.linkId),
  }),
  linkJoin: op({
    input: linkJoinBody,
    auth: false,
    http: { method: 'POST', path: '/v1/links/:linkId/join' },
    run: (ctx, c, b) => linking.joinLink(ctx, c, b),
  }),
  linkFetch: op({
    input: linkFetchBody,
    auth: false,
    http: { method: 'POST', path: '/v1/links/:linkId/reply' },
    run: (ctx, _c, b) => linking.fetchLink(ctx, b),
  }),
  unlinkDevice: op({
    input: unlinkParams,
    auth: true,
    http: { method: 'DELETE', path: '/v1/accounts/me/devices/:deviceId' },
    run: (ctx, c, b) => linking.unlinkDevice(ctx, authed(c), b.deviceId),
  }),
  putDeviceList: op({
    input: deviceListBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/device-list' },
    run: (ctx, c, b) => linking.putDeviceList(ctx, authed(c), b),
  }),
  discoverEvaluate: op({
    input: discoverEvaluateBody,
    auth: true,
    http: { method: 'POST', path: '/v1/discovery/evaluate' },
    run: (ctx, c, b) => discovery.evaluate(ctx, authed(c), b),
  }),
  discoverLookup: op({
    input: discoverLookupBody,
    auth: true,
    http: { method: 'POST', path: '/v1/discovery/lookup' },
    run: (ctx, c, b) => discovery.lookup(ctx, authed(c), b),
  }),
  setUsername: op({
    input: setUsernameBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/username' },
    run: (ctx, c, b) => usernames.setUsername(ctx, authed(c), b),
  }),
  clearUsername: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'DELETE', path: '/v1/accounts/me/username' },
    run: (ctx, c) => usernames.clearUsername(ctx, authed(c)),
  }),
  usernameState: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/me/username' },
    run: (ctx, c) => usernames.usernameState(ctx, authed(c)),
  }),
  lookupUsername: op({
    input: usernameLookupBody,
    auth: true,
    http: { method: 'POST', path: '/v1/usernames/lookup' },
    run: (ctx, c, b) => usernames.lookupUsername(ctx, authed(c), b),
  }),
  putProfile: op({
    input: profileBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/profile' },
    run: (ctx, c, b) => profiles.putProfile(ctx, authed(c), b),
  }),
  getProfile: op({
    input: z.object({ accountId: accountIdSchema }).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/:accountId/profile' },
    run: (ctx, c, b) => profiles.getProfile(ctx, authed(c), b.accountId),
  }),
  getPresence: op({
    input: z.object({ accountId: accountIdSchema }).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/:accountId/presence' },
    run: (ctx, c, b) => profiles.getPresence(ctx, authed(c), b.accountId),
  }),
  getSettings: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/me/settings' },
    run: (ctx, c) => discovery.getSettings(ctx, authed(c)),
  }),
  setSettings: op({
    input: settingsBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/settings' },
    run: (ctx, c, b) => discovery.setSettings(ctx, authed(c), b),
  }),
  // ----- blocking and reporting (C15, docs/privacy.md)
  listBlocked: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/accounts/me/blocked' },
    run: (ctx, c) => safety.listBlocked(ctx, authed(c)),
  }),
  block: op({
    input: blockParams,
    auth: true,
    http: { method: 'PUT', path: '/v1/accounts/me/blocked/:accountId' },
    run: (ctx, c, b) => safety.block(ctx, authed(c), b.accountId),
  }),
  unblock: op({
    input: blockParams,
    auth: true,
    http: { method: 'DELETE', path: '/v1/accounts/me/blocked/:accountId' },
    run: (ctx, c, b) => safety.unblock(ctx, authed(c), b.accountId),
  }),
  fileReport: op({
    input: reportBody,
    auth: true,
    http: { method: 'POST', path: '/v1/reports', status: 201 },
    run: (ctx, c, b) => safety.fileReport(ctx, authed(c), b),
  }),
  // ----- Web Push (C18, docs/notifications.md): each device's own subscription
  pushVapidKey: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/push/vapid' },
    run: (ctx) => push.vapidKey(ctx),
  }),
  getPushSubscription: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/devices/me/push' },
    run: (ctx, c) => push.getSubscription(ctx, authed(c)),
  }),
  setPushSubscription: op({
    input: pushSubscriptionBody,
    auth: true,
    http: { method: 'PUT', path: '/v1/devices/me/push' },
    run: (ctx, c, b) => push.setSubscription(ctx, authed(c), b),
  }),
  deletePushSubscription: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'DELETE', path: '/v1/devices/me/push' },
    run: (ctx, c) => push.deleteSubscription(ctx, authed(c)),
  }),
  uploadKeyPackages: op({
    input: uploadKeyPackagesBody,
    auth: true,
    http: { method: 'POST', path: '/v1/keypackages' },
    run: (ctx, c, b) => keypackages.uploadKeyPackages(ctx, authed(c), b),
  }),
  countKeyPackages: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/keypackages' },
    run: (ctx, c) => keypackages.countKeyPackages(ctx, authed(c)),
  }),
  claimKeyPackages: op({
    input: claimKeyPackagesBody,
    auth: true,
    http: { method: 'POST', path: '/v1/keypackages/claim' },
    run: (ctx, c, b) => keypackages.claimKeyPackages(ctx, authed(c), b),
  }),
  createConversation: op({
    input: createConversationBody,
    auth: true,
    http: { method: 'POST', path: '/v1/conversations', status: 201 },
    run: (ctx, c, b) => conversations.createConversation(ctx, authed(c), b),
  }),
  listConversations: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/conversations' },
    run: (ctx, c) => conversations.listConversations(ctx, authed(c)),
  }),
  getConversation: op({
    input: convParam,
    auth: true,
    http: { method: 'GET', path: '/v1/conversations/:conversationId' },
    run: (ctx, c, b) => conversations.getConversation(ctx, authed(c), b.conversationId),
  }),
  listCommits: op({
    input: convParam.extend({ sinceEpoch: z.coerce.number().int().nonnegative().default(0) }).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/conversations/:conversationId/commits' },
    run: (ctx, c, b) => conversations.listCommits(ctx, authed(c), b.conversationId, b.sinceEpoch),
  }),
  setRole: op({
    input: setRoleBody.extend({ conversationId: conversationIdSchema }).strict(),
    auth: true,
    http: { method: 'PUT', path: '/v1/conversations/:conversationId/roles' },
    run: (ctx, c, b) => conversations.setRole(ctx, authed(c), b.conversationId, b),
  }),
  leave: op({
    input: convParam,
    auth: true,
    http: { method: 'POST', path: '/v1/conversations/:conversationId/leave' },
    run: (ctx, c, b) => conversations.leaveConversation(ctx, authed(c), b.conversationId),
  }),
  send: op({
    input: sendBody,
    accepts: isSendBody,
    auth: true,
    payload: true,
    maxPayload: LIMITS.ciphertextBytes,
    run: (ctx, c, b, p) => conversations.sendMessage(ctx, authed(c), b, p),
  }),
  commit: op({
    input: commitBody,
    auth: true,
    payload: true,
    maxPayload: LIMITS.commitBytes,
    run: (ctx, c, b, p) => conversations.submitCommit(ctx, authed(c), b, p),
  }),
  ack: op({
    input: ackBody,
    auth: true,
    quiet: (b) => b.quiet === true,
    http: { method: 'POST', path: '/v1/deliveries/ack' },
    run: (ctx, c, b) => conversations.ackDeliveries(ctx, authed(c), b),
  }),
  ping: op({ input: pingBody, auth: true, run: async (ctx) => ({ serverTime: ctx.now() }) }),
  // ----- media (C4, docs/media.md)
  mediaLimits: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/media' },
    run: (ctx, c) => media.mediaLimits(ctx, authed(c)),
  }),
  createUpload: op({
    input: createUploadBody,
    auth: true,
    http: { method: 'POST', path: '/v1/media/uploads', status: 201 },
    run: (ctx, c, b) => media.createUpload(ctx, authed(c), b),
  }),
  getUpload: op({
    input: blobParams,
    auth: true,
    http: { method: 'GET', path: '/v1/media/uploads/:blobId' },
    run: (ctx, c, b) => media.getUpload(ctx, authed(c), b.blobId),
  }),
  appendUpload: op({
    input: appendUploadParams,
    auth: true,
    payload: true,
    maxPayload: MEDIA_LIMITS.wsChunkBytes,
    http: { method: 'PATCH', path: '/v1/media/uploads/:blobId', bodyLimit: MEDIA_LIMITS.chunkBytes },
    run: (ctx, c, b, p) => media.appendUpload(ctx, authed(c), b, p),
  }),
  finishUpload: op({
    input: blobParams,
    auth: true,
    http: { method: 'POST', path: '/v1/media/uploads/:blobId/finish' },
    run: (ctx, c, b) => media.finishUpload(ctx, authed(c), b.blobId),
  }),
  downloadBlob: op({
    input: downloadParams,
    auth: true,
    httpOnly: true,
    http: { method: 'GET', path: '/v1/media/:blobId', headers: { range: 'range' } },
    run: (ctx, c, b) => media.downloadBlob(ctx, authed(c), b),
  }),
  deleteBlob: op({
    input: blobParams,
    auth: true,
    http: { method: 'DELETE', path: '/v1/media/:blobId' },
    run: (ctx, c, b) => media.deleteBlob(ctx, authed(c), b.blobId),
  }),
  // ----- calls (C6, docs/calls.md); signalling is WebSocket-only: call events arrive on the same socket
  iceServers: op({
    input: iceServersBody,
    auth: true,
    http: { method: 'GET', path: '/v1/calls/ice-servers' },
    run: (ctx, c) => calls.iceServers(ctx, authed(c)),
  }),
  callJoin: op({ input: callJoinBody, auth: true, run: (ctx, c, b) => calls.callJoin(ctx, authed(c), b) }),
  callAnswer: op({ input: callAnswerBody, auth: true, run: (ctx, c, b) => calls.callAnswer(ctx, authed(c), b) }),
  callCandidate: op({
    input: callCandidateBody,
    auth: true,
    run: (ctx, c, b) => calls.callCandidate(ctx, authed(c), b),
  }),
  callLeave: op({ input: callLeaveBody, auth: true, run: (ctx, c, b) => calls.callLeave(ctx, authed(c), b) }),
  // ----- key transparency (C13, docs/key-transparency.md); heads and consistency are public for auditors
  ktHead: op({
    input: z.object({}).strict(),
    auth: false,
    http: { method: 'GET', path: '/v1/kt/head' },
    run: (ctx, c) => transparency.head(ctx, c),
  }),
  ktHeads: op({
    input: ktHeadsQuery,
    auth: false,
    http: { method: 'GET', path: '/v1/kt/heads' },
    run: (ctx, c, b) => transparency.heads(ctx, c, b),
  }),
  ktConsistency: op({
    input: ktConsistencyQuery,
    auth: false,
    http: { method: 'GET', path: '/v1/kt/consistency' },
    run: (ctx, c, b) => transparency.consistency(ctx, c, b),
  }),
  ktProof: op({
    input: ktProofParams,
    auth: true,
    http: { method: 'GET', path: '/v1/kt/proof/:accountId' },
    run: (ctx, c, b) => transparency.proof(ctx, authed(c), b.accountId),
  }),
  // ----- hosted image generation (C9, docs/image-generation.md); the job streams NDJSON, so HTTP only
  imageModels: op({
    input: z.object({}).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/imagegen/models' },
    run: (ctx, c) => imagegen.listImageModels(ctx, authed(c)),
  }),
  imagine: op({
    input: imagineBody,
    auth: true,
    httpOnly: true,
    http: { method: 'POST', path: '/v1/imagegen/jobs' },
    run: (ctx, c, b) => imagegen.imagine(ctx, authed(c), b),
  }),
} satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;
