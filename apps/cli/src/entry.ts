/**
 * The entries of the prebuilt `parley` bundle (`npm run build -w @parley/cli`, see
 * `scripts/build.mjs`): `needsServer`, which `bin/parley.js` asks first, and the command itself.
 */
import { parseArgs } from './args.ts';

/** The commands that run on the server's machine and load `@parley/server`: `serve` and `admin`. */
const SERVER_COMMANDS = new Set(['serve', 'admin']);

/**
 * True when `argv` runs a command that loads the server; a command line that does not parse never
 * does. Those run from the sources: the bundle leaves the server out, and a server loaded beside it
 * would have its own copy of the SDK and protocol modules (two `ParleyError` classes).
 */
export function needsServer(argv: string[]): boolean {
  try {
    return SERVER_COMMANDS.has(parseArgs(argv).words[0] ?? '');
  } catch {
    return false;
  }
}

/** Loads and runs the command; a separate chunk, so asking `needsServer` costs little. */
export async function main(argv: string[]): Promise<number> {
  const cli = await import('./main.ts');
  return cli.main(argv);
}
