/**
 * Message formatting (C15), in Node: *bold*, _italic_, ~strike~, `code` and ``` blocks only where
 * the markers hug the text ("2 * 3 * 4" stays plain), links kept whole and only ever http(s),
 * every leaf's position in the original text (for search highlights), and hostile input: markup
 * stays text, and 64 KiB of markers or links is formatted quickly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, type FormatNode } from '../src/richtext/format.ts';

/** A compact picture of the tree: `*x*`-style markers for styles, `[text](href)` for links. */
function show(nodes: FormatNode[]): string {
  return nodes
    .map((n) => {
      switch (n.kind) {
        case 'text':
          return n.text;
        case 'link':
          return `[${n.text}](${n.href})`;
        case 'code':
          return `<code>${n.text}</code>`;
        case 'pre':
          return `<pre>${n.text}</pre>`;
        case 'bold':
          return `<b>${show(n.children)}</b>`;
        case 'italic':
          return `<i>${show(n.children)}</i>`;
        case 'strike':
          return `<s>${show(n.children)}</s>`;
      }
    })
    .join('');
}

test('markers that hug their text format it', () => {
  const cases: [string, string][] = [
    ['*bold*', '<b>bold</b>'],
    ['say _hi_ now', 'say <i>hi</i> now'],
    ['~gone~.', '<s>gone</s>.'],
    ['run `npm *test*`', 'run <code>npm *test*</code>'],
    ['*bold _and italic_*', '<b>bold <i>and italic</i></b>'],
    ['(*yes*)', '(<b>yes</b>)'],
    ['*two words*!', '<b>two words</b>!'],
    ['```\nconst a = *b*;\n```', '<pre>const a = *b*;</pre>'],
    ['before ```x _y_``` after', 'before <pre>x _y_</pre> after'],
    ['*été*', '<b>été</b>'],
  ];
  for (const [input, want] of cases) assert.equal(show(formatMessage(input)), want, input);
});

test('markers that do not hug their text stay as written', () => {
  for (const input of [
    '2 * 3 * 4',
    'a*b*c',
    'snake_case_name',
    '* not bold *',
    '*not bold *',
    '**',
    '****',
    '*a\nb*',
    '_',
    '`',
    '``` ```',
    '~~',
    'price: 5*',
  ])
    assert.equal(show(formatMessage(input)), input, input);
});

test('links are kept whole, also inside formatting, and are only ever http(s)', () => {
  assert.equal(
    show(formatMessage('see https://example.com/a_b_c and www.example.org.')),
    'see [https://example.com/a_b_c](https://example.com/a_b_c) and [www.example.org](https://www.example.org/).',
  );
  assert.equal(
    show(formatMessage('*read https://example.com/x_y*')),
    '<b>read [https://example.com/x_y](https://example.com/x_y)</b>',
  );
  assert.equal(show(formatMessage('`https://example.com`')), '<code>https://example.com</code>');
  for (const input of ['javascript:alert(1)', '[x](javascript:alert(1))', 'data:text/html,<b>x</b>', 'file:///etc'])
    assert.ok(!formatMessage(input).some((n) => n.kind === 'link'), input);
  const hostile = formatMessage('javascript:alert(1)//https://example.com');
  assert.ok(!hostile.some((n) => n.kind === 'link'));
});

test('every leaf knows where it starts in the message', () => {
  const text = 'hi *bold* `c` https://example.com ```pre```';
  const leaves: { text: string; start: number }[] = [];
  const walk = (nodes: FormatNode[]) => {
    for (const n of nodes)
      if ('children' in n) walk(n.children);
      else leaves.push(n);
  };
  walk(formatMessage(text));
  assert.ok(leaves.length >= 5);
  for (const l of leaves) assert.equal(text.slice(l.start, l.start + l.text.length), l.text);
});

test('markup stays text and hostile input is formatted quickly', () => {
  const markup = '<img src=x onerror=alert(1)> <script>alert(1)</script> &amp;';
  assert.deepEqual(formatMessage(markup), [{ kind: 'text', text: markup, start: 0 }]);
  for (const input of [
    '*a '.repeat(21_000),
    '_*~`'.repeat(16_000),
    '*'.repeat(65_536),
    '*a* '.repeat(16_000),
    'https://example.com/_ '.repeat(2_900),
    `${'('.repeat(30_000)}https://example.com/${')'.repeat(30_000)}`,
  ]) {
    const started = performance.now();
    const nodes = formatMessage(input.slice(0, 65_536));
    assert.ok(nodes.length > 0);
    // Generous: hostile text must not take quadratic time (seconds), not be fast on a given machine.
    assert.ok(performance.now() - started < 5_000, `${input.slice(0, 12)}… took too long`);
  }
});
