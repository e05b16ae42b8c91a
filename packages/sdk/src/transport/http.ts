/**
 * HTTP client (C15): typed calls for every HTTP op. Responses are parsed with the protocol's
 * schemas; error bodies become `ParleyError` with `isRateLimited()` / `retryAfterMs()`. Every
 * request has a deadline (`timeoutMs`, default 30 s): past it the request is aborted and fails
 * with the retryable `timeout` error.
 */
import type { z } from 'zod';
import {
  ParleyError,
  accountInfoSchema,
  claimKeyPackagesResponse,
  commitLogResponse,
  conversationListResponse,
  conversationSchema,
  keyPackageCountResponse,
  meResponse,
  requestCodeResponse,
  uploadKeyPackagesResponse,
  verifyResponse,
  type verifyBody,
} from '@parley/protocol';
import { finishUploadResponse, mediaLimitsResponse, uploadStatusResponse } from '@parley/protocol';
import { iceServersResponse, logoutResponse } from '@parley/protocol';
import {
  deviceListResponse,
  linkApproveResponse,
  linkCancelResponse,
  linkFetchResponse,
  linkJoinResponse,
  linkStartResponse,
  linkStatusResponse,
  unlinkResponse,
  type DeviceList,
  type linkApproveBody,
  type linkJoinBody,
} from '@parley/protocol';
import { blockAnswerSchema, blockedListSchema, reportResultSchema, type ReportBody } from '@parley/protocol';
import { pushStateSchema, vapidKeySchema, type PushSubscriptionBody } from '@parley/protocol';
import { imageModelsResponse, imagineLineSchema, type ImagineBody, type ImagineLine } from '@parley/protocol';
import { DEFAULT_TIMEOUTS, withDeadline } from './deadline.ts';
import {
  discoverEvaluateResponse,
  discoverLookupResponse,
  settingsResponse,
  usernameLookupResponse,
  usernameStateResponse,
  profileResponse,
  presenceResponse,
  type ProfileBody,
  type Settings,
} from '@parley/protocol';

/** The answer to a profile upload: the version stored. */
const putProfileResponse = profileResponse.pick({ version: true });

/** A fetch-compatible function (global fetch in browsers and Node 20). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * One JSON request to a Parley server: bearer token when given, the body as JSON, the answer parsed
 * with `schema`. An unreachable server is `unavailable`, an error body its `ParleyError`, a 429 a
 * rate limit with its `Retry-After`, and no whole answer within `timeoutMs` (default 30 s; 0 or
 * `Infinity` for none) is `timeout`.
 */
