import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Report } from '../../src/contract/index.ts';
import { validateReport } from '../../src/contract/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { Fleet, PARIS_BBOX, REPORT_INTERVAL_MS, RIOT_WORDS } from '../../src/simulator/index.ts';
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES } from '../../src/simulator/names.ts';

const START = Date.UTC(2024, 2, 1, 8, 0, 0);

/** Great-circle distance in metres (independent of the simulator's own flat-earth maths). */
function haversineM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}

function byDrone(reports: readonly Report[]): Map<string, Report[]> {
  const m = new Map<string, Report[]>();
  for (const r of reports) {
    const list = m.get(r.droneId) ?? [];
    list.push(r);
    m.set(r.droneId, list);
  }
  return m;
}

const hasAlert = (r: Report): boolean => r.citizens.some((c) => c.score < 20);
const riotWords = new Set(RIOT_WORDS);
const hasRiotWord = (r: Report): boolean => r.words.some((w) => riotWords.has(w));

describe('Fleet', () => {
  let fleet: Fleet;
  let reports: Report[];

  before(() => {
    fleet = new Fleet({ seed: 7, start: START });
    reports = fleet.take(20_000);
  });

  describe('determinism', () => {
    it('gives identical reports for the same seed and options', () => {
      const again = new Fleet({ seed: 7, start: START }).take(3000);
      assert.deepEqual(again, reports.slice(0, 3000));
    });

    it('gives different reports for another seed, and for another start', () => {
      const other = new Fleet({ seed: 8, start: START }).take(3000);
      assert.notDeepEqual(other, reports.slice(0, 3000));
      const differingPositions = other.filter((r, i) => r.position.lat !== reports[i]!.position.lat).length;
      assert.ok(differingPositions > 2900, `${differingPositions} of 3000 positions differ`);
      const later = new Fleet({ seed: 7, start: START + 3_600_000 }).take(10);
      assert.notDeepEqual(later.map((r) => r.timestamp), reports.slice(0, 10).map((r) => r.timestamp));
    });

    it('gives the same reports whatever the batch sizes used to take them', () => {
      const f = new Fleet({ seed: 7, start: START });
      const pieces: Report[] = [];
      for (const size of [1, 7, 500, 1, 992, 1499]) pieces.push(...f.take(size));
      pieces.push(f.next());
      assert.deepEqual(pieces, reports.slice(0, pieces.length));
    });
  });

  describe('report validity', () => {
    it('produces reports that pass the contract validator and the simulator rules', () => {
      for (const r of reports) {
        const v = validateReport(r);
        assert.ok(v.ok, `${JSON.stringify(r)}: ${v.ok ? '' : JSON.stringify(v.errors)}`);
        assert.match(r.droneId, /^drone-\d{5}$/);
        assert.equal(new Date(Date.parse(r.timestamp)).toISOString(), r.timestamp, 'toISOString form, with milliseconds');
        assert.equal(Math.round(r.position.lat * 1e6) / 1e6, r.position.lat);
        assert.equal(Math.round(r.position.lon * 1e6) / 1e6, r.position.lon);
        assert.ok(r.words.length <= 10);
        for (const w of r.words) assert.ok(w.length >= 1 && w.length <= 64, w);
        for (const c of r.citizens) {
          assert.ok(c.score >= 0 && c.score <= 100);
          assert.equal(Math.round(c.score * 10) / 10, c.score, `${c.score} has one decimal at most`);
          assert.ok(c.name.length > 0 && c.name.length <= 200);
        }
        assert.equal(new Set(r.citizens.map((c) => c.name)).size, r.citizens.length, 'a citizen appears once per report');
      }
    });

    it('keeps every position inside the bbox', () => {
      const [minLat, minLon, maxLat, maxLon] = PARIS_BBOX;
      for (const r of reports) {
        assert.ok(r.position.lat >= minLat && r.position.lat <= maxLat, `lat ${r.position.lat}`);
        assert.ok(r.position.lon >= minLon && r.position.lon <= maxLon, `lon ${r.position.lon}`);
      }
    });

    it('keeps a small custom bbox too, bouncing drones off its edges', () => {
      const bbox = [45.75, 4.83, 45.76, 4.845] as const; // ~1.1 x 1.2 km: drones hit the edges all the time
      const small = new Fleet({ drones: 50, seed: 3, start: START, bbox, population: 500 }).take(5000);
      for (const r of small) {
        assert.ok(r.position.lat >= bbox[0] && r.position.lat <= bbox[2], `lat ${r.position.lat}`);
        assert.ok(r.position.lon >= bbox[1] && r.position.lon <= bbox[3], `lon ${r.position.lon}`);
      }
    });

    it('pads drone ids to the fleet size width, with at least 5 digits, numbering from 1', () => {
      const f = new Fleet({ drones: 3, seed: 1, start: START, population: 10 });
      assert.deepEqual([0, 1, 2].map((i) => f.droneId(i)), ['drone-00001', 'drone-00002', 'drone-00003']);
      assert.deepEqual(new Set(f.take(3).map((r) => r.droneId)), new Set(['drone-00001', 'drone-00002', 'drone-00003']));
    });

    it('refuses invalid options with a ConfigError naming every field', () => {
      assert.throws(() => new Fleet({ drones: 0, bbox: [48.9, 2.2, 48.8, 2.4], population: -1 }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.details?.map((d) => d.field).sort(), ['bbox', 'drones', 'population']);
        return true;
      });
    });
  });

  describe('timing', () => {
    it('reports in timestamp order, each drone exactly one minute after its previous report', () => {
      for (let i = 1; i < reports.length; i++) assert.ok(reports[i - 1]!.timestamp <= reports[i]!.timestamp);
      const drones = byDrone(reports);
      assert.equal(drones.size, 1000);
      for (const [id, list] of drones) {
        assert.equal(list.length, 20, id);
        for (let i = 1; i < list.length; i++) {
          assert.equal(Date.parse(list[i]!.timestamp) - Date.parse(list[i - 1]!.timestamp), REPORT_INTERVAL_MS, id);
        }
      }
    });

    it('spreads the drones over the minute instead of all on the same second', () => {
      const firstMinute = reports.slice(0, 1000).map((r) => Date.parse(r.timestamp) - START);
      assert.ok(firstMinute.every((ms) => ms >= 0 && ms < REPORT_INTERVAL_MS));
      const perSecond = new Array<number>(60).fill(0);
      for (const ms of firstMinute) perSecond[Math.floor(ms / 1000)]!++;
      assert.ok(Math.max(...perSecond) < 40, `busiest second has ${Math.max(...perSecond)} of 1000 reports`);
      assert.ok(perSecond.filter((n) => n > 0).length >= 58);
    });

    it('starts at `start` even mid-minute, and counts reports in a window exactly', () => {
      const start = START + 30_500;
      const f = new Fleet({ drones: 200, seed: 2, start, population: 1000 });
      const until = start + 10 * 60_000;
      assert.equal(f.countBetween(start, until), 2000);
      const got = f.take(10_000, until);
      assert.equal(got.length, 2000);
      assert.ok(got.every((r) => Date.parse(r.timestamp) >= start && Date.parse(r.timestamp) < until));
      assert.ok(f.nextTime >= until);
    });
  });

  describe('movement', () => {
    it('moves each drone at most ~1 km between reports a minute apart, and mostly at patrol speed', () => {
      const steps: number[] = [];
      for (const list of byDrone(reports).values()) {
        for (let i = 1; i < list.length; i++) steps.push(haversineM(list[i - 1]!.position, list[i]!.position));
      }
      const max = Math.max(...steps);
      assert.ok(max <= 1005, `longest step ${max.toFixed(1)} m`);
      steps.sort((a, b) => a - b);
      const median = steps[Math.floor(steps.length / 2)]!;
      // 30-60 km/h is 500-1000 m per minute; only bounces off the edges shorten a step.
      assert.ok(median >= 500 && median <= 1000, `median step ${median.toFixed(1)} m`);
    });

    it('changes heading smoothly: consecutive legs mostly point the same way', () => {
      const turns: number[] = [];
      for (const list of byDrone(reports).values()) {
        for (let i = 2; i < list.length; i++) {
          const [a, b, c] = [list[i - 2]!.position, list[i - 1]!.position, list[i]!.position];
          const h1 = Math.atan2((b.lon - a.lon) * Math.cos((a.lat * Math.PI) / 180), b.lat - a.lat);
          const h2 = Math.atan2((c.lon - b.lon) * Math.cos((b.lat * Math.PI) / 180), c.lat - b.lat);
          let d = Math.abs(h2 - h1);
          if (d > Math.PI) d = 2 * Math.PI - d;
          turns.push(d);
        }
      }
      turns.sort((a, b) => a - b);
      const median = turns[Math.floor(turns.length / 2)]!;
      const p90 = turns[Math.floor(turns.length * 0.9)]!;
      assert.ok(median < Math.PI / 6, `median turn ${((median * 180) / Math.PI).toFixed(1)} degrees`);
      assert.ok(p90 < Math.PI / 2, `90th percentile turn ${((p90 * 180) / Math.PI).toFixed(1)} degrees`);
    });
  });

  describe('citizens and words', () => {
    it(`raises alerts (a citizen below 20) in 0.5-1% of reports`, () => {
      const rate = reports.filter(hasAlert).length / reports.length;
      assert.ok(rate >= 0.005 && rate <= 0.01, `alert rate ${(rate * 100).toFixed(3)}%`);
    });

    it('sees about 3 citizens and 0-10 words per report', () => {
      const citizens = reports.reduce((s, r) => s + r.citizens.length, 0) / reports.length;
      const words = reports.reduce((s, r) => s + r.words.length, 0) / reports.length;
      assert.ok(citizens > 2.8 && citizens < 3.2, `mean citizens ${citizens}`);
      assert.ok(words > 3 && words < 5, `mean words ${words}`);
      assert.ok(reports.some((r) => r.citizens.length === 0) && reports.some((r) => r.words.length === 0));
    });

    it('hears riot words much more often in reports that see a low-score citizen', () => {
      const alerting = reports.filter(hasAlert);
      const calm = reports.filter((r) => !hasAlert(r));
      const riotInAlerting = alerting.filter(hasRiotWord).length / alerting.length;
      const riotInCalm = calm.filter(hasRiotWord).length / calm.length;
      assert.ok(riotInAlerting > 5 * riotInCalm, `riot words in ${riotInAlerting} vs ${riotInCalm}`);
    });

    it('gives citizens unique French names and a stable score, mostly high', () => {
      const pop = fleet.population;
      assert.equal(pop.size, 50_000);
      assert.equal(new Set(pop.names).size, pop.size);
      const firsts = new Set([...FEMALE_FIRST_NAMES, ...MALE_FIRST_NAMES]);
      const lasts = new Set(SURNAMES);
      for (const name of pop.names.slice(0, 2000)) {
        const space = name.indexOf(' '); // given names have no space; some surnames do ("Le Gall")
        const first = name.slice(0, space);
        const last = name.slice(space + 1);
        assert.ok(first.split('-').every((p) => firsts.has(p)), `given name of ${name}`);
        assert.ok(lasts.has(last) || last.split('-').every((p) => lasts.has(p)), `surname of ${name}`);
      }
      const seenScore = new Map<string, number>();
      for (const r of reports) {
        for (const c of r.citizens) {
          const before = seenScore.get(c.name);
          if (before !== undefined) assert.equal(c.score, before, `${c.name} keeps one score`);
          seenScore.set(c.name, c.score);
        }
      }
      const scores = Array.from(pop.scoreTenths, (t) => t / 10).sort((a, b) => a - b);
      const median = scores[scores.length >> 1]!;
      assert.ok(median >= 70 && median <= 90, `median score ${median}`);
      const inBand = scores.filter((s) => s >= 50 && s <= 100).length / scores.length;
      assert.ok(inBand > 0.95, `${inBand} within 50-100`);
      const low = pop.countBelow(20) / pop.size;
      assert.ok(low > 0 && low < 0.01, `${low} below 20`);
    });

    it('clusters low-score citizens around hotspots', () => {
      const pop = fleet.population;
      let all = 0;
      let low = 0;
      let lowTotal = 0;
      for (let i = 0; i < pop.size; i++) {
        const hot = pop.hotCell[pop.homeCell[i]!] === 1;
        if (hot) all++;
        if (pop.scoreTenths[i]! < 200) {
          lowTotal++;
          if (hot) low++;
        }
      }
      const shareAll = all / pop.size;
      const shareLow = low / lowTotal;
      assert.ok(shareLow > 3 * shareAll, `${shareLow} of low-score citizens vs ${shareAll} of everybody live in hotspots`);
    });

    it('keeps the same citizens whatever the fleet size', () => {
      const small = new Fleet({ drones: 10, seed: 7, start: START });
      assert.deepEqual(small.population.names.slice(0, 100), fleet.population.names.slice(0, 100));
      assert.deepEqual(small.population.scoreTenths.slice(0, 100), fleet.population.scoreTenths.slice(0, 100));
    });
  });
});
