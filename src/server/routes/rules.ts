import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { isDwError } from '../../errors/index.ts';
import { checkPeriod } from '../../rules/dry-run.ts';
import { checkRuleSet } from '../../rules/validate.ts';
import type { RuleService } from '../../rules/service.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { ServerDeps } from '../types.ts';
import { deleteRuleSchema, dryRunSchema, getRulesSchema, listVersionsSchema, postRulesSchema, putRuleSchema } from './rules-schemas.ts';

/** What the rule and silence routes need: src/rules/service.ts. */
export type RulesApi = Pick<RuleService, 'current' | 'version' | 'versions' | 'apply' | 'putRule' | 'disableRule' | 'dryRun' | 'listSilences' | 'addSilence' | 'removeSilence'>;

/** NDJSON lines of a dry run: `{"replayed":N}` as it goes, then `{"result":...}` or `{"error":...}`. */
async function* progressLines(run: (onProgress: (n: number) => void) => Promise<unknown>): AsyncGenerator<string> {
  const pending: number[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let outcome: string | undefined;
  run((n) => { pending.push(n); wake?.(); }).then(
    (result) => { outcome = `${JSON.stringify({ result })}\n`; },
    (e: unknown) => {
      const err = isDwError(e) ? { code: e.code, message: e.message } : { code: 'DW_INTERNAL', message: 'the dry run failed (see the server log)' };
      outcome = `${JSON.stringify({ error: err })}\n`;
    },
  ).finally(() => { done = true; wake?.(); });
  for (;;) {
    while (pending.length > 0) yield `${JSON.stringify({ replayed: pending.shift() })}\n`;
    if (done) break;
    await new Promise<void>((r) => { wake = r; });
    wake = undefined;
  }
  while (pending.length > 0) yield `${JSON.stringify({ replayed: pending.shift() })}\n`;
  yield outcome!;
}

/** The author of a change: the authenticated caller, `unauthenticated` when authentication is off (tests, dev). */
export const authorOf = (req: FastifyRequest): string => req.principal?.name ?? 'unauthenticated';

/** Rules as data (docs/alerts.md, "Rules"): who may call them and what is audited is in auth/access.ts. */
export const ruleRoutes: FastifyPluginAsync<{ deps: ServerDeps & { rules: RulesApi } }> = async (app, { deps }) => {
  const rules = deps.rules;

  app.get('/v1/rules', { schema: getRulesSchema }, async (req) => {
    const q = req.query as { version?: number };
    const tenant = tenantOf(req, deps);
    return q.version === undefined ? rules.current(tenant) : rules.version(tenant, q.version);
  });

  app.get('/v1/rules/versions', { schema: listVersionsSchema }, async (req) => ({
    versions: (await rules.versions(tenantOf(req, deps))).map(({ version, author, at, reason }) => ({ version, author, at, reason })),
  }));

  app.post('/v1/rules', { schema: postRulesSchema }, async (req, reply) => {
    const b = req.body as { rules: unknown; zones?: unknown; reason: string; baseVersion?: number };
    const v = await rules.apply(tenantOf(req, deps), { rules: b.rules, zones: b.zones ?? [] }, { author: authorOf(req), reason: b.reason, baseVersion: b.baseVersion });
    return reply.code(201).send(v);
  });

  const analysis = deps.analysis;
  if (analysis) {
    app.post('/v1/rules/dry-run', { schema: dryRunSchema }, async (req, reply) => {
      // The replay stops when the caller goes away before the answer (its DuckDB query is interrupted, its slot freed).
      const gone = new AbortController();
      reply.raw.on('close', () => { if (!reply.raw.writableFinished) gone.abort(); });
      const b = req.body as { rules: unknown; zones?: unknown; from: string; to: string };
      const tenant = tenantOf(req, deps);
      if (!(req.headers.accept ?? '').includes('application/x-ndjson')) return rules.dryRun(analysis, tenant, b, { signal: gone.signal });
      // Progress for long periods: a line per 10,000 replayed reports, then the result (or the error: the status is
      // already sent). Invalid input is still refused with its 4xx, before anything is streamed.
      checkRuleSet({ rules: b.rules, zones: b.zones ?? [] });
      checkPeriod(new Date(b.from), new Date(b.to));
      reply.header('content-type', 'application/x-ndjson');
      return reply.send(Readable.from(progressLines((onProgress) => rules.dryRun(analysis, tenant, b, { signal: gone.signal, onProgress }).catch((err: unknown) => {
        if (!isDwError(err)) req.log.error({ err }, 'dry run failed');
        throw err;
      }))));
    });
  }

  app.put('/v1/rules/:id', { schema: putRuleSchema }, async (req) => {
    const b = req.body as { rule: unknown; zones?: unknown; reason: string; baseVersion?: number };
    return rules.putRule(tenantOf(req, deps), (req.params as { id: string }).id, b.rule, b.zones, { author: authorOf(req), reason: b.reason, baseVersion: b.baseVersion });
  });

  app.delete('/v1/rules/:id', { schema: deleteRuleSchema }, async (req) => {
    const q = req.query as { reason: string; baseVersion?: number };
    return rules.disableRule(tenantOf(req, deps), (req.params as { id: string }).id, { author: authorOf(req), reason: q.reason, baseVersion: q.baseVersion });
  });
};