export async function requestJson<S extends z.ZodType>(
  to: { baseUrl: string; token?: string | undefined; fetchImpl: FetchLike; timeoutMs?: number | undefined },
  method: string,
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.infer<S>> {
  const headers: Record<string, string> = {};
  if (to.token) headers.authorization = `Bearer ${to.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const { res, text } = await withDeadline(
    to.timeoutMs ?? DEFAULT_TIMEOUTS.requestMs,
    `${to.baseUrl} did not answer ${method} ${path.split('?')[0]}`,
    async (signal) => {
      let res: Response;
      try {
        res = await to.fetchImpl(to.baseUrl.replace(/\/$/, '') + path, {
          method,
          headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        throw new ParleyError('unavailable', { message: `Cannot reach ${to.baseUrl}: ${causeOf(e)}` });
      }
      // The answer's body is under the same deadline: a server can send headers and then stall.
      const text = await res.text().catch((e: unknown) => {
        throw new ParleyError('unavailable', { message: `The answer from ${to.baseUrl} broke off: ${causeOf(e)}` });
      });
      return { res, text };
    },
  );
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ParleyError('internal', { message: `Server answered ${res.status} with non-JSON`, status: res.status });
  }
  if (!res.ok) {
    const err = ParleyError.fromBody(json, res.status);
    if (res.status === 429 && err.retryAfterMs() === undefined) {
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra)) throw new ParleyError('rate_limited', { retryAfterMs: ra * 1000 });
    }
    throw err;
  }
  return schema.parse(json);
}

/** Why a fetch failed, in a few words: Node puts the network error (ECONNREFUSED …) in `cause`. */
function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message ?? String(e)} (${cause})` : (err?.message ?? String(e));
}

/** Thin typed wrapper over the server's HTTP API. */
export class HttpApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: () => string | undefined,
    private readonly fetchImpl: FetchLike = (i, init) => fetch(i, init),
    /** The deadline of each request, in ms (0 or `Infinity`: none). */
    readonly timeoutMs: number = DEFAULT_TIMEOUTS.requestMs,
  ) {}

  private call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return requestJson(
      { baseUrl: this.baseUrl, token: this.token(), fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs },
      method,
      path,
      schema,
      body,
    );
  }

  requestCode(phone: string) {
    return this.call('POST', '/v1/registration/code', requestCodeResponse, { phone });
  }
  verify(body: z.infer<typeof verifyBody>) {
    return this.call('POST', '/v1/registration/verify', verifyResponse, body);
  }
  me() {
    return this.call('GET', '/v1/accounts/me', meResponse);
  }
  setPin(pin: string | null) {
    return this.call('PUT', '/v1/accounts/me/pin', meResponse.pick({ registrationLock: true }), { pin });
  }
  logout() {
    return this.call('POST', '/v1/accounts/me/logout', logoutResponse, {});
  }
  // ----- linked devices (C1, docs/devices.md)
  linkStart() {
    return this.call('POST', '/v1/devices/links', linkStartResponse, {});
  }
  linkStatus(linkId: string) {
    return this.call('GET', `/v1/devices/links/${encodeURIComponent(linkId)}`, linkStatusResponse);
  }
  linkApprove(body: z.infer<typeof linkApproveBody>) {
    return this.call('POST', `/v1/devices/links/${encodeURIComponent(body.linkId)}/approve`, linkApproveResponse, body);
  }
  linkCancel(linkId: string) {
    return this.call('DELETE', `/v1/devices/links/${encodeURIComponent(linkId)}`, linkCancelResponse);
  }
  /** The new device's answer to a link code (no token: it has none yet). */
  linkJoin(body: z.infer<typeof linkJoinBody>) {
    return this.call('POST', `/v1/links/${encodeURIComponent(body.linkId)}/join`, linkJoinResponse, body);
  }
  /** The new device fetches its sealed reply with the token it chose. */
  linkFetch(linkId: string, token: string) {
    return this.call('POST', `/v1/links/${encodeURIComponent(linkId)}/reply`, linkFetchResponse, { linkId, token });
  }
  unlinkDevice(deviceId: string) {
    return this.call('DELETE', `/v1/accounts/me/devices/${encodeURIComponent(deviceId)}`, unlinkResponse);
  }
  putDeviceList(list: DeviceList) {
    return this.call('PUT', '/v1/accounts/me/device-list', deviceListResponse, list);
  }
  getAccount(accountId: string) {
    return this.call('GET', `/v1/accounts/${encodeURIComponent(accountId)}`, accountInfoSchema);
  }
  discoverEvaluate(blinded: string[]) {
    return this.call('POST', '/v1/discovery/evaluate', discoverEvaluateResponse, { blinded });
  }
  discoverLookup(tags: string[]) {
    return this.call('POST', '/v1/discovery/lookup', discoverLookupResponse, { tags });
  }
  setUsername(usernameHash: string) {
    return this.call('PUT', '/v1/accounts/me/username', usernameStateResponse, { usernameHash });
  }
  clearUsername() {
    return this.call('DELETE', '/v1/accounts/me/username', usernameStateResponse);
  }
  lookupUsername(usernameHash: string) {
    return this.call('POST', '/v1/usernames/lookup', usernameLookupResponse, { usernameHash });
  }
  getSettings() {
    return this.call('GET', '/v1/accounts/me/settings', settingsResponse);
  }
  setSettings(body: Partial<Settings>) {
    return this.call('PUT', '/v1/accounts/me/settings', settingsResponse, body);
  }
  putProfile(body: ProfileBody) {
    return this.call('PUT', '/v1/accounts/me/profile', putProfileResponse, body);
  }
  getProfile(accountId: string) {
    return this.call('GET', `/v1/accounts/${encodeURIComponent(accountId)}/profile`, profileResponse);
  }
  getPresence(accountId: string) {
    return this.call('GET', `/v1/accounts/${encodeURIComponent(accountId)}/presence`, presenceResponse);
  }
  listBlocked() {
    return this.call('GET', '/v1/accounts/me/blocked', blockedListSchema);
  }
  block(accountId: string) {
    return this.call('PUT', `/v1/accounts/me/blocked/${encodeURIComponent(accountId)}`, blockAnswerSchema);
  }
  unblock(accountId: string) {
    return this.call('DELETE', `/v1/accounts/me/blocked/${encodeURIComponent(accountId)}`, blockAnswerSchema);
  }
  pushVapidKey() {
    return this.call('GET', '/v1/push/vapid', vapidKeySchema);
  }
  getPush() {
    return this.call('GET', '/v1/devices/me/push', pushStateSchema);
  }
  setPush(body: PushSubscriptionBody) {
    return this.call('PUT', '/v1/devices/me/push', pushStateSchema, body);
  }
  deletePush() {
    return this.call('DELETE', '/v1/devices/me/push', pushStateSchema);
  }
  fileReport(body: ReportBody) {
    return this.call('POST', '/v1/reports', reportResultSchema, body);
  }
  uploadKeyPackages(keyPackages: string[], lastResort?: string) {
    return this.call('POST', '/v1/keypackages', uploadKeyPackagesResponse, {
      keyPackages,
      ...(lastResort ? { lastResort } : {}),
    });
  }
  countKeyPackages() {
    return this.call('GET', '/v1/keypackages', keyPackageCountResponse);
  }
  /** One KeyPackage per device of the accounts (with `deviceIds`: only those devices). */
  claimKeyPackages(accountIds: string[], deviceIds?: string[]) {
    return this.call('POST', '/v1/keypackages/claim', claimKeyPackagesResponse, {
      accountIds,
      ...(deviceIds ? { deviceIds } : {}),
    });
  }
  createConversation(conversationId: string, kind: 'direct' | 'group') {
    return this.call('POST', '/v1/conversations', conversationSchema, { conversationId, kind });
  }
  listConversations() {
    return this.call('GET', '/v1/conversations', conversationListResponse);
  }
  getConversation(conversationId: string) {
    return this.call('GET', `/v1/conversations/${conversationId}`, conversationSchema);
  }
  listCommits(conversationId: string, sinceEpoch: number) {
    return this.call('GET', `/v1/conversations/${conversationId}/commits?sinceEpoch=${sinceEpoch}`, commitLogResponse);
  }
  setRole(conversationId: string, accountId: string, role: 'admin' | 'member') {
    return this.call('PUT', `/v1/conversations/${conversationId}/roles`, conversationSchema, { accountId, role });
  }
  leave(conversationId: string) {
    return this.call(
      'POST',
      `/v1/conversations/${conversationId}/leave`,
      conversationSchema.pick({}).passthrough(),
      {},
    );
  }

  // ----- media (C4): the resumable upload protocol of docs/media.md

  /**
   * A request whose body or answer is raw bytes; error answers become `ParleyError` as for JSON
   * calls. `read` turns the answer into the result under the request's deadline; a streamed
   * download returns the response itself, so the deadline then covers only its headers and the
   * reader guards each chunk (see `downloadCiphertext`).
   */
  private raw<T>(
    method: string,
    path: string,
    init: { body?: Uint8Array; headers?: Record<string, string> },
    read: (res: Response) => Promise<T>,
  ): Promise<T> {
    const headers: Record<string, string> = { ...init.headers };
    const t = this.token();
    if (t) headers.authorization = `Bearer ${t}`;
    return withDeadline(
      this.timeoutMs,
      `${this.baseUrl} did not answer ${method} ${path.split('?')[0]}`,
      async (signal) => {
        let res: Response;
        try {
          const body =
            init.body === undefined
              ? undefined
              : init.body.buffer instanceof ArrayBuffer
                ? (init.body as Uint8Array<ArrayBuffer>)
                : new Uint8Array(init.body);
          res = await this.fetchImpl(this.baseUrl.replace(/\/$/, '') + path, {
            method,
            headers,
            ...(body ? { body } : {}),
            ...(signal ? { signal } : {}),
          });
        } catch (e) {
          throw new ParleyError('unavailable', { message: `Cannot reach ${this.baseUrl}: ${causeOf(e)}` });
        }
        if (res.ok) return read(res);
        const text = await res.text().catch(() => '');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          throw new ParleyError(res.status >= 500 ? 'internal' : 'bad_request', {
            message: `Server answered ${res.status} with non-JSON`,
            status: res.status,
          });
        }
        const err = ParleyError.fromBody(json, res.status);
        const ra = Number(res.headers.get('retry-after'));
        if (res.status === 429 && err.retryAfterMs() === undefined && Number.isFinite(ra))
          throw new ParleyError('rate_limited', { retryAfterMs: ra * 1000 });
        throw err;
      },
    );
  }

  /** STUN and TURN servers for this device's calls, with fresh TURN credentials (C6). */
  iceServers() {
    return this.call('GET', '/v1/calls/ice-servers', iceServersResponse);
  }
  mediaLimits() {
    return this.call('GET', '/v1/media', mediaLimitsResponse);
  }
  /** Start an upload of `size` ciphertext bytes whose SHA-256 is `digest` (base64url). */
  createUpload(size: number, digest: string, expiresAt?: number) {
    return this.call('POST', '/v1/media/uploads', uploadStatusResponse, {
      size,
      digest,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
  }
  /** Where an upload stands (resume from its `offset`). */
  getUpload(blobId: string) {
    return this.call('GET', `/v1/media/uploads/${encodeURIComponent(blobId)}`, uploadStatusResponse);
  }
  /** Append one chunk at `offset`. */
  appendUpload(blobId: string, offset: number, chunk: Uint8Array) {
    return this.raw(
      'PATCH',
      `/v1/media/uploads/${encodeURIComponent(blobId)}?offset=${offset}`,
      { body: chunk, headers: { 'content-type': 'application/octet-stream' } },
      async (res) => uploadStatusResponse.parse(await res.json()),
    );
  }
  finishUpload(blobId: string) {
    return this.call('POST', `/v1/media/uploads/${encodeURIComponent(blobId)}/finish`, finishUploadResponse, {});
  }
  deleteBlob(blobId: string) {
    return this.call(
      'DELETE',
      `/v1/media/${encodeURIComponent(blobId)}`,
      finishUploadResponse.pick({ blobId: true }).passthrough(),
    );
  }
  /** The hosted image models this account may use, with its quota left today (C9). */
  imageModels() {
    return this.call('GET', '/v1/imagegen/models', imageModelsResponse);
  }

  /**
   * Run one hosted image job (C9): `onLine` gets each progress line as it arrives; resolves with
   * the last line (`result` or `error`). The whole answer must arrive within `ms`; `signal` stops
   * it, which cancels the job on the server (and at the provider where it can be).
   */
  imagineJob(
    body: ImagineBody,
    opts: { ms: number; signal?: AbortSignal; onLine?: (line: ImagineLine) => void },
  ): Promise<ImagineLine> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const t = this.token();
    if (t) headers.authorization = `Bearer ${t}`;
    return withDeadline(opts.ms, `${this.baseUrl} did not finish the image job`, async (deadline) => {
      const signal = deadline && opts.signal ? AbortSignal.any([deadline, opts.signal]) : (deadline ?? opts.signal);
      let res: Response;
      try {
        res = await this.fetchImpl(this.baseUrl.replace(/\/$/, '') + '/v1/imagegen/jobs', {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        if (opts.signal?.aborted) throw new ParleyError('image_generation_canceled');
        throw new ParleyError('unavailable', { message: `Cannot reach ${this.baseUrl}: ${causeOf(e)}` });
      }
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          throw new ParleyError('internal', {
            message: `Server answered ${res.status} with non-JSON`,
            status: res.status,
          });
        }
        throw ParleyError.fromBody(json, res.status);
      }
      let last: ImagineLine | undefined;
      let buffered = '';
      const decoder = new TextDecoder();
      const take = (text: string) => {
        const line = imagineLineSchema.parse(JSON.parse(text));
        last = line;
        if (line.type === 'progress') opts.onLine?.(line);
      };
      try {
        const reader = res.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (text) take(text);
          }
        }
      } catch (e) {
        if (opts.signal?.aborted) throw new ParleyError('image_generation_canceled');
        if (e instanceof ParleyError) throw e;
        throw new ParleyError('unavailable', { message: `The image job's answer broke off: ${causeOf(e)}` });
      }
      if (buffered.trim()) take(buffered);
      if (!last || last.type === 'progress')
        throw new ParleyError('unavailable', { message: 'The image job ended without a result.' });
      return last;
    });
  }

  /**
   * A blob's ciphertext as a streaming response, from byte `from` on when given (HTTP Range). The
   * deadline covers the response headers; the caller bounds each read of the body.
   */
  downloadBlob(blobId: string, from = 0): Promise<Response> {
    return this.raw(
      'GET',
      `/v1/media/${encodeURIComponent(blobId)}`,
      from > 0 ? { headers: { range: `bytes=${from}-` } } : {},
      async (res) => res,
    );
  }
}
