/**
 * The `parley` command line (C1–C3): every option is declared once in `OPTIONS`, which both
 * `node:util`'s `parseArgs` and the generated `--help` read, and every command's usage line once in
 * `COMMANDS`. Options may stand before or after the command words.
 */
import { parseArgs as parseNodeArgs } from 'node:util';

/** Parsed command line: positional words and `--flag value` / `--flag` options. */
export interface ParsedArgs {
  words: string[];
  /** Options as given; a string option given without a value is `true` (commands say what it needs). */
  flags: Map<string, string | true>;
}

/** One option of the `parley` command. */
interface OptionSpec {
  /** `string` options take a value (`--x value` or `--x=value`); `boolean` ones never do. */
  type: 'string' | 'boolean';
  /** What the value is, for the help text. */
  value?: string;
  /** Listed under "global options" in the help, with this text (the usage lines show the rest). */
  global?: string;
}

/** Every option the command accepts. An option not listed here is a usage error. */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  timeout: {
    type: 'string',
    value: 'SECONDS',
    global:
      'give up when the command has not finished by then (default 60; 0: no overall deadline, each request still gives up after 30 s); for receive it keeps its own meaning below',
  },
  'connect-timeout': {
    type: 'string',
    value: 'SECONDS',
    global: 'give up opening the connection to the server after this (default 10)',
  },
  help: { type: 'boolean', global: 'print this help' },
  profile: { type: 'string', value: 'DIR' },
  state: { type: 'string', value: 'FILE' },
  server: { type: 'string', value: 'URL' },
  phone: { type: 'string', value: '+E164' },
  'log-key': { type: 'string', value: 'KEY' },
  'max-age': { type: 'string', value: 'SECONDS' },
  code: { type: 'string', value: 'CODE' },
  pin: { type: 'string', value: 'PIN' },
  name: { type: 'string', value: 'NAME' },
  to: { type: 'string', value: 'WHO' },
  message: { type: 'string', value: 'TEXT|ID' },
  file: { type: 'string', value: 'PATH' },
  kind: { type: 'string', value: 'KIND' },
  mime: { type: 'string', value: 'TYPE' },
  out: { type: 'string', value: 'PATH' },
  thumbnail: { type: 'boolean' },
  members: { type: 'string', value: 'LIST' },
  group: { type: 'string', value: 'ID' },
  follow: { type: 'boolean' },
  'numbers-file': { type: 'string', value: 'FILE' },
  about: { type: 'string', value: 'TEXT' },
  photo: { type: 'string', value: 'FILE' },
  account: { type: 'string', value: 'WHO' },
  role: { type: 'string', value: 'ROLE' },
  'reply-to': { type: 'string', value: 'ID' },
  prompt: { type: 'string', value: 'TEXT' },
  model: { type: 'string', value: 'ID' },
  variants: { type: 'string', value: 'N' },
  size: { type: 'string', value: 'WxH' },
  seed: { type: 'string', value: 'N' },
  pick: { type: 'string', value: 'K' },
  provider: { type: 'string', value: 'PROVIDER' },
  key: { type: 'string', value: 'KEY' },
  'base-url': { type: 'string', value: 'URL' },
  id: { type: 'string', value: 'ID' },
  workflow: { type: 'string', value: 'FILE' },
  'link-preview': { type: 'boolean' },
  emoji: { type: 'string', value: 'EMOJI' },
  remove: { type: 'boolean' },
  text: { type: 'string', value: 'TEXT' },
  'for-everyone': { type: 'boolean' },
  for: { type: 'string', value: 'LENGTH' },
  duration: { type: 'string', value: 'DURATION' },
  conversation: { type: 'string', value: 'WHO' },
  days: { type: 'string', value: 'N' },
  'without-media': { type: 'boolean' },
  messages: { type: 'string', value: 'N' },
  reason: { type: 'string', value: 'TEXT' },
  block: { type: 'boolean' },
  webhook: { type: 'string', value: 'URL' },
  'verify-token': { type: 'string', value: 'TOKEN' },
  business: { type: 'string', value: 'ID' },
  'token-id': { type: 'string', value: 'ID' },
  'template-id': { type: 'string', value: 'ID' },
  status: { type: 'string', value: 'STATUS' },
  // Accepted so scripts that pass it keep working: every command prints JSON lines anyway.
  json: { type: 'boolean' },
  uri: { type: 'string', value: 'URI' },
  history: { type: 'string', value: 'none|30d|all' },
  device: { type: 'string', value: 'ID' },
  in: { type: 'string', value: 'FILE' },
  'passphrase-file': { type: 'string', value: 'FILE' },
  'recovery-key': { type: 'string', value: 'KEY' },
};

