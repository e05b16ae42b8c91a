/**
 * A message's text as React elements (C15): formatting and links from `format.ts`, and, while
 * searching, the matched ranges marked. Text only ever becomes text nodes; a link is an anchor
 * whose address `findLinks` made (http or https only), opened in a new tab without giving the page
 * a handle on this one or the chat's address (`rel="noopener noreferrer"`).
 */
import { Fragment, useMemo, type ReactNode } from 'react';
import type { TextRange } from '@parley/sdk';
import { formatMessage, type FormatNode } from './format.ts';
import './richtext.css';

/** `text` formatted, with `highlight` ranges (of the original text) in `<mark>`. */
export function RichText({ text, highlight = [] }: { text: string; highlight?: readonly TextRange[] }) {
  const nodes = useMemo(() => formatMessage(text), [text]);
  return <>{render(nodes, highlight, 'n')}</>;
}

function render(nodes: FormatNode[], marks: readonly TextRange[], key: string): ReactNode[] {
  return nodes.map((n, i) => {
    const k = `${key}.${i}`;
    switch (n.kind) {
      case 'text':
        return <Fragment key={k}>{marked(n.text, n.start, marks)}</Fragment>;
      case 'link':
        return (
          <a key={k} href={n.href} target="_blank" rel="noopener noreferrer">
            {marked(n.text, n.start, marks)}
          </a>
        );
      case 'code':
        return <code key={k}>{marked(n.text, n.start, marks)}</code>;
      case 'pre':
        return <pre key={k}>{marked(n.text, n.start, marks)}</pre>;
      case 'bold':
        return <strong key={k}>{render(n.children, marks, k)}</strong>;
      case 'italic':
        return <em key={k}>{render(n.children, marks, k)}</em>;
      case 'strike':
        return <s key={k}>{render(n.children, marks, k)}</s>;
    }
  });
}

/** A leaf's text (starting at `start` of the message) with the parts inside `marks` in `<mark>`. */
export function marked(text: string, start: number, marks: readonly TextRange[]): ReactNode {
  if (!marks.length) return text;
  const out: ReactNode[] = [];
  let at = 0;
  for (const [s, e] of marks) {
    const from = Math.max(s - start, at);
    const to = Math.min(e - start, text.length);
    if (to <= from) continue;
    if (from > at) out.push(text.slice(at, from));
    out.push(<mark key={from}>{text.slice(from, to)}</mark>);
    at = to;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
