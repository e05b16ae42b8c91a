/**
 * Simulated devices for the benchmark: registered through the real HTTP API (codes from the dev
 * outbox, real Ed25519 proofs) and connected over real WebSockets speaking Parley's frame format.
 * They carry opaque ciphertext of a real MLS size and acknowledge what they receive, as devices do.
 */
import WebSocket from 'ws';
import {
  FRAME_PREFIX_BYTES,
  LIMITS,
  binaryFramePayloadStart,
  deviceCertMessage,
  encodeFrame,
  identityProofMessage,
  toB64,
} from '@parley/protocol';
import { generateSigningKeyPair, sign } from '@parley/crypto';

/** One registered device with its token. */
export interface Registered {
  accountId: string;
  deviceId: string;
  token: string;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(j)}`);
  return j;
}

/** Register `n` devices (one account each), `parallel` at a time. */
export async function registerMany(base: string, n: number, prefix: number, parallel = 16): Promise<Registered[]> {
  const out: Registered[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      // +1 202 2xx xxxx numbers: valid for libphonenumber, unique per bench run.
      const phone = `+1202${String(2000000 + prefix * 100000 + i).padStart(7, '0')}`;
      const { sessionId } = await post(`${base}/v1/registration/code`, { phone });
      const box = (await (await fetch(`${base}/dev/outbox?to=${encodeURIComponent(phone)}`)).json()) as {
        messages: { code: string }[];
      };
      const code = box.messages.at(-1)!.code;
      const identity = generateSigningKeyPair();
      const signing = generateSigningKeyPair();
      const identityKey = toB64(identity.publicKey);
      const signingKey = toB64(signing.publicKey);
      const r = await post(`${base}/v1/registration/verify`, {
        sessionId,
        phone,
        code,
        identityKey,
        identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))),
        device: {
          name: 'bench',
          signingKey,
          signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))),
        },
      });
      out[i] = { accountId: String(r.accountId), deviceId: String(r.deviceId), token: String(r.token) };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

/** Receive callback: payload of a delivered message (first 8 bytes: the sender's send time). */
export type OnDeliver = (payload: Buffer, now: number) => void;
/** Acknowledgement callback of `sendFast`: milliseconds from the send call to the server's answer. */
export type OnFastAck = (ms: number) => void;

/**
 * Sends fired by `sendFast` waiting for their answer, by request id modulo this size. A device has
 * a handful at most (answers come back in milliseconds); the slot also records the id, so a
 * wrapped-around slot can never be taken for another send's.
 */
const FAST_SLOTS = 1024;

const ANSWER_PREFIX = Buffer.from('{"id":');
const CURSOR_KEY = Buffer.from('"cursor":');

/** The unsigned decimal number whose digits start at `from` (read up to `end`); 0 without digits. */
function readUint(buf: Buffer, from: number, end: number): number {
  let n = 0;
  for (let i = from; i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39; i++) n = n * 10 + buf[i]! - 0x30;
  return n;
}

/** A connected simulated device. `kind` picks Parley's hello handshake or the bare relay's URL token. */
export class SimDevice {
  ws!: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, (body: { status: number; body: unknown }) => void>();
  // The generator's own pauses are timed as the server's latency, so its per-message path keeps
  // nothing that outlives a young-generation GC: fixed arrays and one reusable timer instead of
  // a Map entry and closure per send, an array per acknowledgement batch and a timer per batch.
  private readonly fastIds = new Float64Array(FAST_SLOTS);
  private readonly fastSentAt = new Float64Array(FAST_SLOTS);
  private readonly acks = new Float64Array(LIMITS.ackBatch);
  private ackCount = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private ackTimerArmed = false;
  onDeliver: OnDeliver | null = null;
  onFastAck: OnFastAck | null = null;

  constructor(
    readonly reg: Registered,
    private readonly kind: 'parley' | 'relay',
  ) {}

  /** Open and (for Parley) authenticate. */
  async connect(base: string): Promise<void> {
    const url = base.replace(/^http/, 'ws') + (this.kind === 'parley' ? '/v1/ws' : `/?token=${this.reg.token}`);
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    if (this.kind === 'parley') {
      const r = await this.request('hello', { token: this.reg.token, protocol: 1 });
      if (r.status !== 200) throw new Error(`hello failed: ${JSON.stringify(r.body)}`);
    }
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    const now = performance.now();
    if (!isBinary) {
      // Answers to fast sends: only the id is needed (`{"id":N,...`), no parse. Ids start at 1, so
      // an answer with id 0 (a frame the server could not read) never matches an empty slot.
      const id =
        data.length > ANSWER_PREFIX.length &&
        data.compare(ANSWER_PREFIX, 0, ANSWER_PREFIX.length, 0, ANSWER_PREFIX.length) === 0
          ? readUint(data, ANSWER_PREFIX.length, data.length)
          : 0;
      if (id > 0) {
        const slot = id % FAST_SLOTS;
        if (this.fastIds[slot] === id) {
          this.fastIds[slot] = 0;
          this.onFastAck?.(now - this.fastSentAt[slot]!);
          return;
        }
      }
      const j = JSON.parse(data.toString('utf8')) as { id: number; status: number; body: unknown };
      const p = this.pending.get(j.id);
      if (p) {
        this.pending.delete(j.id);
        p(j);
      }
      return;
    }
    const end = binaryFramePayloadStart(data);
    const payload = data.subarray(end);
    if (this.kind === 'parley') {
      // Only the cursor is needed from the header: read its digits in place, no parse.
      const at = data.indexOf(CURSOR_KEY, FRAME_PREFIX_BYTES);
      if (at >= 0 && at < end) {
        this.queueAck(readUint(data, at + CURSOR_KEY.length, end));
      }
    }
    this.onDeliver?.(payload, now);
  }

  private queueAck(cursor: number): void {
    if (cursor <= 0) return;
    this.acks[this.ackCount++] = cursor;
    // The SDK's acknowledgement policy, so the load is what real devices send.
    if (this.ackCount >= LIMITS.ackBatch) this.flushAcks();
    else if (!this.ackTimerArmed) {
      this.ackTimerArmed = true;
      // A timer that has fired can be re-armed; one that was cleared cannot, so it is replaced.
      if (this.ackTimer) this.ackTimer.refresh();
      else this.ackTimer = setTimeout(() => this.flushAcks(true), LIMITS.ackDelayMs);
    }
  }

  private flushAcks(fromTimer = false): void {
    if (this.ackTimerArmed && !fromTimer) {
      clearTimeout(this.ackTimer!);
      this.ackTimer = null;
    }
    this.ackTimerArmed = false;
    if (!this.ackCount || this.ws.readyState !== WebSocket.OPEN) return;
    let cursors = String(this.acks[0]);
    for (let i = 1; i < this.ackCount; i++) cursors += ',' + this.acks[i];
    this.ackCount = 0;
    this.ws.send(
      `{"id":${this.nextId++},"op":"ack","body":{"cursors":[${cursors}]${this.kind === 'parley' ? ',"quiet":true' : ''}}}`,
    );
  }

  /** Send a request and wait for its answer. */
  request(op: string, body: unknown, payload?: Uint8Array): Promise<{ status: number; body: unknown }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame({ id, op, body }, payload));
    });
  }

  /** Fire a send without waiting; `onFastAck` gets the time until the server's answer. */
  sendFast(frame: Uint8Array, id: number, sentAt: number): void {
    const slot = id % FAST_SLOTS;
    this.fastIds[slot] = id;
    this.fastSentAt[slot] = sentAt;
    this.ws.send(frame);
  }

  takeId(): number {
    return this.nextId++;
  }

  close(): void {
    this.flushAcks();
    this.ws.terminate();
  }
}
