/**
 * The web client's call screen state (C6, C7), outside React so no SDK event is lost between
 * renders: the call on screen (outgoing or incoming) with its remote media, and the "leave a
 * message" prompt that follows an unanswered call or is opened from a missed-call entry. One
 * controller per client; components follow it with `useCallScreen`. It also plays the ringtone
 * of an incoming call and the ringback of an outgoing one (`ringtone.ts`) for exactly as long as
 * the screen shows a ringing call, and remembers whether the call is minimised to a floating bar.
 */
import { useEffect, useState } from 'react';
import type { CallMedia } from '@parley/protocol';
import type { Call, CallState, ParleyClient } from '@parley/sdk';
import type { NoteKind } from '../media/recorder.ts';
import { currentLocalStream, onLocalStream, releaseLocalStream } from './settings.ts';
import { playTone, ringtoneOn, type Tone } from './ringtone.ts';

/** Outgoing states after which the caller may leave a voice or video message instead. */
export const UNANSWERED: readonly CallState[] = ['missed', 'declined', 'busy', 'unavailable'];

/** A call on screen: the SDK call plus what the screen shows of it. */
export interface CallView {
  kind: 'call';
  call: Call;
  state: CallState;
  /** The other side's audio and video, as tracks arrive. */
  remote: MediaStream;
  /** This device's microphone (and camera) once the call has them. */
  local: MediaStream | null;
  muted: boolean;
  cameraOff: boolean;
  /** Shown as a small floating bar, so the person can keep chatting; media carries on. */
  minimised: boolean;
}

/** The prompt to leave a message for a call nobody answered (`recording` once the user chose). */
export interface MessageView {
  kind: 'message';
  conversationId: string;
  callId: string;
  peerAccount: string;
  media: CallMedia;
  /** Why the call was not answered, when the prompt follows the call itself. */
  state?: CallState;
  recording?: NoteKind;
}

export type CallScreen = CallView | MessageView | null;

/** Whether the screen shows a call that has not ended (only one runs at a time). */
export const callInProgress = (screen: CallScreen): boolean => screen?.kind === 'call' && !screen.call.ended;

/** Call screen state of one client. */
export class CallController {
  private screen: CallScreen = null;
  private readonly listeners = new Set<(screen: CallScreen) => void>();
  /** The tone playing now and how to stop it. */
  private tone: { kind: Tone; stop: () => void } | null = null;

  constructor(readonly client: ParleyClient) {
    client.calls.on('incoming-call', (call) => {
      // The manager answers `busy` for a second call, so at most one rings while another is on.
      if (callInProgress(this.screen)) return;
      this.show(call);
    });
    onLocalStream((local) => {
      if (this.screen?.kind === 'call') this.set({ ...this.screen, local, muted: false, cameraOff: false });
    });
  }

  get current(): CallScreen {
    return this.screen;
  }

  subscribe(listener: (screen: CallScreen) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call the other member of a direct conversation. */
  async start(conversationId: string, video: boolean): Promise<void> {
    if (callInProgress(this.screen)) return;
    const call = await this.client.calls.startCall(conversationId, { video });
    this.show(call);
  }

  /** Open the "leave a message" prompt for a call that is over (from a missed-call entry). */
  leaveMessage(init: Omit<MessageView, 'kind'>): void {
    if (callInProgress(this.screen)) return;
    this.set({ kind: 'message', ...init });
  }

  /** Start or stop recording in the prompt. */
  record(kind: NoteKind | undefined): void {
    if (this.screen?.kind === 'message') this.set({ ...this.screen, recording: kind });
  }

  setMuted(muted: boolean): void {
    if (this.screen?.kind !== 'call') return;
    this.screen.local?.getAudioTracks().forEach((t) => (t.enabled = !muted));
    this.set({ ...this.screen, muted });
  }

  setCameraOff(off: boolean): void {
    if (this.screen?.kind !== 'call') return;
    this.screen.local?.getVideoTracks().forEach((t) => (t.enabled = !off));
    this.set({ ...this.screen, cameraOff: off });
  }

  /** Make the call screen a floating bar (true) or bring it back to full size (false). */
  setMinimised(minimised: boolean): void {
    if (this.screen?.kind !== 'call') return;
    this.set({ ...this.screen, minimised });
  }

  /** Close the screen (after a call ended, or to dismiss the prompt). */
  close(): void {
    if (callInProgress(this.screen)) return;
    this.set(null);
  }

  private show(call: Call): void {
    const remote = new MediaStream();
    const view: CallView = {
      kind: 'call',
      call,
      state: call.state,
      remote,
      local: currentLocalStream(),
      muted: false,
      cameraOff: false,
      minimised: false,
    };
    this.set(view);
    const mine = () => this.screen?.kind === 'call' && this.screen.call === call;
    call.on('track', ({ track }) => {
      remote.addTrack(track as MediaStreamTrack);
      if (mine()) this.set({ ...(this.screen as CallView) });
    });
    call.on('ringing', () => {
      if (mine()) this.set({ ...(this.screen as CallView) });
    });
    call.on('state', (state) => {
      // Only one call runs at a time, so the local stream is this call's until it ends.
      if (call.ended) releaseLocalStream();
      if (!mine()) return;
      if (call.direction === 'outgoing' && UNANSWERED.includes(state)) {
        this.set({
          kind: 'message',
          conversationId: call.conversationId,
          callId: call.callId,
          peerAccount: call.peerAccount,
          media: call.media,
          state,
        });
      } else if (call.ended) {
        this.set(null);
      } else {
        this.set({ ...(this.screen as CallView), state });
      }
    });
  }

  private set(screen: CallScreen): void {
    this.screen = screen;
    this.updateTone();
    this.listeners.forEach((l) => l(screen));
  }

  /**
   * The tone the screen calls for: the ringtone while an incoming call rings (if the switch is
   * on), the ringback while an outgoing call rings on the other side's device, else silence.
   */
  private updateTone(): void {
    const s = this.screen;
    let want: Tone | null = null;
    if (s?.kind === 'call' && s.state === 'ringing' && !s.call.ended) {
      if (s.call.direction === 'incoming') want = ringtoneOn() ? 'ringtone' : null;
      else if (s.call.ringingDevices.length > 0) want = 'ringback';
    }
    if (this.tone?.kind === want) return;
    this.tone?.stop();
    this.tone = want ? { kind: want, stop: playTone(want) } : null;
  }
}

const controllers = new WeakMap<ParleyClient, CallController>();

/** The call controller of a client (made on first use; it starts listening for incoming calls). */
export function callController(client: ParleyClient): CallController {
  let c = controllers.get(client);
  if (!c) {
    c = new CallController(client);
    controllers.set(client, c);
  }
  return c;
}

/** The call screen as React state. */
export function useCallScreen(client: ParleyClient): [CallScreen, CallController] {
  const controller = callController(client);
  const [screen, setScreen] = useState<CallScreen>(controller.current);
  useEffect(() => {
    setScreen(controller.current);
    return controller.subscribe(setScreen);
  }, [controller]);
  return [screen, controller];
}
