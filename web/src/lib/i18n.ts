/**
 * Strings in the officer's language: French when the browser's language is French, English otherwise, as dates and
 * numbers already follow the browser's language (src/lib/format.ts). A page keeps its strings in a catalog of its own
 * (e.g. src/pages/rules-strings.ts) whose French half is typed against the English one, so a key missing in either
 * language is a type error, not an English word in a French page.
 */
export type Lang = 'en' | 'fr';

export const LANG: Lang = typeof navigator !== 'undefined' && /^fr\b/i.test(navigator.language) ? 'fr' : 'en';

export type Params = Record<string, string | number>;

/** `t('key', { n: 3 })`: the string of `key` in `lang`, `{n}` replaced by 3 (numbers in the page's language). */
export function translator<K extends string>(catalog: Record<Lang, Record<K, string>>, lang: Lang = LANG): (key: K, params?: Params) => string {
  const strings = catalog[lang];
  const num = new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 6 });
  return (key, params) => {
    const s = strings[key];
    if (!params) return s;
    return s.replace(/\{(\w+)\}/g, (m, name: string) => {
      const v = params[name];
      return v === undefined ? m : typeof v === 'number' ? num.format(v) : v;
    });
  };
}
