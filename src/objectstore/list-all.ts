import type { ListOptions, ObjectInfo, ObjectStore } from './types.ts';

/** Every page of a listing, concatenated (for prefixes known to be small: an hour directory, a staging batch). */
export async function listAll(store: ObjectStore, prefix: string, opts: Omit<ListOptions, 'token'> = {}): Promise<{ objects: ObjectInfo[]; prefixes: string[] }> {
  const objects: ObjectInfo[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.list(prefix, { ...opts, ...(token === undefined ? {} : { token }) });
    objects.push(...page.objects);
    prefixes.push(...page.prefixes);
    token = page.nextToken;
  } while (token !== undefined);
  return { objects, prefixes };
}
