/**
 * A WebSocket session (C1, C3): `hello` authenticates the socket once and resumes delivery of the
 * device's queue, each later frame asks `authorise` for its caller, and `end` detaches the device
 * when the socket closes. The gateway owns the bytes (framing, backpressure, shutdown); this owns
 * who the socket speaks for.
 *
 * A socket authenticates only at `hello`, and must not read the database per frame (the send path
 * is the hot path), so revocation (docs/architecture.md, Device revocation) is checked in memory:
 * at `hello` after the device is read, and as each later frame is about to run, parked or not.
 */
import { ParleyError, helloBody, type DeliverEvent, type HelloResponse } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import type { DeviceConnection } from '../services/delivery.ts';
import { REVOKED_CLOSE_CODE } from '../services/revocations.ts';
import { authenticate } from './accounts.ts';

/** What a session needs from its socket. Its methods are called unbound (arrow functions fit). */
export interface SessionSocket {
  /** The peer's address, for rate limits and logs. */
  readonly ip: string;
  /** False once the socket is closed. */
  isOpen(): boolean;
  close(code: number, reason: string): void;
  /** Push one delivery (a binary frame). */
  push(event: DeliverEvent, payload: Uint8Array): void;
  /** Push one event without a payload (a text frame). */
  event(name: string, body: unknown): void;
}

/** Who one socket speaks for, from its `hello` to its close. */
export class Session {
  /** The authenticated device; null until a `hello` succeeds. */
  caller: AuthedCaller | null = null;
  /** Set once the device is known to be revoked: from then on no frame of this socket runs. */
  private revoked = false;
  /**
   * Set when a `hello` starts, before its first await: a second one sent before the first is
   * answered would otherwise also see no caller and attach the device twice.
   */
  private helloTaken = false;
  private conn: DeviceConnection | null = null;

  constructor(private readonly socket: SessionSocket) {}

  /** Mark the device revoked and close its socket with 4003. */
  private readonly revoke = (): void => {
    this.revoked = true;
    this.socket.close(REVOKED_CLOSE_CODE, 'device revoked');
  };

  /**
   * Authenticate the socket with a `hello` body and resume delivery: `answer` gets the hello's
   * answer before the resume starts pushing, so the client sees the order it expects. A refused
   * hello may be retried on the same socket.
   */
  async hello(ctx: ServerContext, body: unknown, answer: (hello: HelloResponse) => void): Promise<void> {
    if (this.helloTaken)
      throw new ParleyError('bad_request', {
        message: this.caller ? 'Already authenticated.' : 'A hello is already being answered on this socket.',
      });
    const hello = helloBody.parse(body);
    this.helloTaken = true;
    let who: Awaited<ReturnType<typeof authenticate>>;
    try {
      who = await authenticate(ctx, hello.token);
    } catch (e) {
      this.helloTaken = false;
      throw e;
    }
    this.caller = { ip: this.socket.ip, transport: 'ws', ...who };
    const { isOpen, close, push, event } = this.socket;
    // The socket's own functions, not wrappers: every delivery pushed goes through `push`.
    const conn: DeviceConnection = {
      deviceId: who.deviceId,
      accountId: who.accountId,
      isOpen,
      close,
      push,
      event,
      revoke: this.revoke,
    };
    this.conn = conn;
    const pending = await ctx.storage.conversations.countPendingDeliveries(who.deviceId);
    // Revoked after `authenticate` read the device but before the socket was attached, where a
    // revocation would have found it.
    if (ctx.revocations.isRevoked(who.deviceId)) {
      this.revoke();
      throw new ParleyError('unauthenticated', { message: 'This device was revoked.' });
    }
    answer({ ...who, serverTime: ctx.now(), pending });
    await ctx.delivery.attach(conn);
  }

  /**
   * The caller for a frame about to run: `unauthenticated` before a successful `hello`, and for a
   * device revoked since (then the socket is closed with 4003). One Map lookup, no I/O.
   */
  authorise(ctx: ServerContext): AuthedCaller {
    const caller = this.caller;
    if (!caller) throw new ParleyError('unauthenticated');
    // Checked as each frame is about to run (parked ones included), in memory: a revocation reaches
    // this process over the bus (services/revocations.ts).
    if (this.revoked || ctx.revocations.isRevoked(caller.deviceId)) {
      if (!this.revoked) this.revoke();
      throw new ParleyError('unauthenticated', { message: 'This device was revoked.' });
    }
    return caller;
  }

  /** The socket closed: detach the device from delivery and calls, and note it offline. */
  end(ctx: ServerContext): void {
    const conn = this.conn;
    if (!conn) return;
    ctx.delivery.detach(conn);
    // A revoked device no longer speaks for the account, not even for its last-seen time.
    if (!this.revoked) ctx.profiles.noteOffline(conn.accountId);
    ctx.calls.detach(conn);
  }
}
