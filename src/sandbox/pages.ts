/**
 * The sandbox's HTML: the consent page standing in for a platform's, and the pages that end an answer.
 * Self-contained (no external assets); every value is escaped. The only script is the ending page's one
 * nonce'd line, which submits the callback form or redirects, as the real server's callback page does.
 */
import type { AuthSession } from '../types.js';
import { type BrowserTargets, candidates, iso, type StoredSession } from './sessions.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .25rem}form{display:inline-block;margin:.5rem .5rem 0 0}
label{display:block}button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #888}
button.primary{background:#1a73e8;color:#fff}.muted{color:#666;font-size:.9rem}`;

/** A page with `title` as its heading; `body` is HTML. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · AiToEarn sandbox</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
<p class="muted">AiToEarn sandbox: a local stand-in for the platform's authorization page. Nothing here talks to a real platform.</p>
</body></html>
`;
}

/** Approve and Deny, or account checkboxes and Deny when the session asks for a choice. */
export function consentPage(session: StoredSession, selecting: boolean): string {
  const accounts = candidates(session);
  const [id, platform] = [escapeHtml(session.id), escapeHtml(session.platform)];
  const form = (action: string, label: string, fields = '') =>
    `<form method="post" action="/sandbox/sessions/${escapeHtml(encodeURIComponent(session.id))}/${action}">${fields}
<button type="submit"${action === 'deny' ? '' : ' class="primary"'} name="action" value="${action}">${label}</button></form>`;
  const boxes = accounts.map(
    (a) =>
      `<label><input type="checkbox" name="platformUids" value="${escapeHtml(a.platformUid)}"> ${escapeHtml(a.displayName)}</label>`,
  );
  const choice = selecting
    ? form('select', 'Connect selected accounts', boxes.join('\n'))
    : `<ul>${accounts.map((a) => `<li>${escapeHtml(a.displayName)}</li>`).join('')}</ul>\n${form('approve', 'Approve')}`;
  return page(
    `Connect your ${session.platform} account`,
    `<p>An application asks to connect ${selecting ? 'the accounts you choose' : `${accounts.length} ${platform} account(s)`} to AiToEarn.</p>
<p class="muted">Session <code>${id}</code>, expires at ${iso(session.expiresAt)}.</p>
${choice}
${form('deny', 'Deny')}`,
  );
}

/** A page with a title and a sentence. */
export const resultPage = (title: string, text: string) => page(title, `<p>${escapeHtml(text)}</p>`);

/**
 * The page after an approval, as the real server's: with a `callbackUrl`, a form that POSTs the first
 * account's fields, `redirectUri` when given and every account as JSON in `accounts`, submitted at once by
 * the nonce'd script; with only a `redirectUri`, `location.replace` after 800 ms; else a closing text.
 */
export function endingPage(
  session: AuthSession,
  { callbackUrl, redirectUri }: BrowserTargets,
  nonce: string,
) {
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
  if (callbackUrl !== undefined) {
    const fields = Object.entries({ ...accounts[0], redirectUri, accounts: JSON.stringify(accounts) })
      .filter(([name, value]) => name !== 'redirectUri' || value !== undefined)
      .map(([name, value = '']) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`);
    return page(
      title,
      `<p>${escapeHtml(text)} Returning you to the application…</p>
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
      `<p>${escapeHtml(text)} Redirecting you back now (<a id="redirect" href="${escapeHtml(redirectUri)}">continue</a>).</p>
${script("setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);")}`,
    );
  }
  return resultPage(title, `${text} You can close this window.`);
}
