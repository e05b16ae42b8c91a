/**
 * A structural check of SDP answers before werift sees them (C6). werift accepts text that is not
 * SDP at all as an answer with no m-lines, and then stops every transceiver of the connection. An
 * answer must have the offer's m-lines, same kinds, same mids, same order (JSEP, RFC 8829), so
 * that is what is checked; the full parse is werift's.
 */

/** The `kind` and `mid` of each m-section, in order. */
export function mediaSections(sdp: string): Array<{ kind: string; mid: string | undefined }> {
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  return sections.map((s) => ({ kind: /^m=([a-z]+) /.exec(s)?.[1] ?? '', mid: /^a=mid:(\S+)/m.exec(s)?.[1] }));
}

/** Why `answer` cannot answer `offer`, or `undefined` when its shape matches. */
export function answerShapeProblem(offer: string, answer: string): string | undefined {
  if (!/^v=0\r?\n/.test(answer)) return 'not an SDP description (must start with v=0)';
  const want = mediaSections(offer);
  const got = mediaSections(answer);
  if (got.length !== want.length) return `the answer has ${got.length} m-lines, the offer ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    // A rejected m-line (port 0) may come back without its mid; any mid present must match.
    const g = got[i]!;
    if (g.kind !== want[i]!.kind || (g.mid !== undefined && g.mid !== want[i]!.mid))
      return `m-line ${i} does not match the offer (kind and mid must be the same)`;
  }
  return undefined;
}
