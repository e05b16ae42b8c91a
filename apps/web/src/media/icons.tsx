/**
 * Small inline icons for the composer and attachments. Drawn as SVG so they look the same on every
 * device: emoji glyphs depend on fonts a server-hosted page cannot count on. Decorative only: the
 * buttons carrying them have accessible names.
 */
import type { ReactNode } from 'react';

function Icon({ children, stroke = false }: { children: ReactNode; stroke?: boolean }) {
  return (
    <svg
      className="icon"
      viewBox="0 0 24 24"
      width="22"
      height="22"
      aria-hidden="true"
      focusable="false"
      {...(stroke
        ? {
            fill: 'none',
            stroke: 'currentColor',
            strokeWidth: 2,
            strokeLinecap: 'round' as const,
            strokeLinejoin: 'round' as const,
          }
        : { fill: 'currentColor' })}
    >
      {children}
    </svg>
  );
}

/** A paperclip: attach a file. */
export const AttachIcon = () => (
  <Icon stroke>
    <path d="M20.5 11.5l-8.2 8.2a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8" />
  </Icon>
);

/** A microphone: record a voice note. */
export const MicIcon = () => (
  <Icon>
    <path d="M12 14.5a3.5 3.5 0 0 0 3.5-3.5V5a3.5 3.5 0 0 0-7 0v6a3.5 3.5 0 0 0 3.5 3.5zm6-3.5h-1.8a4.2 4.2 0 0 1-8.4 0H6a6 6 0 0 0 5.1 5.9V21h1.8v-3.1A6 6 0 0 0 18 11z" />
  </Icon>
);

/** A video camera: record a video note. */
export const VideoIcon = () => (
  <Icon>
    <path d="M4 6h10.5A1.5 1.5 0 0 1 16 7.5v2.7l4.4-3a.4.4 0 0 1 .6.3v9a.4.4 0 0 1-.6.3l-4.4-3v2.7a1.5 1.5 0 0 1-1.5 1.5H4a1.5 1.5 0 0 1-1.5-1.5v-9A1.5 1.5 0 0 1 4 6z" />
  </Icon>
);

/** A paper plane: send. */
export const SendIcon = () => (
  <Icon>
    <path d="M3.4 20.4l17.5-7.5a1 1 0 0 0 0-1.8L3.4 3.6a.7.7 0 0 0-1 .8L4 10.5l10 1.5-10 1.5-1.6 6.1a.7.7 0 0 0 1 .8z" />
  </Icon>
);

/** A cross: cancel. */
export const CancelIcon = () => (
  <Icon stroke>
    <path d="M6 6l12 12M18 6L6 18" />
  </Icon>
);

/** A page with a folded corner: a file. */
export const FileIcon = () => (
  <Icon stroke>
    <path d="M14 2.5H6.5a1.5 1.5 0 0 0-1.5 1.5v16a1.5 1.5 0 0 0 1.5 1.5h11a1.5 1.5 0 0 0 1.5-1.5V7.5zM14 2.5v5h5" />
  </Icon>
);

/** Play (a triangle) and pause (two bars). */
export const PlayIcon = () => (
  <Icon>
    <path d="M8 5.2v13.6a.8.8 0 0 0 1.2.7l10.6-6.8a.8.8 0 0 0 0-1.4L9.2 4.5A.8.8 0 0 0 8 5.2z" />
  </Icon>
);
export const PauseIcon = () => (
  <Icon>
    <path d="M7 5h3.5v14H7zM13.5 5H17v14h-3.5z" />
  </Icon>
);

/** A handset: a voice call. */
export const PhoneIcon = () => (
  <Icon>
    <path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z" />
  </Icon>
);

/** A gear: settings. */
export const SettingsIcon = () => (
  <Icon>
    <path d="M19.4 13a7.5 7.5 0 0 0 0-2l2-1.6a.5.5 0 0 0 .1-.6l-1.9-3.3a.5.5 0 0 0-.6-.2l-2.4 1a7.3 7.3 0 0 0-1.7-1l-.4-2.6a.5.5 0 0 0-.5-.4h-3.8a.5.5 0 0 0-.5.4l-.4 2.6a7.3 7.3 0 0 0-1.7 1l-2.4-1a.5.5 0 0 0-.6.2L2.6 8.8a.5.5 0 0 0 .1.6l2 1.6a7.5 7.5 0 0 0 0 2l-2 1.6a.5.5 0 0 0-.1.6l1.9 3.3a.5.5 0 0 0 .6.2l2.4-1a7.3 7.3 0 0 0 1.7 1l.4 2.6a.5.5 0 0 0 .5.4h3.8a.5.5 0 0 0 .5-.4l.4-2.6a7.3 7.3 0 0 0 1.7-1l2.4 1a.5.5 0 0 0 .6-.2l1.9-3.3a.5.5 0 0 0-.1-.6zM12 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z" />
  </Icon>
);

/** A shield with a tick: verify a safety number. */
export const ShieldIcon = () => (
  <Icon stroke>
    <path d="M12 2.8l7.5 3v5.7c0 4.6-3.1 8.4-7.5 9.7-4.4-1.3-7.5-5.1-7.5-9.7V5.8zM8.5 12l2.5 2.5 4.5-5" />
  </Icon>
);

/** Three dots in a column: more options. */
export const MoreIcon = () => (
  <Icon>
    <path d="M12 7.2a1.9 1.9 0 1 0 0-3.8 1.9 1.9 0 0 0 0 3.8zm0 6.7a1.9 1.9 0 1 0 0-3.8 1.9 1.9 0 0 0 0 3.8zm0 6.7a1.9 1.9 0 1 0 0-3.8 1.9 1.9 0 0 0 0 3.8z" />
  </Icon>
);

/** A chevron pointing left: back. */
export const BackIcon = () => (
  <Icon stroke>
    <path d="M15 5l-7 7 7 7" />
  </Icon>
);

/** A headset: a group's voice chat. */
export const VoiceChatIcon = () => (
  <Icon stroke>
    <path d="M4 15v-3a8 8 0 0 1 16 0v3M4 15a2 2 0 0 0 2 2h1v-5H6a2 2 0 0 0-2 2zm16 0a2 2 0 0 1-2 2h-1v-5h1a2 2 0 0 1 2 2zM17 17v1a3 3 0 0 1-3 3h-2" />
  </Icon>
);

/** A head and shoulders: a person without a name or photo to show. */
export const PersonIcon = () => (
  <Icon>
    <path d="M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.5-8 5.5V21h16v-1.5c0-3-3.6-5.5-8-5.5z" />
  </Icon>
);

/** A closed padlock: end-to-end encrypted. */
export const LockIcon = () => (
  <Icon stroke>
    <path d="M6.5 10.5h11v9h-11zM8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3" />
  </Icon>
);
