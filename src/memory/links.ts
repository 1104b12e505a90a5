// Runs on both sides of a thread boundary: each group's table of the groups it links to, kept in
// its record so that every thread can tell whether the links it knows are all the links there are,
// however many threads linked the same group on their own.
import { H_LINK_TABLE, H_LINKS, LINK_WORDS, MAX_LINKS } from './layout.js';

/** A linked group's identity, the same in every thread: its tree's identity and its id. */
export type LinkId = readonly [treeHi: number, treeLo: number, group: number];

function key([hi, lo, id]: LinkId): string {
  return `${hi}:${lo}/${id}`;
}

/** The identities in `record`'s link table whose entries are completely written. */
export function linkedIds(record: Int32Array): Set<string> {
  const found = new Set<string>();
  const used = Math.min(Atomics.load(record, H_LINKS), MAX_LINKS);
  for (let i = 0; i < used; i++) {
    const at = H_LINK_TABLE + i * LINK_WORDS;
    const id = Atomics.load(record, at + 2);
    if (id !== 0) found.add(key([Atomics.load(record, at), Atomics.load(record, at + 1), id]));
  }
  return found;
}

/** The key of a link identity, as `linkedIds()` lists it. */
export function linkKey(link: LinkId): string {
  return key(link);
}

/**
 * Adds `link` to `record`'s table unless it is there already.
 * @returns false when the table is full
 */
export function recordLink(record: Int32Array, link: LinkId): boolean {
  if (linkedIds(record).has(key(link))) return true;
  const index = Atomics.add(record, H_LINKS, 1);
  if (index >= MAX_LINKS) {
    Atomics.sub(record, H_LINKS, 1);
    return false;
  }
  const at = H_LINK_TABLE + index * LINK_WORDS;
  Atomics.store(record, at, link[0]);
  Atomics.store(record, at + 1, link[1]);
  // Written last: readers skip an entry whose id is still 0. Two threads linking the same group
  // at once may both append it; readers compare sets, so a duplicate is harmless.
  Atomics.store(record, at + 2, link[2]);
  return true;
}
