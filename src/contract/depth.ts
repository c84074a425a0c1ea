/**
 * Nesting depth of JSON text, measured on the text itself before anything parses it. A report nests three levels
 * (report, `citizens`, a citizen); text nested thousands of levels deep is not a report, and every recursive step
 * after parsing (JSON.stringify of an array element, a logger, a consumer) would overflow the stack on it. The
 * scan is a loop over the characters with a counter: no recursion and no allocation per level, whatever the input.
 *
 * The scan does not validate JSON (JSON.parse does that next): it only follows strings, brackets, `:` and `,`
 * well enough to count levels and to name where the limit is crossed.
 */

/** One item of the text nested deeper than the limit. */
export interface TooDeepItem {
  /** Position of the item: its index in a top-level array (`items` mode), else 0. */
  index: number;
  /** The item's span in the text (`text.slice(start, end)`): its exact characters, for the dead letter. */
  start: number;
  end: number;
  /** Path, from the item, of the first array or object that opens one level too many: `a.b[0]`, `[0][0]`. */
  field: string;
}

/** Longest object key shown as is in a path; longer ones are cut (the path is for a human, and bounded). */
const KEY_SHOWN = 64;

const enum C {
  Quote = 0x22, Backslash = 0x5c, Comma = 0x2c, Colon = 0x3a,
  OpenBrace = 0x7b, CloseBrace = 0x7d, OpenBracket = 0x5b, CloseBracket = 0x5d,
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Position of the quote closing the string whose first character is at `start` (text.length if none). */
function stringEnd(text: string, start: number): number {
  // indexOf runs natively: strings are most of a report's characters.
  for (let j = start; ; j++) {
    j = text.indexOf('"', j);
    if (j < 0) return text.length;
    let b = j - 1;
    while (b >= start && text.charCodeAt(b) === C.Backslash) b--;
    if ((j - 1 - b) % 2 === 0) return j; // an even number of backslashes before it: not escaped
  }
}

function keyText(text: string, start: number, end: number): string {
  const raw = text.slice(start, Math.min(end, start + KEY_SHOWN));
  try {
    const key = JSON.parse(`"${raw}"`) as string;
    return end - start > KEY_SHOWN ? `${key}…` : key;
  } catch {
    return `${raw}…`; // cut in the middle of an escape
  }
}

/**
 * The items of `text` that nest arrays and objects more than `maxDepth` levels deep, in order. `items: true` reads
 * the text as a top-level array of items (a JSON array body): each element is an item and depth counts from it, so
 * the array around them does not count. Otherwise the whole text is one item (index 0).
 */
export function itemsTooDeep(text: string, maxDepth: number, items: boolean): TooDeepItem[] {
  const out: TooDeepItem[] = [];
  /** Level of the item's own container: the top-level array is level 1 in `items` mode. */
  const base = items ? 1 : 0;
  // Per open container up to the limit (deeper ones are only counted): array or object, the index of the current
  // element (arrays), the span of the current key (objects). Levels beyond maxDepth are not needed for a path.
  const frames = maxDepth + base + 1;
  const isObject = new Uint8Array(frames + 1);
  const index = new Float64Array(frames + 1);
  const keyStart = new Float64Array(frames + 1);
  const keyEnd = new Float64Array(frames + 1);
  const expectKey = new Uint8Array(frames + 1);
  let depth = 0;
  let item = 0;
  let itemStart = -1;
  /** The current item is too deep (its entry is `out`'s last); it ends where its level closes. */
  let flagged = false;
  const n = text.length;

  const pathTo = (level: number): string => {
    let p = '';
    for (let l = base + 1; l < level; l++) {
      if (isObject[l]) {
        const k = keyText(text, keyStart[l]!, keyEnd[l]!);
        p += p === '' ? k : `.${k}`;
      } else {
        p += `[${index[l]!}]`;
      }
    }
    return p;
  };
  const endItem = (end: number): void => {
    if (flagged) {
      let e = end;
      while (e > itemStart && isWhitespace(text.charCodeAt(e - 1))) e--;
      out[out.length - 1]!.end = e;
    }
    flagged = false;
    itemStart = -1;
  };

  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isWhitespace(c)) continue;
    if (itemStart < 0 && depth === base) itemStart = i;
    if (c === C.Quote) {
      const start = i + 1;
      i = stringEnd(text, start);
      if (depth <= frames && isObject[depth] && expectKey[depth]) {
        keyStart[depth] = start;
        keyEnd[depth] = i;
        expectKey[depth] = 0;
      }
    } else if (c === C.OpenBrace || c === C.OpenBracket) {
      depth++;
      if (depth <= frames) {
        isObject[depth] = c === C.OpenBrace ? 1 : 0;
        index[depth] = 0;
        expectKey[depth] = 1;
      }
      if (depth - base > maxDepth && !flagged) {
        flagged = true;
        out.push({ index: items ? item : 0, start: itemStart, end: n, field: pathTo(depth) });
      }
    } else if (c === C.CloseBrace || c === C.CloseBracket) {
      if (items && depth === 1) endItem(i);
      depth--;
      if (!items && depth === 0) endItem(i + 1);
    } else if (c === C.Comma) {
      if (items && depth === 1) {
        endItem(i);
        item++;
      } else if (depth <= frames) {
        if (isObject[depth]) expectKey[depth] = 1;
        else index[depth] = index[depth]! + 1;
      }
    }
  }
  if (flagged) endItem(n);
  return out;
}
