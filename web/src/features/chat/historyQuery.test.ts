import { InfiniteQueryObserver, QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { Api, ChatMessage, Page } from '../../lib/api/client';
import { FIRST_PAGE_SIZE, historyQuery, OLDER_PAGE_SIZE } from './useChat';

/** A stored history of `total` messages as the API pages it, newest first, recording each request. */
function pagedHistory(total: number) {
  const requests: { pageSize: number; pageToken?: string }[] = [];
  const messages: ChatMessage[] = Array.from({ length: total }, (_, i) => ({
    id: `m${i}`, role: 'user', content: `message ${i}`, status: 'complete', actions: [], createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), tokenCount: null,
  })).reverse();
  const api = {
    newestMessages: async (_id: string, pageSize: number, pageToken?: string): Promise<Page<ChatMessage>> => {
      requests.push({ pageSize, pageToken });
      const start = pageToken ? Number(pageToken) : 0;
      const end = start + pageSize;
      return { items: messages.slice(start, end), nextPageToken: end < total ? String(end) : null };
    },
  } as unknown as Api;
  return { api, requests };
}

describe('historyQuery', () => {
  it('reads a small newest page first, then bigger older pages until the first message', async () => {
    const { api, requests } = pagedHistory(FIRST_PAGE_SIZE + OLDER_PAGE_SIZE + 10);
    const observer = new InfiniteQueryObserver(new QueryClient(), historyQuery(api, 'p1'));
    const unsubscribe = observer.subscribe(() => {});
    try {
      await observer.refetch();
      let result = observer.getCurrentResult();
      expect(result.data?.pages[0]?.items[0]?.id).toBe(`m${FIRST_PAGE_SIZE + OLDER_PAGE_SIZE + 9}`);
      while (result.hasNextPage) result = await observer.fetchNextPage();
      expect(requests).toEqual([
        { pageSize: FIRST_PAGE_SIZE, pageToken: undefined },
        { pageSize: OLDER_PAGE_SIZE, pageToken: String(FIRST_PAGE_SIZE) },
        { pageSize: OLDER_PAGE_SIZE, pageToken: String(FIRST_PAGE_SIZE + OLDER_PAGE_SIZE) },
      ]);
      const ids = result.data!.pages.flatMap((page) => page.items.map((m) => m.id));
      expect(new Set(ids).size).toBe(FIRST_PAGE_SIZE + OLDER_PAGE_SIZE + 10);
      expect(ids.at(-1)).toBe('m0');
    } finally {
      unsubscribe();
    }
  });
});
