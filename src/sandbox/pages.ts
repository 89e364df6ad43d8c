/**
 * The sandbox's HTML: the consent page standing in for a platform's, and the pages that end an answer.
 * Self-contained (no external assets); every value is escaped. The only script is the ending page's one
 * nonce'd line, which submits the callback form or redirects, as the real server's callback page does.
 */
import type { AuthSession } from '../types.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .25rem}form{display:inline-block;margin:.5rem .5rem 0 0}
label{display:block}button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #888}
button.primary{background:#1a73e8;color:#fff}.muted{color:#666;font-size:.9rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · AiToEarn sandbox</title><style>${STYLE}</style></head>
<body>
${body}
<p class="muted">AiToEarn sandbox: a local stand-in for the platform's authorization page. Nothing here talks to a real platform.</p>
</body></html>
`;
}

const button = (action: string, label: string, primary = false) =>
  `<button type="submit"${primary ? ' class="primary"' : ''} name="action" value="${action}">${label}</button>`;

/** What the consent page shows of a pending session. */
export interface ConsentView {
  readonly sessionId: string;
  readonly platform: string;
  readonly expiresAt: string;
  readonly selecting: boolean;
  readonly accounts: readonly { readonly platformUid: string; readonly displayName: string }[];
}

/** Approve and Deny, or account checkboxes and Deny when the session asks for a choice. */
export function consentPage(view: ConsentView): string {
  const platform = escapeHtml(view.platform);
  const action = (name: string) =>
    `<form method="post" action="${escapeHtml(`/sandbox/sessions/${encodeURIComponent(view.sessionId)}/${name}`)}">`;
  const what = view.selecting ? 'the accounts you choose' : `${view.accounts.length} ${platform} account(s)`;
  const intro = `<h1>Connect your ${platform} account</h1>
<p>An application asks to connect ${what} to AiToEarn.</p>
<p class="muted">Session <code>${escapeHtml(view.sessionId)}</code>, expires at ${escapeHtml(view.expiresAt)}.</p>`;
  const choice = view.selecting
    ? `${action('select')}
${view.accounts.map((a) => `<label><input type="checkbox" name="platformUids" value="${escapeHtml(a.platformUid)}"> ${escapeHtml(a.displayName)}</label>`).join('\n')}
${button('select', 'Connect selected accounts', true)}</form>`
    : `<ul>${view.accounts.map((a) => `<li>${escapeHtml(a.displayName)}</li>`).join('')}</ul>
${action('approve')}${button('approve', 'Approve', true)}</form>`;
  return page(
    `Connect ${view.platform}`,
    `${intro}\n${choice}\n${action('deny')}${button('deny', 'Deny')}</form>`,
  );
}

/** A page with a title and a sentence, and a link back to the consent page when it is worth another try. */
export function resultPage(title: string, text: string, backTo?: string): string {
  const back = !backTo
    ? ''
    : `\n<p><a href="${escapeHtml(`/sandbox/consent/${encodeURIComponent(backTo)}`)}">Back to the consent page</a></p>`;
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>${back}`);
}

/** The start operation's query: where the browser goes after an approval. */
export interface BrowserTargets {
  readonly callbackUrl?: string | undefined;
  readonly redirectUri?: string | undefined;
}

/**
 * The page after an approval, as the real server's: with a `callbackUrl`, a form that POSTs the first
 * account's fields, `redirectUri` when given and every account as JSON in `accounts`, submitted at once by
 * the nonce'd script; with only a `redirectUri`, `location.replace` after 800 ms; else a closing text.
 */
export function endingPage(session: AuthSession, targets: BrowserTargets, nonce: string): string {
  const accounts = (session.accounts ?? []).map((a) => ({
    relayAccountRef: a.accountId,
    nickname: a.displayName,
    avatar: a.avatarUrl,
    platformUid: a.platformUid,
    account: a.account,
    platform: a.platform,
  }));
  const text = `Connected: ${accounts.map((a) => a.nickname).join(', ')}.`;
  const script = (code: string) => `<script nonce="${escapeHtml(nonce)}">${code}</script>`;
  const title = 'Authorization approved';
  const { callbackUrl, redirectUri } = targets;
  if (callbackUrl !== undefined) {
    const first: Record<string, string | undefined> = accounts[0] ?? {};
    const fields = ['relayAccountRef', 'nickname', 'avatar', 'platformUid', 'account', 'platform']
      .map((name) => [name, first[name] ?? ''])
      .concat(redirectUri === undefined ? [] : [['redirectUri', redirectUri]], [
        ['accounts', JSON.stringify(accounts)],
      ])
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value ?? '')}">`);
    return page(
      title,
      `<h1>${title}</h1>
<p>${escapeHtml(text)} Returning you to the application…</p>
<form id="callback" method="post" action="${escapeHtml(callbackUrl)}">
${fields.join('\n')}
<noscript><button type="submit" class="primary">Continue</button></noscript>
</form>
${script("document.getElementById('callback').submit();")}`,
    );
  }
  if (redirectUri !== undefined) {
    return page(
      title,
      `<h1>${title}</h1>
<p>${escapeHtml(text)} Redirecting you back now (<a id="redirect" href="${escapeHtml(redirectUri)}">continue</a>).</p>
${script("setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);")}`,
    );
  }
  return resultPage(title, `${text} You can close this window.`);
}
