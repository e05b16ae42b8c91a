/**
 * The `parley` command line as `node:util`'s `parseArgs` reads it with the declared option table
 * (`apps/cli/src/args.ts`): the forms scripts use keep their meaning, an undeclared option is a
 * usage error, and the table, the usage lines and the options the commands read agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { COMMANDS, OPTIONS, parseArgs, usage, UsageError } from '../src/args.ts';

const flags = (argv: string[]) => Object.fromEntries(parseArgs(argv).flags);

test('values come as --x value or --x=value, before or after the command words', () => {
  const a = parseArgs(['--profile', '/p', 'group', 'create', '--name=Team', '--members', '+1,+2', '--timeout', '5']);
  assert.deepEqual(a.words, ['group', 'create']);
  assert.deepEqual(Object.fromEntries(a.flags), { profile: '/p', name: 'Team', members: '+1,+2', timeout: '5' });
  assert.deepEqual(flags(['--name=']), { name: '' }, 'an empty value clears (profile set --name=)');
  assert.deepEqual(flags(['--message', '']), { message: '' });
  assert.deepEqual(flags(['--message', 'a', '--message', 'b']), { message: 'b' }, 'the last one wins');
});

test('a value may start with one dash, but one starting with -- is the next option', () => {
  assert.deepEqual(flags(['send', '--message', '-1']), { message: '-1' });
  assert.deepEqual(flags(['send', '--message', '--to', '+1']), { message: true, to: '+1' });
  assert.deepEqual(flags(['--photo', '--name', 'x', '--about', '--follow']), {
    photo: true,
    name: 'x',
    about: true,
    follow: true,
  });
  assert.deepEqual(
    flags(['whoami', '--profile']),
    { profile: true },
    'a value left out is true, for the command to refuse',
  );
});

test('switches take no value, and a lone -x is a word', () => {
  const a = parseArgs(['receive', '--follow', '5', '--thumbnail', '-x', '-abc']);
  assert.deepEqual(a.words, ['receive', '5', '-x', '-abc']);
  assert.deepEqual(Object.fromEntries(a.flags), { follow: true, thumbnail: true });
  assert.deepEqual(parseArgs(['pin', 'set', '-']).words, ['pin', 'set', '-']);
});

test('an option the command does not know is a usage error naming it', () => {
  assert.throws(
    () => parseArgs(['--profile', '/p', 'send', '--mesage', 'hi']),
    (e: unknown) => e instanceof UsageError && e.message === 'unknown option --mesage',
  );
  assert.throws(() => parseArgs(['--verbose', '1', 'whoami']), UsageError);
});

test('every option in a usage line or read by a command is declared, and the help lists the global ones', () => {
  const declared = new Set(Object.keys(OPTIONS));
  for (const line of COMMANDS)
    for (const [, name] of line.matchAll(/--([a-z][a-z-]*)/g)) assert.ok(declared.has(name!), `--${name} in "${line}"`);
  const dir = new URL('../src/', import.meta.url);
  const read = /(?:need|opt|secondsFlag)\(args, '([a-z-]+)'|flags\.(?:get|has)\('([a-z-]+)'\)/g;
  let seen = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(read)) {
      seen++;
      assert.ok(declared.has((m[1] ?? m[2])!), `--${m[1] ?? m[2]} read in ${file}`);
    }
  }
  assert.ok(seen > 20, 'the commands read their options through need/opt/flags');
  const help = usage();
  for (const [name, o] of Object.entries(OPTIONS)) if (o.global) assert.match(help, new RegExp(`^  --${name} `, 'm'));
  for (const line of COMMANDS)
    assert.ok(
      help.includes(`  parley ${line.split('\n')[0]}\n`) || help.endsWith(`  parley ${line.split('\n')[0]}`),
      line,
    );
});
