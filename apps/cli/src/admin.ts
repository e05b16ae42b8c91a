/**
 * `parley admin …` (C14): staff accounts and the audit verifier, run by the operator on the
 * server's machine against its database (PARLEY_DATABASE_URL or PARLEY_DATA_DIR, as for `serve`).
 * `create` prints the new admin's bearer token once; only its hash is stored.
 */
import { ADMIN_ROLES, adminNameSchema, adminRoleSchema } from '@parley/protocol';
import { need, UsageError, type ParsedArgs } from './args.ts';

/** Run an admin subcommand; returns the exit status (verify-audit is non-zero on a broken chain). */
export async function admin(args: ParsedArgs, print: (obj: unknown) => void): Promise<number> {
  // Loaded only here, like `serve`: other commands do not pay for the server's modules.
  const { adminCommands, withStorage } = await import('@parley/server');
  const sub = args.words[1];
  switch (sub) {
    case 'create': {
      const name = need(args, 'name');
      const role = need(args, 'role');
      if (!adminRoleSchema.safeParse(role).success)
        throw new UsageError(`--role must be one of ${ADMIN_ROLES.join(', ')}`);
      if (!adminNameSchema.safeParse(name).success)
        throw new UsageError('--name must be 2-32 lower-case letters, digits, . _ or -, starting with a letter');
      const created = await withStorage(process.env, (s) => adminCommands.create(s, name, role));
      print({ ...created, note: 'the token is shown once: store it now' });
      return 0;
    }
    case 'list': {
      for (const a of await withStorage(process.env, (s) => adminCommands.list(s))) print(a);
      return 0;
    }
    case 'revoke': {
      const name = need(args, 'name');
      await withStorage(process.env, (s) => adminCommands.revoke(s, name));
      print({ name, revoked: true });
      return 0;
    }
    case 'verify-audit': {
      const result = await withStorage(process.env, (s) => adminCommands.verifyAudit(s));
      print(result);
      if (!result.ok)
        process.stderr.write(
          `parley: audit chain broken at entry ${result.firstBroken?.seq} (${result.firstBroken?.problem})\n`,
        );
      return result.ok ? 0 : 1;
    }
    default:
      throw new UsageError('admin needs create, list, revoke or verify-audit');
  }
}
