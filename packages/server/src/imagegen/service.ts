/**
 * The operator-hosted generation service (C9, docs/image-generation.md): the models listed in
 * configuration plus the offline pattern renderer; one job at a time per request, for the calling
 * device only. Everything a job could refuse is checked before any provider is called, in this
 * order: the model (unknown, not allowed), the request (prompt, size, variants, seed), the
 * operator's block-list, running jobs per account, the account's daily quota, the server's daily
 * budget. Quota and budget are taken before the call and given back when the job fails, so a
 * failed job costs nothing. Neither the prompt nor the images are written anywhere: they live in
 * this job's memory until its answer is sent, and are never logged.
 */
import type { Logger } from 'pino';
import {
  checkRequest,
  createProvider,
  recipientOf,
  PatternProvider,
  PATTERN_MODEL,
  type GenerationResult,
  type ImageProvider,
  type ModelInfo,
  type Progress,
} from '@parley/imagegen';
import {
  ParleyError,
  PATTERN_PROVIDER,
  PATTERN_TEXT,
  type HostedModel,
  type ImageModelsResponse,
  type ImagineBody,
} from '@parley/protocol';
import type { Config, HostedModelConfig } from '../config/index.ts';
import type { LimitCounters } from './counters.ts';

const DAY_MS = 86_400_000;
/** Budget figures are counted in thousandths, so fractional costs add up exactly. */
const MILLI = 1000;
/** A running-jobs counter outlives its job's timeout by this much, in case a node dies mid-job. */
const JOB_SLACK_MS = 60_000;
/** The id clients pass for the pattern renderer. */
export const PATTERN_ID = 'pattern';

/** One model as the service runs it. */
interface Entry {
  readonly id: string;
  readonly provider: ImageProvider;
  readonly info: ModelInfo;
  readonly config: HostedModelConfig | null;
}

/** A counter a job took from, and how much. */
interface Taken {
  readonly key: string;
  readonly amount: number;
}

/** What a checked job runs with; `run` gives back what it took when it fails. */
export interface HostedJob {
  run(opts: { signal: AbortSignal; onProgress: (p: Progress) => void }): Promise<GenerationResult>;
  readonly modelName: string;
}

/** Lower case, no accents, for block-list matching. */
function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** A whole-word matcher for each block-list term (letters and digits around it do not count as a match). */
function blockMatchers(terms: readonly string[]): { term: string; re: RegExp }[] {
  return terms.map((term) => ({
    term,
    re: new RegExp(
      `(^|[^\\p{L}\\p{N}])${fold(term)
        .trim()
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\s+/g, '\\s+')}($|[^\\p{L}\\p{N}])`,
      'u',
    ),
  }));
}

/** The hosted generation service of one server process. */
export class ImageGenService {
  private readonly entries = new Map<string, Entry>();
  private readonly blocked: { term: string; re: RegExp }[];

  constructor(
    private readonly config: Config,
    private readonly counters: LimitCounters,
    private readonly log: Logger,
    private readonly now: () => number,
    opts: { fetch?: typeof fetch } = {},
  ) {
    for (const m of config.imagegenModels) {
      const { id: _id, dailyQuota: _q, costPerImage: _c, accounts: _a, ...spec } = m;
      const timeoutMs = Math.min(m.timeoutMs ?? Infinity, config.imagegenTimeoutSeconds * 1000);
      const provider = createProvider({ ...spec, timeoutMs }, opts);
      this.entries.set(m.id, { id: m.id, provider, info: provider.models()[0]!, config: m });
    }
    const pattern = new PatternProvider();
    this.entries.set(PATTERN_ID, { id: PATTERN_ID, provider: pattern, info: pattern.models()[0]!, config: null });
    this.blocked = blockMatchers(config.imagegenBlocklist);
  }

  /** The models `accountId` may use, with what is left of its quota today. */
  async models(accountId: string): Promise<ImageModelsResponse> {
    const day = this.day();
    const models: HostedModel[] = [];
    for (const e of this.entries.values()) {
      if (!this.allowed(e, accountId)) continue;
      const quota = this.quotaOf(e);
      const used = await this.counters.read(this.quotaKey(e.id, accountId, day));
      models.push({
        id: e.id,
        displayName: e.config ? e.config.displayName : PATTERN_TEXT,
        provider: e.config ? e.config.provider : PATTERN_PROVIDER,
        recipient: e.config ? recipientOf(e.config) : 'nobody: it runs on the server without AI',
        where: e.config ? 'server' : 'offline',
        maxVariants: 4,
        seeded: e.info.seeded,
        imageInput: false,
        dailyQuota: quota,
        leftToday: Math.max(0, quota - used),
      });
    }
    return { models, requireLabel: this.config.imagegenRequireLabel };
  }

