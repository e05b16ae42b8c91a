/**
 * The composition root's product (C19): everything actions need, built once by `buildServer` and
 * passed explicitly, so tests can build the same thing around a real database.
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import type { Storage } from './storage/types.ts';
import type { Bus, Presence } from './bus/types.ts';
import type { RateLimiter } from './limits/types.ts';
import type { VerificationSender } from './services/sender.ts';
import type { Delivery } from './services/delivery.ts';
import type { Revocations } from './services/revocations.ts';
import type { RoutingCache } from './services/routing.ts';
import type { BlockLists } from './services/blocks.ts';
import type { BlobStore } from './blobs/types.ts';
import type { CallService } from './services/calls.ts';
import type { DiscoveryService } from './services/discovery.ts';
import type { KeyTransparency } from './services/key-transparency.ts';
import type { ProfileService } from './services/profiles.ts';
import type { ServerSecrets } from './services/server-secrets.ts';
import type { ServerMetrics } from './metrics/counters.ts';
import type { PushSender } from './services/push.ts';
import type { BusinessRuntime } from './business/runtime.ts';
import type { ImageGenService } from './imagegen/service.ts';

/** Services shared by every action. */
export interface ServerContext {
  readonly config: Config;
  readonly nodeId: string;
  readonly storage: Storage;
  /** Server secrets (OPRF, username and key-transparency keys), decrypted in memory; sealed in storage. */
  readonly secrets: ServerSecrets;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly limiter: RateLimiter;
  readonly sender: VerificationSender;
  readonly delivery: Delivery;
  /** Devices revoked recently, learned over the bus from every node: checked before each frame runs. */
  readonly revocations: Revocations;
  /** Conversation membership lookups (cached when this process is the only writer). */
  readonly routing: RoutingCache;
  /** Who blocked whom, read by the send path of direct chats (cached when this process is the only writer). */
  readonly blocks: BlockLists;
  /** Where encrypted media bytes live (local folder or S3-compatible bucket, C4). */
  readonly blobs: BlobStore;
  /** Group calls hosted by this process's SFU, and TURN credentials (C6). */
  readonly calls: CallService;
  /** Private contact discovery: OPRF key, index, allowances and the enumeration alarm (C12). */
  readonly discovery: DiscoveryService;
  /** The key-transparency log of account → identity-key bindings (C13). */
  readonly transparency: KeyTransparency;
  /** Contacts (accepted chats), online and last seen, for profile visibility (C12). */
  readonly profiles: ProfileService;
  /** Web Push: the VAPID key and the queue of wake-ups for devices with no open socket (C18). */
  readonly push: PushSender;
  /** Counters the hot paths bump; served as Prometheus metrics when configured (C19). */
  readonly metrics: ServerMetrics;
  /** The Business API's hosted devices and webhook queue (C10, docs/business.md). */
  readonly business: BusinessRuntime;
  /** The hosted image generation service: configured models and the pattern renderer (C9). */
  readonly imagegen: ImageGenService;
  readonly log: Logger;
  /** Milliseconds since the epoch; replaceable in tests. */
  readonly now: () => number;
  /**
   * True once shutdown has begun (`ParleyServer.close`, SIGTERM/SIGINT): the process takes no new
   * connections or frames and `/readyz` answers 503, so balancers send clients elsewhere.
   */
  draining: boolean;
}

/** Who is calling: the authenticated device, or an anonymous caller known only by address. */
export interface Caller {
  readonly ip: string;
  readonly accountId?: string;
  readonly deviceId?: string;
  /**
   * `'http'` when the request came over HTTP (the WebSocket gateway leaves it unset): some ops
   * answer raw bytes, which only HTTP can carry.
   */
  readonly transport?: 'http' | 'ws';
}

/** A caller that passed authentication. */
export interface AuthedCaller extends Caller {
  readonly accountId: string;
  readonly deviceId: string;
}
