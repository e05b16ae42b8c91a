// Lint: TypeScript syntax plus the import directions of docs/architecture.md. Runs-anywhere
// packages (protocol, crypto, sdk) may not import Node built-ins; nothing deep-imports another
// package's internals; the SDK and web app never import the server; storage never imports
// actions, services, transports or admin/; services never import actions. Import cycles are
// checked by tests/layout.test.ts.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Every Node built-in, `node:`-prefixed or bare (`fs`, `crypto`, `fs/promises`), from Node's own list.
const builtinNames = builtinModules.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
const nodeBuiltinRegex = `^(node:.*|(${builtinNames})(/.*)?)$`;
const nodeBuiltins = { regex: nodeBuiltinRegex, message: 'This package must run in browsers too: no Node built-ins.' };
// `no-restricted-imports` does not see `import('…')`, so a dynamic import of a built-in is banned apart.
// (A selector's regex cannot hold `/`, so it is written `\x2F` there.)
const noDynamicBuiltins = [
  'error',
  {
    selector: `ImportExpression[source.value=/${nodeBuiltinRegex.replaceAll('/', '\\x2F')}/]`,
    message: nodeBuiltins.message,
  },
];
const deep = {
  group: ['@parley/*/src/*', '@parley/*/src'],
  message: 'Import a package through its exports, never its internals.',
};
// A relative path out of one package into another (`../../server/test/...`, `../../apps/web/src/...`)
// skips its exports just as a deep import does: tests use `@parley/<name>`, `/testing` or `@parley/testkit`.
const crossPackage = {
  regex: '^(\\.\\./)+((packages|apps|tests|bench)/|(protocol|crypto|imagegen|sdk|server|sfu|testkit|cli|web|e2e)/)',
  message:
    "Import another package through its exports ('@parley/<name>', '/testing', '@parley/testkit'), never by a relative path.",
};
const server = { group: ['@parley/server', '@parley/server/*'], message: 'Clients never import the server.' };
const sfu = {
  group: ['@parley/sfu', '@parley/sfu/*'],
  message: 'Only services/calls.ts talks to the SFU (docs/decisions/0002).',
};
const client = { group: ['@parley/sdk', '@parley/sdk/*'], message: 'The server never imports the client.' };
// Relative paths that leave the folder (services/ or storage/ sit directly under server/src).
const leaving = (dirs, message) => ({ regex: `^\\.\\./(${dirs.join('|')})(/.*)?$`, message });
const servicesUp = leaving(
  ['actions'],
  'Services never import actions: the composition root or the action passes what a service needs (docs/architecture.md).',
);
const storageUp = leaving(
  ['actions', 'services', 'http', 'ws', 'admin'],
  'Stores never import actions, services, transports or admin/ (docs/architecture.md).',
);

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', '.test-tmp/**'] },
  {
    // Worker entries that Node loads without tsx are `// @ts-check` JavaScript (`.mjs`), linted the same way.
    files: ['**/*.ts', '**/*.tsx', 'packages/*/src/**/*.mjs'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-imports': ['error', { patterns: [deep] }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-debugger': 'error',
    },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [nodeBuiltins, deep, { group: ['@parley/*'], message: 'protocol imports zod only.' }] },
      ],
      'no-restricted-syntax': noDynamicBuiltins,
    },
  },
  {
    files: ['packages/crypto/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            nodeBuiltins,
            deep,
            server,
            { group: ['@parley/sdk', '@parley/sdk/*'], message: 'crypto imports protocol only.' },
          ],
        },
      ],
      'no-restricted-syntax': noDynamicBuiltins,
    },
  },
  {
    // Image providers run on devices (browsers too) and in the server's generation service.
    files: ['packages/imagegen/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            nodeBuiltins,
            deep,
            {
              group: ['@parley/*', '!@parley/protocol'],
              message: 'imagegen imports protocol only.',
            },
          ],
        },
      ],
      'no-restricted-syntax': noDynamicBuiltins,
    },
  },
  {
    files: ['packages/sdk/src/**/*.ts'],
    ignores: ['packages/sdk/src/node/**', 'packages/sdk/src/node.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [nodeBuiltins, deep, server] }],
      'no-restricted-syntax': noDynamicBuiltins,
    },
  },
  {
    files: ['apps/web/src/**/*.ts', 'apps/web/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            nodeBuiltins,
            deep,
            server,
            { group: ['@parley/crypto', '@parley/crypto/*'], message: 'The web app goes through the SDK.' },
          ],
        },
      ],
      'no-restricted-syntax': noDynamicBuiltins,
    },
  },
  {
    files: ['packages/sfu/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deep,
            server,
            {
              group: ['@parley/sdk', '@parley/sdk/*', '@parley/crypto', '@parley/crypto/*'],
              message: 'The SFU imports protocol only: it never holds keys.',
            },
          ],
        },
      ],
    },
  },
  {
    // The server hosts the SFU (docs/decisions/0002): only the call service may import it.
    files: ['packages/server/src/**/*.ts', 'packages/server/src/**/*.mjs'],
    ignores: ['packages/server/src/services/**', 'packages/server/src/storage/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, sfu, client] }] },
  },
  {
    files: ['packages/server/src/services/**/*.ts'],
    ignores: ['packages/server/src/services/calls.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, sfu, client, servicesUp] }] },
  },
  {
    files: ['packages/server/src/services/calls.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, client, servicesUp] }] },
  },
  {
    files: ['packages/server/src/storage/**/*.ts', 'packages/server/src/storage/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, sfu, client, storageUp] }] },
  },
  {
    files: [
      'packages/*/test/**/*.ts',
      'apps/*/test/**/*.ts',
      'apps/*/test/**/*.tsx',
      'tests/**/*.ts',
      'bench/**/*.ts',
      'scripts/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, crossPackage] }] },
  },
);
