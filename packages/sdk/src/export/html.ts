/**
 * The readable side of a chat export: one self-contained HTML page per chat and an index page.
 * Everything from a message is escaped (a message is whatever its sender wrote), the pages run no
 * script and load nothing from the network, and media is linked by its path in the zip.
 */
import { groupEventText } from '../group-event-text.ts';
import type { GroupEvent } from '../history.ts';
import type { ExportedChat, ExportedMessage, ExportedPerson, ExportManifest } from './schema.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `s` with every character that means something in HTML replaced by its entity. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** No script, no network: only the page's own style and files beside it. */
const CSP = "default-src 'none'; img-src 'self' file:; media-src 'self' file:; style-src 'unsafe-inline'";

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:760px;padding:16px;color:#111;background:#f4f1ec}
h1{font-size:1.4em;margin:0 0 4px}p.meta{color:#555;margin:0 0 16px}
ol{list-style:none;padding:0;margin:0}li.day{text-align:center;color:#555;margin:16px 0 8px;font-size:.9em}
li.msg{background:#fff;border-radius:8px;padding:6px 10px;margin:6px 0;max-width:85%;word-wrap:break-word}
li.msg.out{background:#dcf5d0;margin-left:auto}.from{font-weight:600;font-size:.85em;color:#0b6b3a}
.time{color:#666;font-size:.8em;margin-left:8px}.text{white-space:pre-wrap}
blockquote{border-left:3px solid #0b6b3a;margin:4px 0;padding:2px 8px;color:#444;background:#f2f2f2}
.note{color:#666;font-style:italic}.reactions{font-size:.9em}img,video{max-width:100%;height:auto;border-radius:4px}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}li.msg{background:#222}li.msg.out{background:#1f3b2a}
p.meta,li.day,.time,.note{color:#aaa}blockquote{background:#2a2a2a;color:#ccc}.from{color:#7fd9a2}}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

/** How a person is shown: their name, else their number, else a short account id. */
export function displayName(p: ExportedPerson | undefined, accountId: string): string {
  return p?.name ?? p?.phone ?? `${accountId.slice(0, 8)}…`;
}

const day = (iso: string) => iso.slice(0, 10);
const time = (iso: string) => iso.slice(11, 16);

function attachmentHtml(m: ExportedMessage): string {
  const a = m.attachment;
  if (!a) return '';
  const label = escapeHtml(a.fileName ?? `${a.kind} (${a.mimeType})`);
  if (!a.file) return `<p class="note">${label}: not in this export${a.error ? ` (${escapeHtml(a.error)})` : ''}</p>`;
  const src = escapeHtml(a.file);
  if (a.mimeType.startsWith('image/')) return `<p><a href="${src}"><img src="${src}" alt="${label}"></a></p>`;
  if (a.mimeType.startsWith('video/')) return `<p><video controls preload="metadata" src="${src}"></video></p>`;
  if (a.mimeType.startsWith('audio/')) return `<p><audio controls preload="metadata" src="${src}"></audio></p>`;
  return `<p><a href="${src}">${label}</a></p>`;
}

function messageHtml(m: ExportedMessage, name: (accountId: string) => string): string {
  if (m.system) return `<li class="day">${escapeHtml(groupEventText(m.system as GroupEvent, (a) => name(a)))}</li>`;
  const parts = [`<span class="from">${escapeHtml(m.outgoing ? 'You' : name(m.from))}</span>`];
  parts.push(`<time class="time" datetime="${m.sentAt}">${time(m.sentAt)} UTC</time>`);
  if (m.forwarded) parts.push('<div class="note">Forwarded</div>');
  if (m.deletedAt)
    return `<li class="msg${m.outgoing ? ' out' : ''}">${parts.join('')}<div class="note">This message was deleted</div></li>`;
  if (m.replyTo) {
    const quoted = m.replyTo.deleted ? 'Deleted message' : (m.replyTo.excerpt ?? '');
    parts.push(`<blockquote><b>${escapeHtml(name(m.replyTo.from))}</b><br>${escapeHtml(quoted)}</blockquote>`);
  }
  if (m.call) {
    const secs = Math.round(m.call.durationMs / 1000);
    parts.push(
      `<div class="note">${escapeHtml(`${m.call.media} call, ${m.call.outcome}${secs ? `, ${secs} s` : ''}`)}</div>`,
    );
  }
  parts.push(attachmentHtml(m));
  if (m.text) parts.push(`<div class="text">${escapeHtml(m.text)}</div>`);
  if (m.editedAt) parts.push('<div class="note">edited</div>');
  if (m.reactions?.length)
    parts.push(
      `<div class="reactions">${m.reactions.map((r) => escapeHtml(`${r.emoji} ${name(r.from)}`)).join(' · ')}</div>`,
    );
  return `<li class="msg${m.outgoing ? ' out' : ''}">${parts.join('')}</li>`;
}

/** A chat's readable page, with a line per day and who said what. */
export function chatPage(chat: ExportedChat, exportedAt: string): string {
  const people = new Map(chat.members.map((p) => [p.accountId, p]));
  const name = (id: string) => displayName(people.get(id), id);
  const items: string[] = [];
  let lastDay = '';
  for (const m of chat.messages) {
    if (day(m.sentAt) !== lastDay) {
      lastDay = day(m.sentAt);
      items.push(`<li class="day">${lastDay}</li>`);
    }
    items.push(messageHtml(m, name));
  }
  const members = chat.members.map((p) => escapeHtml(displayName(p, p.accountId))).join(', ');
  return page(
    chat.title,
    `<h1>${escapeHtml(chat.title)}</h1>
${chat.description ? `<p class="meta">${escapeHtml(chat.description)}</p>` : ''}
<p class="meta">${chat.kind === 'group' ? `Group with ${members}` : `Chat with ${escapeHtml(chat.title)}`}. Exported ${escapeHtml(exportedAt)} from Parley; ${chat.messages.length} messages.</p>
<ol>${items.join('\n')}</ol>`,
  );
}

/** The index page listing every chat in the export. */
export function indexPage(manifest: ExportManifest): string {
  const rows = manifest.chats
    .map(
      (c) =>
        `<li><a href="chats/${escapeHtml(c.folder)}/chat.html">${escapeHtml(c.title)}</a> (${c.messages} messages)</li>`,
    )
    .join('\n');
  return page(
    'Parley chat export',
    `<h1>Parley chat export</h1><p class="meta">Exported ${escapeHtml(manifest.exportedAt)}.</p><ol>${rows}</ol>`,
  );
}
