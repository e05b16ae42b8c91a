/**
 * Simulated devices for the benchmark: registered through the real HTTP API (codes from the dev
 * outbox, real Ed25519 proofs) and connected over real WebSockets speaking Parley's frame format.
 * They carry opaque ciphertext of a real MLS size and acknowledge what they receive, as devices do.
 */
import WebSocket from 'ws';
import { LIMITS, deviceCertMessage, encodeFrame, identityProofMessage, toB64 } from '@parley/protocol';
import { generateSigningKeyPair, sign } from '@parley/crypto';

/** One registered device with its token. */
export interface Registered {
  accountId: string;
  deviceId: string;
  token: string;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
      await post(`${base}/v1/registration/code`, { phone });
      const box = (await (await fetch(`${base}/dev/outbox?to=${encodeURIComponent(phone)}`)).json()) as { messages: { code: string }[] };
      const code = box.messages.at(-1)!.code;
      const identity = generateSigningKeyPair();
      const signing = generateSigningKeyPair();
      const identityKey = toB64(identity.publicKey);
      const signingKey = toB64(signing.publicKey);
      const r = await post(`${base}/v1/registration/verify`, {
        phone, code, identityKey,
        identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))),
        device: { name: 'bench', signingKey, signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))) },
      });
      out[i] = { accountId: String(r.accountId), deviceId: String(r.deviceId), token: String(r.token) };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

/** Receive callback: payload of a delivered message (first 8 bytes: the sender's send time). */
export type OnDeliver = (payload: Buffer, now: number) => void;

/** A connected simulated device. `kind` picks Parley's hello handshake or the bare relay's URL token. */
export class SimDevice {
  ws!: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, (body: { status: number; body: unknown }) => void>();
  private acks: number[] = [];
  private ackTimer: NodeJS.Timeout | null = null;
  onDeliver: OnDeliver | null = null;

  constructor(readonly reg: Registered, private readonly kind: 'parley' | 'relay') {}

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
      const j = JSON.parse(data.toString('utf8')) as { id: number; status: number; body: unknown };
      const p = this.pending.get(j.id);
      if (p) {
        this.pending.delete(j.id);
        p(j);
      }
      return;
    }
    const len = data.readUInt32BE(0);
    const payload = data.subarray(4 + len);
    if (this.kind === 'parley') {
      // Only the cursor is needed from the header; a light scan avoids parsing the whole JSON.
      const header = data.toString('utf8', 4, 4 + len);
      const m = /"cursor":(\d+)/.exec(header);
      if (m) this.queueAck(Number(m[1]));
    }
    this.onDeliver?.(payload, now);
  }

  private queueAck(cursor: number): void {
    if (cursor <= 0) return;
    this.acks.push(cursor);
    // The SDK's acknowledgement policy, so the load is what real devices send.
    if (this.acks.length >= LIMITS.ackBatch) this.flushAcks();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAcks(), LIMITS.ackDelayMs);
  }

  private flushAcks(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (!this.acks.length || this.ws.readyState !== WebSocket.OPEN) return;
    const cursors = this.acks;
    this.acks = [];
    this.ws.send(JSON.stringify({ id: this.nextId++, op: 'ack', body: { cursors, ...(this.kind === 'parley' ? { quiet: true } : {}) } }));
  }

  /** Send a request and wait for its answer. */
  request(op: string, body: unknown, payload?: Uint8Array): Promise<{ status: number; body: unknown }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame({ id, op, body }, payload));
    });
  }

  /** Fire a send without waiting; `onAck` gets the server's answer time. */
  sendFast(frame: Buffer, id: number, onAck: (now: number) => void): void {
    this.pending.set(id, () => onAck(performance.now()));
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