  /**
   * Check a job for `accountId` and take what it needs (a running-job slot, quota, budget): every
   * refusal is thrown here, before any provider is called. The caller must `run` the job it gets.
   */
  async start(accountId: string, body: ImagineBody): Promise<HostedJob> {
    const e = this.entries.get(body.model);
    if (!e) throw new ParleyError('image_model_unknown', { details: { model: body.model } });
    if (!this.allowed(e, accountId)) throw new ParleyError('image_model_not_allowed', { details: { model: e.id } });
    const { req } = checkRequest({ ...body, model: e.info.id }, [e.info]);
    const folded = fold(req.prompt);
    const hit = this.blocked.find((b) => b.re.test(folded));
    if (hit) throw new ParleyError('image_prompt_blocked', { details: { term: hit.term } });

    const now = this.now();
    const day = this.day();
    const nextDay = (day + 1) * DAY_MS;
    const taken: Taken[] = [];
    try {
      const jobsKey = `j:${accountId}`;
      const jobs = await this.counters.take(
        jobsKey,
        1,
        this.config.imagegenJobsPerUser,
        now + this.config.imagegenTimeoutSeconds * 1000 + JOB_SLACK_MS,
      );
      if (!jobs.taken)
        throw new ParleyError('image_jobs_busy', {
          retryAfterMs: 1000,
          details: { running: jobs.used, max: this.config.imagegenJobsPerUser },
        });
      taken.push({ key: jobsKey, amount: 1 });
      const quotaKey = this.quotaKey(e.id, accountId, day);
      const quota = await this.counters.take(quotaKey, req.variants, this.quotaOf(e), nextDay);
      if (!quota.taken)
        throw new ParleyError('image_quota_spent', {
          retryAfterMs: nextDay - now,
          details: { model: e.id, dailyQuota: this.quotaOf(e), leftToday: Math.max(0, this.quotaOf(e) - quota.used) },
        });
      taken.push({ key: quotaKey, amount: req.variants });
      const cost = Math.round((e.config?.costPerImage ?? 0) * MILLI) * req.variants;
      const budget = this.config.imagegenBudgetPerDay;
      if (cost > 0 && budget !== undefined) {
        const budgetKey = `b:${day}`;
        const spent = await this.counters.take(budgetKey, cost, Math.floor(budget * MILLI), nextDay);
        if (!spent.taken) throw new ParleyError('image_budget_spent', { retryAfterMs: nextDay - now });
        taken.push({ key: budgetKey, amount: cost });
      }
    } catch (err) {
      await this.giveBack(taken);
      throw err;
    }
    const [jobsSlot, ...charges] = taken;
    return {
      modelName: e.config ? e.config.displayName : PATTERN_TEXT,
      run: async ({ signal, onProgress }) => {
        const startedAt = this.now();
        try {
          const result = await e.provider.generate(
            { ...body, prompt: req.prompt, model: e.info.id, seed: req.seed },
            { signal, onProgress, timeoutMs: this.config.imagegenTimeoutSeconds * 1000 },
          );
          this.log.info({ model: e.id, variants: result.images.length, ms: this.now() - startedAt }, 'image job done');
          return e.config ? result : { ...result, model: PATTERN_MODEL };
        } catch (err) {
          // Nothing is charged for a job that did not deliver: quota and budget go back.
          await this.giveBack(charges);
          this.log.info(
            { model: e.id, code: err instanceof ParleyError ? err.code : 'internal', ms: this.now() - startedAt },
            'image job failed',
          );
          throw err;
        } finally {
          await this.giveBack(jobsSlot ? [jobsSlot] : []);
        }
      },
    };
  }

  /** Release the counters' connection. */
  close(): Promise<void> {
    return this.counters.close();
  }

  /** Give back what a job took; a failure to do so is logged (the counters expire on their own). */
  private async giveBack(taken: readonly Taken[]): Promise<void> {
    for (const t of taken)
      await this.counters
        .giveBack(t.key, t.amount)
        .catch((err: unknown) => this.log.warn({ err }, 'image limit give-back failed'));
  }

  private allowed(e: Entry, accountId: string): boolean {
    const list = e.config?.accounts;
    return !list || list.includes(accountId);
  }

  private quotaOf(e: Entry): number {
    return e.config ? e.config.dailyQuota : this.config.imagegenPatternPerDay;
  }

  private quotaKey(modelId: string, accountId: string, day: number): string {
    return `q:${day}:${modelId}:${accountId}`;
  }

  /** The UTC day number: quotas and the budget start afresh at 00:00 UTC. */
  private day(): number {
    return Math.floor(this.now() / DAY_MS);
  }
}
