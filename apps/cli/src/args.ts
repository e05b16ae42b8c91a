/** A small argument parser for the `parley` command: global options, a command path, flags. */

/** Parsed command line: positional words and `--flag value` / `--flag` options. */
export interface ParsedArgs {
  words: string[];
  flags: Map<string, string | true>;
}

const BOOLEAN_FLAGS = new Set(['follow', 'help', 'json']);

/** Split argv into words and flags; `--x=y` and `--x y` both work. */
export function parseArgs(argv: string[]): ParsedArgs {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else {
        const name = a.slice(2);
        const next = argv[i + 1];
        if (BOOLEAN_FLAGS.has(name) || next === undefined || next.startsWith('--')) flags.set(name, true);
        else {
          flags.set(name, next);
          i++;
        }
      }
    } else words.push(a);
  }
  return { words, flags };
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
