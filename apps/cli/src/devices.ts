/**
 * Linked devices on the command line (C1, docs/devices.md):
 * - `parley --profile DIR link [--history none|30d|all]` (a registered profile) opens a link code,
 *   prints it as a QR code on stderr and as `{status: "waiting", uri, linkId, expiresAt}` on stdout,
 *   waits for the new device (within `--timeout`), sends it the chosen history (default none), then
 *   prints `{status: "linked", deviceId, name, conversations, historyMessages}`;
 * - `parley --profile DIR link --uri URI [--name NAME]` (a fresh profile) links this profile from
 *   that code, imports any history sent with it, and prints
 *   `{status: "linked", accountId, deviceId, historyMessages}`;
 * - `parley --profile DIR devices` prints one line per device of the account; with `--account WHO`
 *   the device list that account's identity key signed, as this device verified it;
 * - `parley --profile DIR devices unlink --device ID` revokes a device and takes it out of every chat.
 */
import { renderUnicodeCompact } from 'uqr';
import { HISTORY_CHOICES, type HistoryChoice, type ParleyClient } from '@parley/sdk';
import { need, opt, requireRegistered, UsageError, type ParsedArgs } from './args.ts';

type Out = (line: Record<string, unknown>) => void;

/** How long `link` waits for the other device: a little under the command's deadline, so the code is cancelled first. */
function waitMs(overallMs: number): number {
  return overallMs > 0 ? Math.max(1000, overallMs - 2000) : 10 * 60_000;
}

/**
 * The QR code of a link URI as text for a terminal: two rows of modules per line, light modules
 * as full blocks (for dark terminals), with a quiet zone around it.
 */
export function linkQr(uri: string): string {
  return renderUnicodeCompact(uri, { border: 2, ecc: 'L' });
}

/** `parley link` on either side. */
export async function linkCommand(
  args: ParsedArgs,
  open: () => Promise<ParleyClient>,
  connected: () => Promise<ParleyClient>,
  overallMs: number,
  out: Out,
): Promise<void> {
  const uri = opt(args, 'uri');
  const history = opt(args, 'history') ?? 'none';
  if (!HISTORY_CHOICES.includes(history as HistoryChoice)) throw new UsageError('--history takes none, 30d or all');
  if (uri !== undefined && opt(args, 'history') !== undefined)
    throw new UsageError('--history is chosen on the existing device, not with --uri');
  if (uri !== undefined) {
    const client = await open();
    try {
      if (client.registered)
        throw new UsageError('this profile is registered already: link a new one with --profile DIR link --uri URI');
      let historyMessages = 0;
      const record = await client.joinLink(uri, {
        deviceName: opt(args, 'name') ?? 'parley-cli',
        timeoutMs: waitMs(overallMs),
        onHistoryProgress: (p) => {
          if (p.phase === 'done') historyMessages = p.total;
        },
      });
      // An import cut off (it is kept and resumed by `resumeLinkHistory`): say so instead of success.
      const left = await client.resumeLinkHistory();
      if (left.pending) historyMessages = left.messages;
      out({ status: 'linked', accountId: record.accountId, deviceId: record.deviceId, historyMessages });
    } finally {
      await client.close();
    }
    return;
  }
  const client = await connected();
  try {
    const pending = await client.startLink();
    process.stderr.write(
      `${linkQr(pending.uri)}\nScan this code with the new device, or run there:\n  parley --profile DIR link --uri '${pending.uri}'\n`,
    );
    out({ status: 'waiting', uri: pending.uri, linkId: pending.linkId, expiresAt: pending.expiresAt });
    const linked = await pending.wait({ timeoutMs: waitMs(overallMs), history: history as HistoryChoice });
    out({
      status: 'linked',
      deviceId: linked.deviceId,
      name: linked.name,
      conversations: linked.conversations,
      historyMessages: linked.historyMessages,
    });
  } finally {
    await client.close();
  }
}

/** `parley devices [--account WHO]` and `parley devices unlink --device ID`. */
export async function devicesCommand(
  args: ParsedArgs,
  connected: () => Promise<ParleyClient>,
  resolveAccount: (client: ParleyClient, who: string) => Promise<string>,
  out: Out,
): Promise<void> {
  const sub = args.words[1];
  if (sub !== undefined && sub !== 'unlink' && sub !== 'list')
    throw new UsageError('devices takes no word, list, or unlink --device ID');
  const deviceId = sub === 'unlink' ? need(args, 'device') : undefined;
  const client = await connected();
  try {
    requireRegistered(client);
    if (deviceId !== undefined) {
      const res = await client.unlinkDevice(deviceId);
      out({ deviceId: res.deviceId, unlinked: true, conversations: res.conversations });
      return;
    }
    const who = opt(args, 'account');
    if (who !== undefined) {
      const accountId = await resolveAccount(client, who);
      const list = await client.deviceListOf(accountId);
      if (!list) {
        out({ accountId, signed: false, devices: [] });
        return;
      }
      for (const d of list.devices)
        out({ accountId, deviceId: d.deviceId, signingKey: d.signingKey, listVersion: list.version, signed: true });
      for (const d of list.unlisted) out({ accountId, deviceId: d, signed: false });
      return;
    }
    for (const d of await client.devices())
      out({ deviceId: d.deviceId, name: d.name, createdAt: d.createdAt, current: d.current });
  } finally {
    await client.close();
  }
}
