/**
 * Call tones made on the device with WebAudio (C6, C15), no sound file to fetch: the ringtone of
 * an incoming call (two rising notes, 659 then 784 Hz, twice, every 3 s) and the ringback an
 * outgoing call plays while the other side's device rings (440 + 480 Hz together, 1.5 s on and
 * 1.5 s off). `CallController` starts and stops them as the call's state changes, so each stops
 * on answer, decline, cancel or timeout. The ringtone has its own switch in Settings, kept in
 * localStorage; the ringback always plays, since it only says the call is getting through.
 */
const RINGTONE_KEY = 'parley:ringtone';
/** One ring cycle (ms): the pattern repeats this often until stopped. */
export const RING_CYCLE_MS = 3000;
/** The incoming ringtone's notes (Hz) and the ringback's pair. */
export const RINGTONE_HZ = [659, 784] as const;
export const RINGBACK_HZ = [440, 480] as const;

export type Tone = 'ringtone' | 'ringback';

/** Whether incoming calls ring on this device (on unless turned off in Settings). */
export function ringtoneOn(): boolean {
  try {
    return localStorage.getItem(RINGTONE_KEY) !== 'off';
  } catch {
    return true;
  }
}

/** Turn the ringtone of incoming calls on or off for this device. */
export function setRingtone(on: boolean): void {
  try {
    if (on) localStorage.removeItem(RINGTONE_KEY);
    else localStorage.setItem(RINGTONE_KEY, 'off');
  } catch {
    // Storage refused (private mode): the setting lasts as long as the page.
  }
}

let audio: AudioContext | undefined;

/** One note: `hz` from `at` for `seconds`, with short fades so it does not click. */
function note(
  ctx: AudioContext,
  out: AudioNode,
  hz: number,
  at: number,
  seconds: number,
  level: number,
): OscillatorNode {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'sine';
  osc.frequency.value = hz;
  gain.gain.setValueAtTime(0, at);
  gain.gain.linearRampToValueAtTime(level, at + 0.02);
  gain.gain.setValueAtTime(level, at + seconds - 0.03);
  gain.gain.linearRampToValueAtTime(0, at + seconds);
  osc.connect(gain).connect(out);
  osc.start(at);
  osc.stop(at + seconds);
  return osc;
}

/** Schedule one cycle of a tone from `at`; returns its oscillators. */
function cycle(ctx: AudioContext, out: AudioNode, tone: Tone, at: number): OscillatorNode[] {
  if (tone === 'ringback') return RINGBACK_HZ.map((hz) => note(ctx, out, hz, at, 1.5, 0.06));
  return [0, 0.5].flatMap((offset) =>
    RINGTONE_HZ.map((hz, i) => note(ctx, out, hz, at + offset + i * 0.22, 0.2, 0.12)),
  );
}

/**
 * Play `tone` until the returned function is called, which silences it at once (notes already
 * scheduled are stopped too). A browser that refuses audio stays silent rather than throwing.
 */
export function playTone(tone: Tone): () => void {
  if (typeof AudioContext === 'undefined') return () => undefined;
  audio ??= new AudioContext();
  const ctx = audio;
  const out = ctx.createGain();
  out.connect(ctx.destination);
  let live: OscillatorNode[] = [];
  let stopped = false;
  const ring = () => {
    if (stopped) return;
    live = cycle(ctx, out, tone, ctx.currentTime + 0.02);
  };
  if (ctx.state === 'suspended') void ctx.resume().then(ring, () => undefined);
  else ring();
  const timer = setInterval(ring, RING_CYCLE_MS);
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const osc of live) {
      try {
        osc.stop();
      } catch {
        // already stopped
      }
    }
    out.disconnect();
  };
}
