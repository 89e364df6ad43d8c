/**
 * A stand-in for the person at the browser, over plain HTTP: opens the sandbox's consent page, presses
 * Approve or Deny, and (on approval) submits the callback form the final page carries, exactly as a
 * browser's form submission would (POST, `application/x-www-form-urlencoded`, with the page's `Origin`).
 * The demo, the tests and the benchmark use it; the real-browser test checks that a browser really does it.
 */

/** One `<form>` of a page: its method, absolute action, and the fields it would submit. */
export interface PageForm {
  readonly method: string;
  readonly action: string;
  readonly fields: readonly (readonly [string, string])[];
}

/** What the person did and saw. */
export interface Visit {
  /** The answer to pressing the button (the page the browser then shows). */
  readonly decisionStatus: number;
  /** On approval with a callback: the callback form that page submits by itself. */
  readonly callbackForm: PageForm | undefined;
  /** The HTTP status of submitting it; undefined when there was no callback form (or `submit: false`). */
  readonly callbackStatus: number | undefined;
}

export interface VisitOptions {
  /** Submit the callback form as the browser's script would. @default true */
  readonly submit?: boolean;
  /** Called after the decision, before the callback is submitted (the benchmark times from here). */
  readonly onDecided?: () => void;
}

const decode = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|amp|quot|lt|gt|apos);/gi, (_, entity: string) => {
    const e = entity.toLowerCase();
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { amp: '&', quot: '"', lt: '<', gt: '>', apos: "'" }[e] ?? '';
  });

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of tag.matchAll(/([a-zA-Z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    found.set((m[1] ?? '').toLowerCase(), decode(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return found;
}

/** The forms of an HTML page, with `action` resolved against the page's URL (enough for the sandbox's pages). */
export function parseForms(html: string, pageUrl: string): PageForm[] {
  const forms: PageForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1] ?? '');
    const fields: [string, string][] = [];
    for (const input of (m[2] ?? '').matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const a = attributes(input[2] ?? '');
      const name = a.get('name');
      const type = (a.get('type') ?? '').toLowerCase();
      // Buttons are submitted only when pressed; `button` fields are added by `press()`.
      if (name === undefined || input[1]?.toLowerCase() === 'button' || type === 'submit') continue;
      if ((type === 'checkbox' || type === 'radio') && !a.has('checked')) continue;
      fields.push([name, a.get('value') ?? '']);
    }
    forms.push({
      method: (attrs.get('method') ?? 'get').toLowerCase(),
      action: new URL(attrs.get('action') ?? pageUrl, pageUrl).href,
      fields,
    });
  }
  return forms;
}

async function submit(form: PageForm, fields: readonly (readonly [string, string])[], origin: string) {
  return fetch(form.action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
    body: new URLSearchParams(fields.map(([k, v]): [string, string] => [k, v])).toString(),
    redirect: 'manual',
  });
}

/**
 * Opens `consentUrl`, presses the button whose value is `decision`, and on approval submits the callback
 * form of the page that comes back. Throws when a page does not have what a person would need.
 */
export async function visitConsentPage(
  consentUrl: string,
  decision: 'approve' | 'deny',
  options: VisitOptions = {},
): Promise<Visit> {
  const page = await fetch(consentUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the consent page answered HTTP ${page.status}`);
  const { origin } = new URL(consentUrl);
  const button = new RegExp(`<button\\b[^>]*\\bvalue="${decision}"`, 'i');
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((m) => m[0]);
  const index = forms.findIndex((f) => button.test(f));
  const form = parseForms(html, consentUrl)[index];
  if (!form) throw new Error(`the consent page has no ${decision} button`);
  const name = /\bname="([^"]*)"/.exec(forms[index]?.match(button)?.[0] ?? '')?.[1];
  const decided = await submit(form, name ? [...form.fields, [name, decision]] : form.fields, origin);
  const answer = await decided.text();
  options.onDecided?.();
  const callbackForm = parseForms(answer, form.action).find((f) => f.method === 'post');
  if (!callbackForm || options.submit === false) {
    return { decisionStatus: decided.status, callbackForm, callbackStatus: undefined };
  }
  const posted = await submit(callbackForm, callbackForm.fields, new URL(form.action).origin);
  await posted.arrayBuffer();
  return { decisionStatus: decided.status, callbackForm, callbackStatus: posted.status };
}
