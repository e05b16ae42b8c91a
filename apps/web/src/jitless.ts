/**
 * Strict Content-Security-Policy support (C15): zod compiles fast object parsers with
 * `new Function` and, unless told not to, probes for that when its first object schema is built.
 * Under the web client's CSP (no 'unsafe-eval', docs/web.md "Serving") the probe is refused and
 * the browser reports a policy violation, so the page and the call worker switch it off before
 * any schema exists: every entry imports this module first. The build keeps it in the chunk that
 * holds zod and the wire schemas, ahead of them (vite.config.ts).
 */
import { config } from 'zod';

config({ jitless: true });
