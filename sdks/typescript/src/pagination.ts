/** Every list is an async iterator over all its objects, fetched page by page with the API's cursor. */
import type { Query, Transport } from "./http.js";
import type { Page } from "./types.js";

export class ListIterator<T extends { id?: string | number }> implements AsyncIterable<T> {
  constructor(
    private readonly transport: Transport,
    private readonly path: string,
    private readonly query: Query,
  ) {}

  /** One page, as the API answers it. */
  firstPage(): Promise<Page<T>> {
    return this.transport.request<Page<T>>("GET", this.path, { query: this.query });
  }

  /** Every page in turn, following `startingAfter` (or `endingBefore` when paging backwards). */
  async *pages(): AsyncGenerator<Page<T>> {
    const query: Query = { ...this.query };
    const backwards = query.endingBefore !== undefined && query.endingBefore !== null;
    for (;;) {
      const page = await this.transport.request<Page<T>>("GET", this.path, { query });
      yield page;
      const data = page.data ?? [];
      if (!page.hasMore || data.length === 0) return;
      delete query.offset;
      if (backwards) query.endingBefore = String(data[0].id);
      else query.startingAfter = String(data[data.length - 1].id);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.data ?? [];
  }

  /** Up to `max` objects (all of them without it) in an array. */
  async toArray(max?: number): Promise<T[]> {
    const items: T[] = [];
    if (max !== undefined && max <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (max !== undefined && items.length >= max) break;
    }
    return items;
  }
}
