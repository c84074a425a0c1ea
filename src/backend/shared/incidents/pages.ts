/**
 * An incident's members in pages of their own keys once the incident is large, so that a value in the bucket stays
 * bounded whatever the crowd (JetStream and Kafka refuse a message over max_payload / max.message.bytes, 1 MB as
 * shipped: ~4,500 members with the timeline) and an alert joining a crowd writes one page, not every member.
 *
 * A page is immutable: its key holds a fresh token, so writers racing for the same incident never overwrite each
 * other's pages; the incident's own key, written by compare-and-set after its new pages, is what commits them. Pages
 * are ranges of the members' order (by alertId): the incident lists each page's key and first alertId, and reading
 * them in that order gives the members sorted, with no sort. A page splits when it outgrows `pageMembers`.
 */
import { randomBytes } from 'node:crypto';
import type { IncidentMember } from '../../../incidents/types.ts';

export const MEMBER_PAGE_PREFIX = 'm.';

export interface PageLimits {
  /** Up to this many members, they stay inside the incident's value (one write an alert, as before pages). */
  inlineMembers: number;
  /** A page holding more than this splits; new pages are filled to half, leaving room to grow. */
  pageMembers: number;
}

/** ~13 KB inline (a member is ~200 bytes of JSON); pages of at most ~50 KB. */
export const DEFAULT_PAGE_LIMITS: PageLimits = { inlineMembers: 64, pageMembers: 256 };

/** What the incident's value lists for each page. */
export interface PageRef {
  key: string;
  /** alertId of its first member: the page holds the members from here up to the next page's first. */
  first: string;
  count: number;
  /** Wall clock of its write: a page older than an eighth of the bucket's TTL is written again with the incident. */
  at: number;
}

/** An incident's members as its pages: the refs and, by reference, each page's members. */
export interface PagedMembers {
  refs: PageRef[];
  pages: IncidentMember[][];
}

export interface Pagination {
  /** undefined: the members stay inline. */
  paged: PagedMembers | undefined;
  /** Pages to write before the incident. */
  writes: { key: string; members: IncidentMember[] }[];
  /** Keys of the previous pages the new incident no longer lists (deleted after its write). */
  superseded: string[];
}

export function memberPageKey(incidentId: string): string {
  return `${MEMBER_PAGE_PREFIX}${incidentId}.${randomBytes(6).toString('hex')}`;
}

/**
 * The pages for `members` (sorted by alertId), given the pages the incident had (`before`, undefined when inline or
 * new): a page whose range still holds exactly the same member objects is kept as it is (grouping keeps every member
 * it does not change, so a changed member is a new object), unless written before `refreshBefore`.
 */
export function paginate(incidentId: string, before: PagedMembers | undefined, members: readonly IncidentMember[], limits: PageLimits, now: number, refreshBefore: number): Pagination {
  const old = before?.refs.map((r) => r.key) ?? [];
  if (members.length <= limits.inlineMembers) return { paged: undefined, writes: [], superseded: old };
  const refs: PageRef[] = [];
  const pages: IncidentMember[][] = [];
  const writes: Pagination['writes'] = [];
  const kept = new Set<string>();
  // `fill`: members a page takes before the next starts. Half a page for an incident paged anew; a full page when a
  // range outgrew its page (it splits in two, as a B-tree's leaf).
  const add = (chunk: IncidentMember[], fill: number): void => {
    const parts = Math.ceil(chunk.length / Math.max(1, fill));
    const size = Math.ceil(chunk.length / parts);
    for (let i = 0; i < chunk.length; i += size) {
      const part = chunk.slice(i, i + size);
      const key = memberPageKey(incidentId);
      refs.push({ key, first: part[0]!.alertId, count: part.length, at: now });
      pages.push(part);
      writes.push({ key, members: part });
    }
  };
  if (!before || before.refs.length === 0) {
    add(members.slice(), Math.floor(limits.pageMembers / 2));
    return { paged: { refs, pages }, writes, superseded: old };
  }
  // Each previous page's range: from its first alertId (the first page: from the start) to the next page's first.
  let at = 0;
  for (let p = 0; p < before.refs.length; p++) {
    const next = before.refs[p + 1]?.first;
    const end = next === undefined ? members.length : upperBound(members, at, next);
    const chunk = members.slice(at, end);
    at = end;
    const ref = before.refs[p]!;
    const page = before.pages[p]!;
    if (chunk.length === 0) continue;
    if (ref.at >= refreshBefore && sameMembers(chunk, page)) {
      refs.push(ref);
      pages.push(page);
      kept.add(ref.key);
    } else {
      add(chunk, limits.pageMembers);
    }
  }
  return { paged: { refs, pages }, writes, superseded: old.filter((k) => !kept.has(k)) };
}

/** The members in page order (each page sorted, pages in range order: the whole is sorted). */
export function membersOf(paged: PagedMembers): IncidentMember[] {
  return paged.pages.length === 1 ? paged.pages[0]!.slice() : ([] as IncidentMember[]).concat(...paged.pages);
}

/** First index in [from, members.length) whose alertId is not below `first`. */
function upperBound(members: readonly IncidentMember[], from: number, first: string): number {
  let lo = from;
  let hi = members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (members[mid]!.alertId < first) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameMembers(a: readonly IncidentMember[], b: readonly IncidentMember[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
