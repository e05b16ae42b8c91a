/**
 * Web Push fan-out (C18): one message to a group of `devices` devices, every one subscribed and
 * none connected, against the local push service of `@parley/testkit` (which checks each
 * request's VAPID signature and decrypts its aes128gcm payload, as a browser vendor's would). The
 * row gives the time from the send until the push service holds every encrypted wake-up, the
 * server's CPU per push (its process CPU over the whole fan-out, the message's storage included,
 * divided by the pushes), and the payload's size in clear and on the wire.
 */
import { encodeFrame, toB64 } from '@parley/protocol';
import { startLocalPushService } from '@parley/testkit';
import { SimDevice, registerMany, type Registered } from './devices.ts';
import { round, sleep } from './measure.ts';
import { cpuSeconds, startParley } from './processes.ts';

type Out = (row: Record<string, unknown>) => void;

async function http(base: string, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const j = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(j)}`);
  return j;
}

/** A group of the owner and `members` (commit and Welcome are random bytes: the server cannot tell). */
async function group(owner: SimDevice, members: Registered[]): Promise<string> {
  const id = toB64(crypto.getRandomValues(new Uint8Array(16)));
  const c = await owner.request('createConversation', { conversationId: id, kind: 'group' });
  if (c.status !== 201 && c.status !== 200) throw new Error(`createConversation ${JSON.stringify(c.body)}`);
  const commit = crypto.getRandomValues(new Uint8Array(1200));
  const welcome = new Uint8Array(Math.min(65536 * 3, 1500 + members.length * 180));
  const payload = new Uint8Array(commit.length + welcome.length);
  payload.set(commit);
  payload.set(welcome, commit.length);
  const r = await owner.request(
    'commit',
    {
      conversationId: id,
      clientMessageId: `push-setup-${Date.now()}`,
      epoch: 0,
      adds: members.map((m) => ({ accountId: m.accountId, deviceId: m.deviceId })),
      removes: [],
      welcomeLength: welcome.length,
    },
    payload,
  );
  if (r.status !== 200) throw new Error(`commit ${JSON.stringify(r.body)}`);
  return id;
}

/** Run the fan-out once on a fresh SQLite server; `ciphertextBytes` is the message's size. */
export async function pushFanoutScenario(out: Out, devices: number, ciphertextBytes: number): Promise<void> {
  const server = await startParley(18706, undefined, { PARLEY_PUSH_HTTP_HOSTS: '127.0.0.1' });
  const ps = await startLocalPushService();
  try {
    const regs = await registerMany(server.base, devices + 1, 40);
    const [ownerReg, ...members] = regs as [Registered, ...Registered[]];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < members.length) {
          const m = members[next++]!;
          await http(server.base, m.token, 'PUT', '/v1/devices/me/push', ps.subscribe());
        }
      }),
    );
    const owner = new SimDevice(ownerReg, 'parley');
    await owner.connect(server.base);
    const conv = await group(owner, members);
    await sleep(500);
    const cpu0 = cpuSeconds(server.proc.pid!);
    const t0 = performance.now();
    const id = owner.takeId();
    owner.sendFast(
      encodeFrame(
        { id, op: 'send', body: { conversationId: conv, clientMessageId: `bench-push-${id}` } },
        new Uint8Array(ciphertextBytes),
      ) as Uint8Array,
      id,
      performance.now(),
    );
    await ps.waitFor(devices, 120_000);
    const ms = performance.now() - t0;
    const cpu = cpuSeconds(server.proc.pid!) - cpu0;
    const first = ps.received[0]!;
    out({
      scenario: 'push_fanout',
      target: server.label,
      devices,
      pushes: ps.received.length,
      refused: ps.rejected.length,
      all_pushes_ms: round(ms, 1),
      server_cpu_ms_per_push: round((cpu * 1000) / devices, 3),
      payload_plaintext_bytes: first.plaintext.length,
      payload_wire_bytes: first.bodyBytes,
    });
    owner.close();
  } finally {
    await ps.close();
    await server.stop();
  }
}
