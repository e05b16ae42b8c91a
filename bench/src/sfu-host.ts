/**
 * The SFU process of the SFU benchmark (`bench/src/sfu.ts`): one `Sfu` with one room, driven over
 * the Node IPC channel, so its CPU time is measured apart from the load generator's.
 *
 * Messages in: `{op:'join', id}`, `{op:'answer', id, answer}`, `{op:'usage'}`.
 * Messages out: `{op:'offer', id, offer}` (first and renegotiation offers alike),
 * `{op:'error', id, code}`, `{op:'speaker', speakerId, at, decidedAt, wallMs}`,
 * `{op:'usage', cpuUs, eluActiveMs, stats}` (CPU of the whole process; time the event loop was busy).
 */
import { performance } from 'node:perf_hooks';
import { Sfu, type SfuAnswer } from '@parley/sfu';
import { wallMs } from './measure.ts';

export const BENCH_ROOM = 'bench_room';

type In = { op: 'join'; id: string } | { op: 'answer'; id: string; answer: SfuAnswer } | { op: 'usage' };

const send = (m: unknown) => process.send?.(m);

const sfu = new Sfu({ authorize: () => true, maxParticipants: 1000, iceUseIpv6: false });
sfu.onOffer((_room, id, offer) => send({ op: 'offer', id, offer }));
sfu.onSpeakerChange(BENCH_ROOM, (c) =>
  send({ op: 'speaker', speakerId: c.speakerId, at: c.at, decidedAt: c.decidedAt, wallMs: wallMs() }),
);

process.on('message', (raw) => {
  const m = raw as In;
  switch (m.op) {
    case 'join':
      sfu.join(BENCH_ROOM, m.id).then(
        (offer) => send({ op: 'offer', id: m.id, offer }),
        (e: { code?: string }) => send({ op: 'error', id: m.id, code: e.code ?? String(e) }),
      );
      break;
    case 'answer':
      sfu
        .answer(BENCH_ROOM, m.id, m.answer)
        .catch((e: { code?: string }) => send({ op: 'error', id: m.id, code: e.code ?? String(e) }));
      break;
    case 'usage': {
      const u = process.cpuUsage();
      send({
        op: 'usage',
        cpuUs: u.user + u.system,
        eluActiveMs: performance.eventLoopUtilization().active,
        stats: sfu.stats(),
      });
      break;
    }
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

process.on('disconnect', () => {
  sfu.close();
  process.exit(0);
});
send({ op: 'ready' });
