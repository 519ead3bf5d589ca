/**
 * A list read page by page with keyset cursors (search results, similar garments): the first page
 * whenever the list's key changes (the previous request cancelled), the next page on demand and
 * appended, and the previous list kept while a new one loads so the grid can dim it rather than
 * flash empty.
 */
import { useEffect, useRef, useState } from 'react';

export interface Page<Item> {
  garments: Item[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface LoadedList<Item, First extends Page<Item>> extends Page<Item> {
  /** The canonical text of what is listed: a new key starts a new list. */
  key: string;
  /** The first page as fetched, with whatever else it carries (a total, the garment asked about). */
  first: First;
}

export interface PagedList<Item, First extends Page<Item>> {
  /** The list of the current key; null while its first page loads. */
  current: LoadedList<Item, First> | null;
  /** What to show: the current list, or the previous one while the current loads. */
  shown: LoadedList<Item, First> | null;
  loadingMore: boolean;
  error: Error | null;
  loadMore: () => void;
}

/** `fetchPage` reads the list `key` names; `after` is null for the first page. */
export function usePagedList<First extends Page<unknown>>(
  key: string,
  fetchPage: (after: string | null, signal: AbortSignal) => Promise<First>,
): PagedList<First['garments'][number], First> {
  const [loaded, setLoaded] = useState<LoadedList<First['garments'][number], First> | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const moreController = useRef<AbortController | null>(null);
  // The fetcher of the latest render: it reads the state the current key stands for.
  const fetchLatest = useRef(fetchPage);
  fetchLatest.current = fetchPage;

  useEffect(() => {
    const controller = new AbortController();
    moreController.current?.abort();
    setError(null);
    setLoadingMore(false);
    fetchLatest.current(null, controller.signal).then(
      (page) => setLoaded({ key, first: page, garments: page.garments, endCursor: page.endCursor, hasNextPage: page.hasNextPage }),
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [key]);

  const current = loaded?.key === key ? loaded : null;

  const loadMore = () => {
    if (!current?.hasNextPage || loadingMore) return;
    const controller = new AbortController();
    moreController.current = controller;
    setLoadingMore(true);
    fetchLatest.current(current.endCursor, controller.signal).then(
      (page) => {
        setLoaded((previous) =>
          previous && previous.key === key
            ? { ...previous, garments: [...previous.garments, ...page.garments], endCursor: page.endCursor, hasNextPage: page.hasNextPage }
            : previous,
        );
        setLoadingMore(false);
      },
      (failure: Error) => {
        if (controller.signal.aborted) return;
        setLoadingMore(false);
        setError(failure);
      },
    );
  };

  return { current, shown: current ?? loaded, loadingMore, error, loadMore };
}