/** Each command's usage line, and below it, indented, what it needs explaining. */
export const COMMANDS: readonly string[] = [
  'serve',
  '--profile DIR register --server URL --phone +E164 [--log-key KEY]',
  '--profile DIR verify --code CODE [--pin PIN] [--name DEVICE-NAME]',
  '--profile DIR send --to +E164|@username|group:ID|account:ID --message TEXT [--reply-to ID] [--link-preview]\n' +
    '(--link-preview: this device fetches the first link (5 s, 512 KiB, HTML only) and sends its preview inside the message)',
  '--profile DIR send --to ... --file PATH [--message CAPTION] [--kind image|file|voice|video] [--mime TYPE]',
  '--profile DIR download --message ID --out PATH [--thumbnail]',
  '--profile DIR models\n(one line per image model this profile may use, saying where the prompt goes)',
  '--profile DIR imagine --to WHO --prompt TEXT [--model ID] [--variants N] [--size WxH] [--seed N] [--pick K]\n' +
    '(generates N variants (1–4, default 1) with the model (default: the offline pattern renderer) and sends\nvariant K (1–N, default 1) with its "AI-generated · <model>" label)',
  '--profile DIR imagine keys add --provider bfl|openai|replicate|fal|comfyui|a1111 --key KEY [--base-url URL] [--model M] [--name NAME] [--id ID] [--workflow FILE]\n' +
    '(keeps a provider key on this device only, with its other keys; the model is then device:ID (default\nID: the provider) and this device calls the provider itself; the key is never printed back in full)',
  '--profile DIR imagine keys list | imagine keys remove --id ID',
  '--profile DIR react --to WHO --message ID --emoji EMOJI | --remove',
  '--profile DIR edit --to WHO --message ID --text TEXT\n(your own message, within 24 h)',
  '--profile DIR delete --to WHO --message ID [--for-everyone]\n(for this device only; --for-everyone: your own message, within 48 h)',
  '--profile DIR forward --message ID --to WHO',
  '--profile DIR group create --name NAME --members +E164|@NAME.NN|account:ID,...',
  '--profile DIR group add|remove --group ID --members +E164,...',
  '--profile DIR group rename --group ID --name NAME',
  '--profile DIR group describe --group ID --text TEXT\n(the description, end-to-end encrypted like the name; "" clears it)',
  '--profile DIR group info --group ID\n(name, description and members with their roles, as this device knows them)',
  '--profile DIR group admin|member --group ID --members +E164,...\n(make admins, or members again; admins only)',
  '--profile DIR group leave --group ID',
  '--profile DIR chat pin|unpin|archive|unarchive --to +E164|@username|group:ID|account:ID\n(where this device lists the chat; at most 3 pinned)',
  '--profile DIR mute --to +E164|@username|group:ID|account:ID --for 8h|1w|always|off\n(on this device only; any N m|h|d|w; prints mutedUntil: ms since the epoch, "always" or null)',
  '--profile DIR timer set --to +E164|@username|group:ID|account:ID --duration off|5s|10m|24h|7d|90d\n' +
    '(disappearing messages in that chat, for every member; any N s|m|h|d|w|y from 5 s to 1 year; prints timer in seconds or null)',
  '--profile DIR timer default --duration off|5s|10m|24h|7d|90d\n(the timer chats this device creates start with; kept on this device)',
  '--profile DIR receive [--timeout SECONDS] [--follow]\n' +
    '(stop after SECONDS with nothing new, default 5; with --follow stop after SECONDS, default 0:\nnever, and reconnect whenever the connection fails)',
  '--profile DIR conversations',
  '--profile DIR export [--conversation +E164|@username|group:ID|account:ID] --out FILE.zip [--days N] [--without-media]\n(a zip of one chat or all, made on this device: JSON, media and a readable page per chat)',
  '--profile DIR backup create --out FILE [--passphrase-file F | --recovery-key]\n' +
    '(an encrypted backup of chats, contacts and settings; the passphrase from F or PARLEY_BACKUP_PASSPHRASE;\n' +
    '--recovery-key: a new 64-digit key, printed once)',
  '--profile DIR backup restore --in FILE [--passphrase-file F | --recovery-key K]\n' +
    '(on a profile registered again with the same number; K may be in PARLEY_BACKUP_RECOVERY_KEY;\n' +
    'restored chats come back once a member adds this account again)',
  '--profile DIR search QUERY [--conversation +E164|@username|group:ID|account:ID]\n' +
    '(messages on this device matching QUERY, ignoring case and accents, newest first; one JSON line each)',
  '--profile DIR link [--history none|30d|all]\n' +
    '(on a registered device: prints a QR code on stderr and {status: "waiting", uri} on stdout, waits for the\n' +
    'new device within --timeout, sends it the chosen history (default none), adds it to every chat, then prints\n' +
    '{status: "linked", deviceId, conversations, historyMessages})',
  '--profile DIR link --uri URI [--name DEVICE-NAME]\n(on a fresh profile: link it to the account that showed the code)',
  '--profile DIR devices [--account WHO] | devices unlink --device ID\n' +
    "(this account's devices, one JSON line each; --account: that account's signed device list;\n" +
    'unlink: revoke a device at once and take it out of every chat)',
  '--profile DIR whoami',
  '--profile DIR pin set PIN | pin clear',
  '--profile DIR discover --numbers-file FILE',
  '[--profile DIR | --state FILE] audit-log --server URL [--log-key KEY] [--max-age SECONDS]',
  '--profile DIR username set NAME.NN | username clear',
  '--profile DIR settings [get] | settings set find-by-number everyone|nobody',
  '--profile DIR settings set photo|about|last-seen|online everyone|contacts|nobody',
  '--profile DIR profile set [--name TEXT] [--about TEXT] [--photo FILE] | profile get [--account WHO]',
  '--profile DIR block --to WHO | unblock --to WHO | blocked\n(nothing from a blocked account reaches any device of yours; blocked prints one line per account)',
  '--profile DIR promotions stop|resume --to WHO\n(stop, or allow again, the promotional messages of the business WHO; said inside the chat, end-to-end encrypted)',
  '--profile DIR report --to WHO [--reason TEXT] [--messages N] [--block]\n(sends the server operator the last N messages from WHO, default 5, as this device decrypted them)',
  'admin create --name NAME --role operator|support|security',
  'admin list | admin revoke --name NAME | admin verify-audit',
  'business create --name NAME --phone +E164 [--webhook URL --verify-token TOKEN]\n' +
    '(prints the business id, phone-number id, an access token and the app secret; token and secret are shown once)',
  'business list | business token create --business ID | business token revoke --business ID --token-id ID',
  'business templates list --business ID [--status PENDING|APPROVED|REJECTED|PAUSED|DISABLED]',
  'business templates review --business ID --template-id ID --status APPROVED|REJECTED|PAUSED|DISABLED [--reason TEXT]\n' +
    '(the review step is written to the audit log and the business hears it by its template-status webhook)',
];

