/**
 * The sandbox's HTML: the consent page and the pages that end an answer. Self-contained, every value escaped;
 * the only script is the ending page's nonce'd line that submits the callback form or redirects, as upstream.
 */
import type { AuthSession } from '../types.js';
import { type BrowserTargets, candidates, iso, type StoredSession } from './sessions.js';

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · AiToEarn sandbox</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;
margin:3rem auto;padding:0 1rem}form{display:inline-block;margin:.5rem .5rem 0 0}label{display:block}</style>
</head><body><h1>${esc(title)}</h1>
${body}
<p><small>AiToEarn sandbox: a local stand-in for the platform's page. Nothing here talks to a real platform.</small></p>
</body></html>
`;

export const resultPage = (title: string, text: string) => page(title, `<p>${esc(text)}</p>`);

/** Approve and Deny, or account checkboxes and Deny when the session asks for a choice. */
export function consentPage(session: StoredSession, selecting: boolean): string {
  const accounts = candidates(session);
  const form = (action: string, label: string, fields = '') =>
    `<form method="post" action="/sandbox/sessions/${esc(encodeURIComponent(session.id))}/${action}">${fields}
<button type="submit" name="action" value="${action}">${label}</button></form>`;
  const boxes = accounts.map(
    (a) =>
      `<label><input type="checkbox" name="platformUids" value="${esc(a.platformUid)}"> ${esc(a.displayName)}</label>`,
  );
  const items = accounts.map((a) => `<li>${esc(a.displayName)}</li>`);
  const what = selecting ? 'the accounts you choose' : `${accounts.length} ${session.platform} account(s)`;
  return page(
    `Connect your ${session.platform} account`,
    `<p>An application asks to connect ${esc(what)} to AiToEarn.</p>
<p>Session <code>${esc(session.id)}</code>, expires at ${iso(session.expiresAt)}.</p>
${selecting ? form('select', 'Connect selected accounts', boxes.join('\n')) : `<ul>${items.join('')}</ul>${form('approve', 'Approve')}`}
${form('deny', 'Deny')}`,
  );
}

/**
 * The page after an approval, as the real server's: with a `callbackUrl`, a form that POSTs the first
 * account's fields, `redirectUri` when given and every account as JSON in `accounts`, submitted at once by
 * the nonce'd script; with only a `redirectUri`, `location.replace` after 800 ms; else a closing text.
 */
export function endingPage(session: AuthSession, targets: BrowserTargets, nonce: string) {
  const { callbackUrl, redirectUri } = targets;
  const accounts = (session.accounts ?? []).map((a) => ({
    relayAccountRef: a.accountId,
    nickname: a.displayName,
    avatar: a.avatarUrl,
    platformUid: a.platformUid,
    account: a.account,
    platform: a.platform,
  }));
  const title = 'Authorization approved';
  const text = esc(`Connected: ${accounts.map((a) => a.nickname).join(', ')}.`);
  const script = (code: string) => `<script nonce="${esc(nonce)}">${code}</script>`;
  if (callbackUrl !== undefined) {
    const post = { ...accounts[0], ...(redirectUri && { redirectUri }), accounts: JSON.stringify(accounts) };
    const input = ([name, value = '']: [string, string?]) =>
      `<input type="hidden" name="${name}" value="${esc(value)}">`;
    return page(
      title,
      `<p>${text} Returning you to the application…</p>
<form id="callback" method="post" action="${esc(callbackUrl)}">
${Object.entries(post).map(input).join('\n')}
<noscript><button type="submit">Continue</button></noscript></form>
${script("document.getElementById('callback').submit();")}`,
    );
  }
  if (redirectUri === undefined) return page(title, `<p>${text} You can close this window.</p>`);
  return page(
    title,
    `<p>${text} Redirecting you back now (<a id="redirect" href="${esc(redirectUri)}">continue</a>).</p>
${script("setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);")}`,
  );
}
