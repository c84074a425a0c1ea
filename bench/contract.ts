/**
 * Throughput of the report validator against ajv's compiled validator of the same schema, on the same realistic
 * reports (3 citizens, 6 words), in the same run; JSON.parse alone is the yardstick of what parsing costs anyway.
 * Run: node --import tsx bench/contract.ts [--reports 200000]
 */
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parseReport, reportSchemaV1, validateReport, type Report } from '../src/contract/index.ts';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const FIRST = ['Jeanne', 'Ali', 'Marie', 'Chen', 'Lucas', 'Fatou', 'Hugo', 'Inès', 'Noah', 'Zoé'];
const LAST = ['Dupont', 'Benali', 'Martin', 'Wei', 'Bernard', 'Diallo', 'Petit', 'Moreau', 'Garcia', 'Lefèvre'];
const WORDS = ['bonjour', 'manif', 'police', 'vite', 'là-bas', 'attention', 'rendez-vous', 'métro', 'ce soir', 'ok', 'drone', 'cours'];

function makeReports(n: number, base: number): Report[] {
  let seed = 42;
  const rnd = (k: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % k;
  };
  const out: Report[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      droneId: `paris-${String(i % 5000).padStart(5, '0')}`,
      timestamp: new Date(base - rnd(3_600_000)).toISOString(),
      position: { lat: 48.815 + rnd(87_000) / 1e6, lon: 2.225 + rnd(245_000) / 1e6 },
      citizens: [0, 1, 2].map(() => ({ name: `${FIRST[rnd(10)]} ${LAST[rnd(10)]}`, score: rnd(10_001) / 100 })),
      words: [0, 1, 2, 3, 4, 5].map(() => WORDS[rnd(WORDS.length)]!),
    });
  }
  return out;
}

/** Best of `rounds` timed passes over all items, in operations per second. */
function opsPerSec<T>(items: readonly T[], fn: (item: T) => unknown, rounds = 3): number {
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < items.length; i++) if (fn(items[i]!)) sink++;
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
  }
  if (sink < 0) console.log(sink); // keeps the results observable so the work is not optimised away
  return Math.round((items.length * 1e9) / best);
}

export async function benchContract(opts: { reports: number }): Promise<Record<string, number>> {
  const now = Date.now();
  const reports = makeReports(opts.reports, now);
  const texts = reports.map((r) => JSON.stringify(r));
  const parsed = texts.map((t) => JSON.parse(t) as unknown);
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  const ajvValidate = ajv.compile(reportSchemaV1);
  // ajv's default stops at the first error; validateReport always collects all, so allErrors is the like-for-like
  // baseline. Both are measured (on valid reports the difference is small).
  const ajvFirst = new Ajv2020({ strict: true });
  addFormats(ajvFirst);
  const ajvFirstValidate = ajvFirst.compile(reportSchemaV1);
  const vopts = { now };

  // Both validators must accept every report, or the comparison means nothing.
  for (const p of parsed) {
    if (!validateReport(p, vopts).ok || !ajvValidate(p)) throw new Error('benchmark report rejected');
  }

  const jsonParse = opsPerSec(texts, (t) => JSON.parse(t));
  const validate = opsPerSec(parsed, (p) => validateReport(p, vopts).ok);
  const ajvOps = opsPerSec(parsed, (p) => ajvValidate(p));
  const ajvFirstOps = opsPerSec(parsed, (p) => ajvFirstValidate(p));
  const parseAndValidate = opsPerSec(texts, (t) => parseReport(t, vopts).ts);
  const avgBytes = Math.round(texts.reduce((s, t) => s + Buffer.byteLength(t), 0) / texts.length);
  return {
    reports: opts.reports,
    avgReportBytes: avgBytes,
    jsonParsePerSec: jsonParse,
    validateReportPerSec: validate,
    ajvValidatePerSec: ajvOps,
    ajvValidateFirstErrorPerSec: ajvFirstOps,
    validateVsAjv: Math.round((validate / ajvOps) * 100) / 100,
    parseReportPerSec: parseAndValidate,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--reports');
  const reports = i > 0 ? Number(process.argv[i + 1]) : 200_000;
  const r = await benchContract({ reports });
  console.log(`contract benchmark, ${r.reports} reports of ~${r.avgReportBytes} bytes (3 citizens, 6 words)`);
  console.log(`  JSON.parse alone         ${r.jsonParsePerSec!.toLocaleString('en')} /s`);
  console.log(`  validateReport           ${r.validateReportPerSec!.toLocaleString('en')} /s`);
  console.log(`  ajv compiled validator   ${r.ajvValidatePerSec!.toLocaleString('en')} /s   (allErrors; validateReport / ajv = ${r.validateVsAjv}x)`);
  console.log(`  ajv, first error only    ${r.ajvValidateFirstErrorPerSec!.toLocaleString('en')} /s`);
  console.log(`  parseReport (parse+validate from string) ${r.parseReportPerSec!.toLocaleString('en')} /s`);
}