/** Wrap `text` into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The `--help` text, generated from `OPTIONS` and `COMMANDS`. */
export function usage(): string {
  const globals = Object.entries(OPTIONS).filter(([, o]) => o.global !== undefined);
  const heads = globals.map(([name, o]) => `--${name}${o.value ? ` ${o.value}` : ''}`);
  const col = Math.max(...heads.map((h) => h.length)) + 2;
  const lines = ['global options (before or after the command):'];
  globals.forEach(([, o], i) => {
    wrap(o.global!, 98 - col).forEach((text, j) => lines.push(`  ${(j === 0 ? heads[i]! : '').padEnd(col)}${text}`));
  });
  lines.push('usage:');
  for (const c of COMMANDS) {
    const [first, ...notes] = c.split('\n');
    lines.push(`  parley ${first}`);
    for (const n of notes) lines.push(`      ${n}`);
  }
  return lines.join('\n');
}

const NODE_OPTIONS = Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type }]));

/**
 * Split argv into words and flags with `node:util`'s `parseArgs`: `--x=y` and `--x y` both work,
 * and a value may start with one dash (`--message -1`). A value starting with `--` is taken as the
 * next option instead, leaving the first without a value, and a lone `-x` is a word, as they
 * always were here. An undeclared option is a usage error, rather than a word that shifts the
 * command's meaning.
 */
export function parseArgs(argv: string[]): ParsedArgs {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  let rest = argv;
  for (;;) {
    const { tokens } = parseNodeArgs({
      args: rest,
      options: NODE_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    let restartAt = -1;
    let lastShort = -1;
    for (const t of tokens) {
      if (t.kind === 'positional') words.push(t.value);
      else if (t.kind === 'option-terminator') continue;
      else if (!t.rawName.startsWith('--')) {
        // `-x` (or a group like `-abc`, one token per letter): one word, as given.
        if (t.index !== lastShort) words.push(rest[t.index]!);
        lastShort = t.index;
      } else if (!Object.hasOwn(OPTIONS, t.name)) throw new UsageError(`unknown option ${t.rawName}`);
      else if (t.value !== undefined && !t.inlineValue && t.value.startsWith('--')) {
        flags.set(t.name, true);
        restartAt = t.index + 1;
        break;
      } else flags.set(t.name, t.value ?? true);
    }
    if (restartAt < 0) return { words, flags };
    rest = rest.slice(restartAt);
  }
}

/** A required string flag, or a usage error. */
export function need(args: ParsedArgs, name: string): string {
  const v = args.flags.get(name);
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** An optional string flag. */
export function opt(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** Wrong use of the command line (exit status 2). */
export class UsageError extends Error {}

/** A usage error unless the profile has registered (commands that act as its account). */
export function requireRegistered(client: { readonly registered: boolean }): void {
  if (!client.registered) throw new UsageError('this profile is not registered: run register and verify first');
}
