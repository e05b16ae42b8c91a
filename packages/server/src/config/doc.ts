/**
 * The configuration reference (C19) as Markdown, generated from the declarations in `index.ts`:
 * `scripts/config-doc.ts` writes it between the markers in `docs/operations.md`, and
 * `test/config.test.ts` fails when the file holds anything else.
 */
import { configRules, configVars, type ConfigVar } from './index.ts';

/** The markers around the generated region of `docs/operations.md`. */
export const CONFIG_DOC_BEGIN = '<!-- config-table:begin -->';
export const CONFIG_DOC_END = '<!-- config-table:end -->';

/** The schema's own default as the table writes it, or undefined for a setting without one. */
export function schemaDefault(v: ConfigVar): string | undefined {
  const r = v.schema.safeParse(undefined);
  if (!r.success || r.data === undefined) return undefined;
  const d: unknown = r.data;
  if (typeof d === 'number') return String(d);
  if (d === '' || (Array.isArray(d) && d.length === 0)) return 'empty';
  if (typeof d === 'string') return '`' + d + '`';
  return '`' + JSON.stringify(d) + '`';
}

/** The default column of one row: the declared words, else the schema's default, else "unset". */
export function shownDefault(v: ConfigVar): string {
  return v.shownDefault ?? schemaDefault(v) ?? 'unset';
}

/** The generated region: the table of every setting and the checks across settings, markers included. */
export function configDoc(): string {
  const rows = Object.values(configVars).map((v: ConfigVar) => `| \`${v.env}\` | ${shownDefault(v)} | ${v.doc} |`);
  const rules = configRules.map((r) => '- `' + r.message + '`');
  return [
    CONFIG_DOC_BEGIN,
    '<!-- generated from packages/server/src/config/index.ts by `npx tsx scripts/config-doc.ts`: edit the declarations there -->',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
    '',
    'An invalid value stops the start with every bad variable named (`invalid configuration: PARLEY_…: …`).',
    'These checks across variables stop it too, with the line shown:',
    ...rules,
    CONFIG_DOC_END,
  ].join('\n');
}

/** `doc` with its generated region replaced by the current one; throws when the markers are missing. */
export function withConfigDoc(doc: string): string {
  const begin = doc.indexOf(CONFIG_DOC_BEGIN);
  const end = doc.indexOf(CONFIG_DOC_END);
  if (begin < 0 || end < begin) throw new Error('docs/operations.md has no config-table markers');
  return doc.slice(0, begin) + configDoc() + doc.slice(end + CONFIG_DOC_END.length);
}
