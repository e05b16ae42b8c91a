/**
 * The frame worker of group calls (C6): every encoded audio and video frame passes through here
 * (`RTCRtpScriptTransform`) on its way to or from the SFU. Outgoing frames are sealed with this
 * device's current frame key, incoming ones opened with the keys of the device the SFU says they
 * come from. The page feeds keys as they arrive over MLS; a frame without a usable key is dropped,
 * never sent in clear. The RTP header (audio level included) is not part of the frame, so the SFU
 * still reads it.
 *
 * Messages from the page: `{ type: 'own', keyId, key }`, `{ type: 'key', deviceId, keyId, key }`,
 * `{ type: 'stats' }` (answered with `{ type: 'stats', stats }`).
 */
// First: the worker runs under the same CSP as the page (jitless.ts).
import '../jitless.ts';
import { GroupFrameCipher, type GroupFrameKind } from '@parley/sdk';

/** What the page attaches to each transform (`new RTCRtpScriptTransform(worker, options)`). */
interface TransformOptions {
  side: 'send' | 'receive';
  kind: GroupFrameKind;
  /** For `receive`: the device whose frames these are. */
  participantId?: string;
}

interface EncodedFrame {
  data: ArrayBuffer;
}

interface TransformEvent {
  transformer: {
    readable: ReadableStream<EncodedFrame>;
    writable: WritableStream<EncodedFrame>;
    options: TransformOptions;
  };
}

type PageMessage =
  | { type: 'own'; keyId: number; key: Uint8Array }
  | { type: 'key'; deviceId: string; keyId: number; key: Uint8Array }
  | { type: 'stats' };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<PageMessage>) => void) | null;
  onrtctransform: ((e: TransformEvent) => void) | null;
  postMessage(message: unknown): void;
};

const cipher = new GroupFrameCipher();
// Keys are installed in the order they arrive, so a newer own key is never overtaken by an older one.
let keys: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'own') keys = keys.then(() => cipher.setOwnKey(m.keyId, m.key)).catch(() => undefined);
  else if (m.type === 'key') keys = keys.then(() => cipher.addKey(m.deviceId, m.keyId, m.key)).catch(() => undefined);
  else if (m.type === 'stats') scope.postMessage({ type: 'stats', stats: { ...cipher.stats } });
};

scope.onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      await keys;
      const data = new Uint8Array(frame.data);
      const out =
        options.side === 'send'
          ? await cipher.seal(options.kind, data)
          : await cipher.open(options.participantId ?? '', options.kind, data);
      if (!out) return; // no key yet, or not this sender's frame: drop it
      frame.data = out.buffer as ArrayBuffer;
      controller.enqueue(frame);
    },
  });
  void readable.pipeThrough(transform).pipeTo(writable);
};
