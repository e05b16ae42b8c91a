/**
 * How the web client sets up 1:1 calls (C6): the SDK's call options, the local microphone and
 * camera, and three settings meant for tests and troubleshooting. Each setting is read from the
 * page's query string first (`?ringTimeoutMs=8000`), then from `localStorage`
 * (`parley.calls.ringTimeoutMs`), once, when the page loads:
 *
 * - `ringTimeoutMs`: how long a call rings before it counts as missed (default 30000).
 * - `iceTransportPolicy`: `relay` sends media only through the server's TURN relays (default `all`).
 * - `audioProcessing`: `off` turns off echo cancellation, noise suppression and automatic gain
 *   (default `on`); useful to measure what a microphone really sends.
 */
import type { CallMedia } from '@parley/protocol';
import type { CallOptions, IceServerLike, LocalMedia, ParleyClient } from '@parley/sdk';

/** The call settings of this page. */
export interface CallSettings {
  ringTimeoutMs?: number;
  iceTransportPolicy: 'all' | 'relay';
  audioProcessing: boolean;
}

function setting(name: string): string | null {
  const fromQuery = new URLSearchParams(globalThis.location?.search ?? '').get(name);
  if (fromQuery !== null) return fromQuery;
  try {
    return globalThis.localStorage?.getItem(`parley.calls.${name}`) ?? null;
  } catch {
    return null; // storage can be blocked by the browser
  }
}

/** Read the settings (query string over `localStorage`); unknown or bad values mean the default. */
export function readCallSettings(): CallSettings {
  const ring = Number(setting('ringTimeoutMs'));
  return {
    ...(Number.isInteger(ring) && ring >= 1000 && ring <= 300_000 ? { ringTimeoutMs: ring } : {}),
    iceTransportPolicy: setting('iceTransportPolicy') === 'relay' ? 'relay' : 'all',
    audioProcessing: setting('audioProcessing') !== 'off',
  };
}

type Listener = (stream: MediaStream | null) => void;

let localStream: MediaStream | null = null;
const listeners = new Set<Listener>();

/** The microphone (and camera) stream of the call in progress, if any. */
export function currentLocalStream(): MediaStream | null {
  return localStream;
}

/** Follow the call's local stream (it appears when the call dials or is accepted). */
export function onLocalStream(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Stop the microphone and camera of the call that ended (closing a connection leaves them on). */
export function releaseLocalStream(): void {
  localStream?.getTracks().forEach((t) => t.stop());
  localStream = null;
  listeners.forEach((l) => l(null));
}

async function getLocalMedia(media: CallMedia, settings: CallSettings): Promise<LocalMedia> {
  const processing = settings.audioProcessing;
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing },
    video: media === 'video' ? { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' } : false,
  });
  releaseLocalStream();
  localStream = stream;
  listeners.forEach((l) => l(stream));
  return { tracks: stream.getTracks(), stream };
}

/**
 * The SDK's call options for this page. ICE servers come from the server's `iceServers` op for
 * every call, so TURN credentials are always fresh; `client()` is read late because the options
 * are needed before the client exists.
 */
export function callOptions(client: () => ParleyClient | undefined, settings = readCallSettings()): CallOptions {
  return {
    getLocalMedia: (media) => getLocalMedia(media, settings),
    iceServers: async (): Promise<IceServerLike[]> => {
      const c = client();
      if (!c?.registered) return [];
      try {
        return (await c.api.iceServers()).iceServers;
      } catch (error) {
        // Without TURN a call still works between devices that reach each other directly.
        if (settings.iceTransportPolicy === 'relay') throw error;
        return [];
      }
    },
    ...(settings.iceTransportPolicy === 'relay' ? { peerConnectionConfig: { iceTransportPolicy: 'relay' } } : {}),
    ...(settings.ringTimeoutMs ? { ringTimeoutMs: settings.ringTimeoutMs } : {}),
  };
}
