/**
 * A `fetch` for the client's injectable `fetch` option that edits requests (the client lets no caller add
 * headers such as Prism's `Prefer`) and records every response, so tests can count requests and read what
 * Prism answered without touching the client.
 */

/** What one request got back. */
export interface Exchange {
  readonly url: string;
  readonly status: number;
  readonly contentType: string | null;
  /** Prism's `sl-violations` header, raw JSON, or null when absent. */
  readonly violations: string | null;
  readonly body: string;
}

export interface InstrumentOptions {
  /** Headers to set on every request. */
  readonly set?: Readonly<Record<string, string>>;
  /** Headers to remove from every request. */
  readonly remove?: readonly string[];
  /** Rewrites a response before the client sees it (recorded as it arrived). `index` counts from 0. */
  readonly transform?: (response: Response, index: number) => Promise<Response>;
}

export interface InstrumentedFetch {
  readonly fetch: (request: Request) => Promise<Response>;
  /** Every response, in arrival order (live). */
  readonly exchanges: Exchange[];
  /** Requests sent, including any that got no response. */
  readonly sent: () => number;
}

export function instrumentedFetch(options: InstrumentOptions = {}): InstrumentedFetch {
  const exchanges: Exchange[] = [];
  let sent = 0;
  return {
    exchanges,
    sent: () => sent,
    async fetch(request) {
      const headers = new Headers(request.headers);
      for (const [name, value] of Object.entries(options.set ?? {})) headers.set(name, value);
      for (const name of options.remove ?? []) headers.delete(name);
      const index = sent++;
      const response = await fetch(new Request(request, { headers }));
      const body = await response.clone().text();
      exchanges.push({
        url: request.url,
        status: response.status,
        contentType: response.headers.get('content-type'),
        violations: response.headers.get('sl-violations'),
        body,
      });
      return options.transform ? options.transform(response, index) : response;
    },
  };
}

/** The same response with `code` set to 0 in its JSON body: drives generated `data` through the session path. */
export async function withCodeZero(response: Response): Promise<Response> {
  const body = (await response.json()) as Record<string, unknown>;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify({ ...body, code: 0 }), { status: response.status, headers });
}

/** Parses Prism's `sl-violations` header into its messages. */
export function violationMessages(header: string | null): string[] {
  if (header === null) return [];
  const list = JSON.parse(header) as { message?: unknown }[];
  return list.map((v) => String(v.message));
}
