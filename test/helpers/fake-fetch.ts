/** A `fetch` to inject into the client: answers each request from a function and records the requests. */
export type Answer = Response | { readonly json: unknown } | { readonly text: string };

export interface FakeFetch {
  readonly fetch: (request: Request) => Promise<Response>;
  readonly requests: Request[];
}

export function fakeFetch(answer: (request: Request, index: number) => Answer | Promise<Answer>): FakeFetch {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    const given = await answer(request, requests.length - 1);
    if (given instanceof Response) return given;
    const text = 'json' in given ? JSON.stringify(given.json) : given.text;
    return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, requests };
}

/** A successful answer's body around `data`. */
export function ok(data: unknown, extra: Readonly<Record<string, unknown>> = {}): { json: unknown } {
  return { json: { code: 0, message: 'ok', data, ...extra } };
}
