/**
 * The one handler table (C3, C19): every operation is declared once with its input schema, whether
 * it needs an authenticated device, its HTTP route (if any) and its action. The HTTP layer and the
 * WebSocket gateway both serve this table with the same parsing and the same error mapping.
 */
import { z } from 'zod';
import {
  ackBody, claimKeyPackagesBody, commitBody, conversationIdSchema, createConversationBody, lookupBody,
  requestCodeBody, sendBody, setPinBody, setRoleBody, uploadKeyPackagesBody, verifyBody, accountIdSchema,
} from '@parley/protocol';
import type { AuthedCaller, Caller, ServerContext } from './context.ts';
import * as accounts from './actions/accounts.ts';
import * as keypackages from './actions/keypackages.ts';
import * as conversations from './actions/conversations.ts';

/** One operation of the API. */
export interface OpSpec<S extends z.ZodType = z.ZodType> {
  readonly input: S;
  /** False only for registration. */
  readonly auth: boolean;
  /** HTTP route; absent for WebSocket-only ops (those carrying binary payloads). */
  readonly http?: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; status?: number };
  /** True when the op takes a binary payload (WebSocket binary frames only). */
  readonly payload?: boolean;
  readonly run: (ctx: ServerContext, caller: Caller, input: z.infer<S>, payload: Uint8Array) => Promise<unknown>;
}

const authed = (c: Caller) => c as AuthedCaller;
const convParam = z.object({ conversationId: conversationIdSchema }).strict();
const op = <S extends z.ZodType>(spec: OpSpec<S>): OpSpec<S> => spec;

/** Every operation by name; names are the WebSocket `op` values. */
export const OPS = {
  requestCode: op({ input: requestCodeBody, auth: false, http: { method: 'POST', path: '/v1/registration/code', status: 202 }, run: (ctx, c, b) => accounts.requestCode(ctx, c, b) }),
  verify: op({ input: verifyBody, auth: false, http: { method: 'POST', path: '/v1/registration/verify' }, run: (ctx, c, b) => accounts.verifyRegistration(ctx, c, b) }),
  me: op({ input: z.object({}).strict(), auth: true, http: { method: 'GET', path: '/v1/accounts/me' }, run: (ctx, c) => accounts.me(ctx, authed(c)) }),
  setPin: op({ input: setPinBody, auth: true, http: { method: 'PUT', path: '/v1/accounts/me/pin' }, run: (ctx, c, b) => accounts.setPin(ctx, authed(c), b) }),
  getAccount: op({ input: z.object({ accountId: accountIdSchema }).strict(), auth: true, http: { method: 'GET', path: '/v1/accounts/:accountId' }, run: (ctx, c, b) => accounts.getAccount(ctx, authed(c), b.accountId) }),
  lookup: op({ input: lookupBody, auth: true, http: { method: 'POST', path: '/v1/directory/lookup' }, run: (ctx, c, b) => accounts.lookupByPhone(ctx, authed(c), b) }),
  uploadKeyPackages: op({ input: uploadKeyPackagesBody, auth: true, http: { method: 'POST', path: '/v1/keypackages' }, run: (ctx, c, b) => keypackages.uploadKeyPackages(ctx, authed(c), b) }),
  countKeyPackages: op({ input: z.object({}).strict(), auth: true, http: { method: 'GET', path: '/v1/keypackages' }, run: (ctx, c) => keypackages.countKeyPackages(ctx, authed(c)) }),
  claimKeyPackages: op({ input: claimKeyPackagesBody, auth: true, http: { method: 'POST', path: '/v1/keypackages/claim' }, run: (ctx, c, b) => keypackages.claimKeyPackages(ctx, authed(c), b) }),
  createConversation: op({ input: createConversationBody, auth: true, http: { method: 'POST', path: '/v1/conversations', status: 201 }, run: (ctx, c, b) => conversations.createConversation(ctx, authed(c), b) }),
  listConversations: op({ input: z.object({}).strict(), auth: true, http: { method: 'GET', path: '/v1/conversations' }, run: (ctx, c) => conversations.listConversations(ctx, authed(c)) }),
  getConversation: op({ input: convParam, auth: true, http: { method: 'GET', path: '/v1/conversations/:conversationId' }, run: (ctx, c, b) => conversations.getConversation(ctx, authed(c), b.conversationId) }),
  listCommits: op({
    input: convParam.extend({ sinceEpoch: z.coerce.number().int().nonnegative().default(0) }).strict(),
    auth: true,
    http: { method: 'GET', path: '/v1/conversations/:conversationId/commits' },
    run: (ctx, c, b) => conversations.listCommits(ctx, authed(c), b.conversationId, b.sinceEpoch),
  }),
  setRole: op({ input: setRoleBody.extend({ conversationId: conversationIdSchema }).strict(), auth: true, http: { method: 'PUT', path: '/v1/conversations/:conversationId/roles' }, run: (ctx, c, b) => conversations.setRole(ctx, authed(c), b.conversationId, b) }),
  leave: op({ input: convParam, auth: true, http: { method: 'POST', path: '/v1/conversations/:conversationId/leave' }, run: (ctx, c, b) => conversations.leaveConversation(ctx, authed(c), b.conversationId) }),
  send: op({ input: sendBody, auth: true, payload: true, run: (ctx, c, b, p) => conversations.sendMessage(ctx, authed(c), b, p) }),
  commit: op({ input: commitBody, auth: true, payload: true, run: (ctx, c, b, p) => conversations.submitCommit(ctx, authed(c), b, p) }),
  ack: op({ input: ackBody, auth: true, http: { method: 'POST', path: '/v1/deliveries/ack' }, run: (ctx, c, b) => conversations.ackDeliveries(ctx, authed(c), b) }),
  ping: op({ input: z.object({}).strict().optional(), auth: true, run: async (ctx) => ({ serverTime: ctx.now() }) }),
} satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;
