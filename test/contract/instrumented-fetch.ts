/**
 * A `fetch` for the client's `fetch` option that edits requests (the client lets no caller add headers such
 * as Prism's `Prefer`) and records every response, so tests can read what Prism answered.
 */

/** One response as it arrived; `violations` is Prism's `sl-violations` header (raw JSON), or null. */
const record = async (response: Response) => ({
  status: response.status,
  contentType: response.headers.get('content-type'),
  violations: response.headers.get('sl-violations'),
  body: await response.clone().text(),
});
export type Exchange = Awaited<ReturnType<typeof record>>;

export interface InstrumentOptions {
  readonly set?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
  /** Rewrites response number `index` before the client sees it (recorded as it arrived). */
  readonly transform?: (response: Response, index: number) => Promise<Response>;
}

export function instrumentedFetch({ set = {}, remove = [], transform }: InstrumentOptions = {}) {
  const exchanges: Exchange[] = [];
  let sent = 0;
  const fetchAndRecord = async (request: Request) => {
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(set)) headers.set(name, value);
    for (const name of remove) headers.delete(name);
    const index = sent++;
    const response = await fetch(new Request(request, { headers }));
    exchanges.push(await record(response));
    return transform ? transform(response, index) : response;
  };
  return { fetch: fetchAndRecord, exchanges, sent: () => sent };
}

/** The same response with `code: 0` in its JSON body: drives generated `data` through the session path. */
export async function withCodeZero(response: Response): Promise<Response> {
  const body = JSON.stringify({ ...((await response.json()) as object), code: 0 });
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(body, { status: response.status, headers });
}

/** The messages in Prism's `sl-violations` header. */
export const violationMessages = (header: string | null): string[] =>
  header === null ? [] : (JSON.parse(header) as { message?: unknown }[]).map((v) => String(v.message));
