import { promises as fsp, createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { encodeRows, MEDIA_TYPES, rangeOf, statRange, type ExportFormat } from '../../analysis/index.ts';
import { DwError } from '../../errors/index.ts';
import type { QueryCursor, TimeRange } from '../../lake/index.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { AnalysisApi, ServerDeps } from '../types.ts';
import { createSavedSchema, deleteSavedSchema, exportSchema, getSavedSchema, listSavedSchema, listStatsSchema, querySchema, replaceSavedSchema, runSavedSchema, statSchema, type FORMATS } from './schemas/analysis.ts';

type AnswerFormat = (typeof FORMATS)[number];

/** `format` when given, else the Accept header, else JSON. */
function answerFormat(req: FastifyRequest, explicit: AnswerFormat | undefined): AnswerFormat {
  if (explicit) return explicit;
  const accept = req.headers.accept ?? '';
  if (accept.includes('text/csv')) return 'csv';
  if (accept.includes('application/x-ndjson')) return 'ndjson';
  if (accept.includes('application/vnd.apache.parquet')) return 'parquet';
  return 'json';
}

/** An AbortSignal that fires when the client goes away before the answer is complete: the query is interrupted. */
function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** `SELECT * FROM (<sql>) LIMIT n`, for answers DuckDB writes itself (Parquet); `sql` has been validated on its own. */
function limited(sql: string, limit: number): string {
  return `SELECT * FROM (\n${sql.replace(/[\s;]+$/, '')}\n) LIMIT ${Math.floor(limit)}`;
}

interface Answer {
  /** Whose rows: the caller's tenant (tenantOf), never one named in the request. */
  tenant: string;
  sql: string;
  /** Hour partitions to read (query/export from/to, a statistic's from/to). */
  range: TimeRange | undefined;
  format: AnswerFormat;
  /** Row limit (query answers) or none (exports). */
  limit: number | undefined;
  timeoutMs: number | undefined;
  /** Sent as an attachment with this file name (without extension). */
  download?: string | undefined;
}

/**
 * Sends a query result: JSON (an envelope with columns, rows, rowCount, truncated), CSV and JSON lines are encoded
 * from the cursor chunk by chunk with backpressure; Parquet is written by DuckDB to a private temporary file, sent,
 * then deleted. Errors before the first byte are ordinary JSON errors; an error after it cuts the connection, so a
 * partial answer can never pass for a complete one.
 */
async function sendAnswer(analysis: AnalysisApi, req: FastifyRequest, reply: FastifyReply, a: Answer, run: (opts: { limit?: number; timeoutMs?: number; signal: AbortSignal }) => Promise<QueryCursor>): Promise<FastifyReply> {
  const signal = clientGone(reply);
  const ext = a.format === 'ndjson' ? 'ndjson' : a.format;
  if (a.download) reply.header('content-disposition', `attachment; filename="${a.download}.${ext}"`);
  if (a.limit !== undefined) reply.header('x-dronewatch-row-limit', String(Math.min(a.limit, analysis.limits.maxRows)));
  if (a.format === 'parquet') {
    await analysis.validate(a.tenant, a.sql, a.range);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dronewatch-answer-'));
    const file = path.join(dir, 'result.parquet');
    try {
      const sql = a.limit !== undefined ? limited(a.sql, Math.min(a.limit, analysis.limits.maxRows)) : a.sql;
      // A query answer (with a row limit) runs under the query time limit, as in the other formats; exportToFile on its
      // own would apply the export limit (none by default).
      const timeoutMs = a.limit !== undefined ? Math.min(a.timeoutMs ?? analysis.limits.timeoutMs, analysis.limits.timeoutMs) : a.timeoutMs;
      const { rows } = await analysis.exportToFile(a.tenant, sql, file, 'parquet', { signal, range: a.range, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      const body = createReadStream(file);
      body.on('close', () => void fsp.rm(dir, { recursive: true, force: true }));
      return reply.header('content-type', MEDIA_TYPES.parquet).header('x-dronewatch-row-count', String(rows)).send(body);
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const startedAt = performance.now();
  const cursor = await run({ ...(a.limit !== undefined ? { limit: a.limit } : {}), ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}), signal });
  // The cursor holds a connection until it is read to the end; a client gone before its answer starts never reads it.
  signal.addEventListener('abort', () => cursor.cancel(), { once: true });
  if (signal.aborted) cursor.cancel();
  const encoding = a.format === 'json' ? (a.download ? 'json' : 'envelope') : a.format;
  reply.header('content-type', MEDIA_TYPES[encoding]);
  return reply.send(Readable.from(encodeRows(cursor, encoding, { startedAt })));
}

export const analysisRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const analysis = deps.analysis;
  if (!analysis) return;

  app.get('/v1/stats', { schema: listStatsSchema }, async () => ({ stats: analysis.listStats() }));

  app.get('/v1/stats/:name', { schema: statSchema }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const { format, download, ...params } = req.query as Record<string, string | undefined> & { format?: AnswerFormat; download?: boolean };
    const tenant = tenantOf(req, deps);
    const sql = analysis.statSql(name, params);
    const range = statRange(params);
    return sendAnswer(analysis, req, reply, { tenant, sql, range, format: answerFormat(req, format), limit: analysis.limits.maxRows, timeoutMs: undefined, download: download ? name : undefined },
      (o) => analysis.stat(tenant, name, params, o));
  });

  app.post('/v1/query', { schema: querySchema }, async (req, reply) => {
    const b = req.body as { sql: string; format?: AnswerFormat; limit?: number; timeoutMs?: number; from?: string; to?: string };
    const tenant = tenantOf(req, deps);
    const range = rangeOf(b.from, b.to);
    return sendAnswer(analysis, req, reply, { tenant, sql: b.sql, range, format: answerFormat(req, b.format), limit: b.limit ?? analysis.limits.maxRows, timeoutMs: b.timeoutMs },
      (o) => analysis.query(tenant, b.sql, { ...o, range }));
  });

  app.post('/v1/export', { schema: exportSchema }, async (req, reply) => {
    const b = req.body as { sql: string; format: ExportFormat; filename?: string; from?: string; to?: string };
    return sendExport(analysis, req, reply, { tenant: tenantOf(req, deps), sql: b.sql, range: rangeOf(b.from, b.to) }, b.format, b.filename ?? 'export');
  });

  const saved = analysis.saved;
  if (!saved) return;

  app.get('/v1/queries', { schema: listSavedSchema }, async (req) => ({ queries: saved.list(tenantOf(req, deps)) }));

  app.post('/v1/queries', { schema: createSavedSchema }, async (req, reply) => {
    const b = req.body as { name: string; sql: string; description?: string };
    const tenant = tenantOf(req, deps);
    await analysis.validate(tenant, b.sql);
    return reply.status(201).send(await saved.save(tenant, b));
  });

  app.put('/v1/queries/:name', { schema: replaceSavedSchema }, async (req) => {
    const { name } = req.params as { name: string };
    const b = req.body as { name?: string; sql: string; description?: string };
    if (b.name !== undefined && b.name !== name) throw new DwError('DW_REQUEST_INVALID', `name: "${b.name}" differs from the URL's "${name}"`, { status: 400, details: [{ field: 'name', reason: 'must match the URL' }] });
    const tenant = tenantOf(req, deps);
    await analysis.validate(tenant, b.sql);
    return await saved.save(tenant, { name, sql: b.sql, ...(b.description !== undefined ? { description: b.description } : {}) }, { replace: true });
  });

  app.get('/v1/queries/:name', { schema: getSavedSchema }, async (req) => saved.get(tenantOf(req, deps), (req.params as { name: string }).name));

  app.delete('/v1/queries/:name', { schema: deleteSavedSchema }, async (req, reply) => {
    await saved.delete(tenantOf(req, deps), (req.params as { name: string }).name);
    return reply.status(204).send();
  });

  app.get('/v1/queries/:name/result', { schema: runSavedSchema }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const q = req.query as { format?: AnswerFormat; limit?: number; download?: boolean; from?: string; to?: string };
    const tenant = tenantOf(req, deps);
    const { sql } = saved.get(tenant, name);
    const range = rangeOf(q.from, q.to);
    const format = answerFormat(req, q.format);
    if (q.download) return sendExport(analysis, req, reply, { tenant, sql, range }, format, name);
    return sendAnswer(analysis, req, reply, { tenant, sql, range, format, limit: q.limit ?? analysis.limits.maxRows, timeoutMs: undefined }, (o) => analysis.query(tenant, sql, { ...o, range }));
  });
};

/** A whole result as a file download: no row limit, the export time limit. */
async function sendExport(analysis: AnalysisApi, req: FastifyRequest, reply: FastifyReply, q: { tenant: string; sql: string; range: TimeRange | undefined }, format: ExportFormat, filename: string): Promise<FastifyReply> {
  const timeoutMs = analysis.limits.exportTimeoutMs;
  return sendAnswer(analysis, req, reply, { ...q, format, limit: undefined, timeoutMs: timeoutMs > 0 ? timeoutMs : undefined, download: filename },
    (o) => analysis.exportCursor(q.tenant, q.sql, { ...o, range: q.range }));
}
