/**
 * `parley discover` (C12): private contact discovery from a file of numbers.
 */
import { readFile } from 'node:fs/promises';
import { ParleyError, checkNumbers, type ParleyClient } from '@parley/sdk';
import { requireRegistered, UsageError } from './args.ts';

/**
 * Numbers from a file: one E.164 number per line; blank lines and lines starting with `#` are
 * skipped. Every line is checked before anything is sent.
 * @throws ParleyError `phone_invalid` naming the first bad line.
 */
export async function readNumbersFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --numbers-file ${path}: ${(e as Error).message}`);
  }
  const numbers: string[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    numbers.push(line);
    lines.push(i + 1);
  });
  try {
    checkNumbers(numbers);
  } catch (e) {
    const index = ((e as ParleyError).details as { index?: number } | undefined)?.index ?? 0;
    throw new ParleyError('phone_invalid', {
      message: `Line ${lines[index]} is not an E.164 number (for example +14155550123).`,
      details: { line: lines[index] },
    });
  }
  return numbers;
}

/** Discover the numbers; returns `{number, account}` for each registered, discoverable one, in file order. */
export async function discoverFile(client: ParleyClient, path: string): Promise<{ number: string; account: string }[]> {
  const numbers = await readNumbersFile(path);
  requireRegistered(client);
  const found = await client.discover(numbers);
  const seen = new Set<string>();
  const rows: { number: string; account: string }[] = [];
  for (const number of numbers) {
    const account = found.get(number);
    if (account && !seen.has(number)) rows.push({ number, account });
    seen.add(number);
  }
  return rows;
}
