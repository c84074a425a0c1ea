/** The analysis HTTP API's test fixture: a two-day lake, an AnalysisService on it, a server; shared helpers. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { AnalysisService } from '../../src/analysis/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { localLakeFiles } from '../../src/lake/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { analysisConfig, archiveReports } from '../analysis/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { openSavedQueryStore } from '../../src/backend/index.ts';

export const ENDLESS = 'SELECT sum(range) FROM range(100000000000)';
export const MAX_ROWS = 100;

export interface Envelope {
  columns: string[];
  columnTypes: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  elapsedMs: number;
}

export interface ErrorBody {
  code: string;
  message: string;
  errors?: { field: string; reason: string }[];
}

export async function eventually(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `cond` has held for `forMs` in a row. */
export async function steadily(cond: () => boolean, what: string, forMs: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  let since: number | undefined;
  for (;;) {
    if (!cond()) since = undefined;
    else if (since === undefined) since = Date.now();
    else if (Date.now() - since >= forMs) return;
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An error answer: status, code, a message without a stack trace. */
export function assertError(res: LightMyRequestResponse, status: number, code: string, label: string): ErrorBody {
  assert.equal(res.statusCode, status, `${label}: status (body ${res.body})`);
  const body = res.json() as ErrorBody;
  assert.equal(body.code, code, `${label}: code (message ${body.message})`);
  assert.ok(typeof body.message === 'string' && body.message.length > 5, `${label}: a message`);
  assert.ok(!/\n\s+at /.test(res.body) && !/node_modules|\.ts:\d+/.test(res.body), `${label}: no stack trace, got ${res.body}`);
  return body;
}


export interface AnalysisApiFixture {
  tmpDir: string;
  /** The lake's root directory. */
  root: string;
  reports: AcceptedReport[];
  droneRows: (string | number)[][];
  PER_DRONE: string;
  readonly svc: AnalysisService;
  readonly app: FastifyInstance;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  query(payload: Record<string, unknown>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** Registers the fixture's before/after hooks in the calling describe and returns it. */
export function analysisApiFixture(prefix: string): AnalysisApiFixture {
  const tmp = tempDir(prefix);
  const root = path.join(tmp.dir, 'lake');
  // 7 drones, one report a minute each from 23:50: two days, ~70 reports on the first.
  const reports = new SampleFleet({ drones: 7, seed: 3, citizens: 200, start: Date.UTC(2025, 0, 15, 23, 50), intervalMs: 60_000 }).reports(700);
  const perDrone = new Map<string, number>();
  for (const r of reports) perDrone.set(r.droneId, (perDrone.get(r.droneId) ?? 0) + 1);
  const droneRows = [...perDrone].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, n]) => [d, n]);
  const PER_DRONE = 'SELECT drone_id, count(*) AS n FROM reports GROUP BY drone_id ORDER BY drone_id';

  let svc: AnalysisService;
  let app: FastifyInstance;
  const inject = (opts: InjectOptions): Promise<LightMyRequestResponse> => app.inject(opts);
  const query = (payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    inject({ method: 'POST', url: '/v1/query', payload, headers });

  before(async () => {
    await archiveReports(root, reports);
    svc = new AnalysisService({
      source: localLakeFiles(root),
      config: analysisConfig({ maxRows: MAX_ROWS }),
      saved: openSavedQueryStore(path.join(tmp.dir, 'data')),
    });
    app = await buildServer({ analysis: svc });
  });
  after(async () => {
    await app?.close();
    await svc?.close();
    svc?.saved?.close();
    tmp.cleanup();
  });

  return {
    tmpDir: tmp.dir, root, reports, droneRows, PER_DRONE, inject, query,
    get svc() { return svc; },
    get app() { return app; },
  };
}
