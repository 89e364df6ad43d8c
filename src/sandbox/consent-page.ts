import { pagePolicy } from '../local-server.js';
/**
 * The consent page a person sees at `consentUrl`, standing in for a platform's authorization page, and the
 * page that ends an approval. Self-contained (no external assets) and every value from a session is escaped.
 * The only script is the ending page's nonce'd one line, which submits the callback form or redirects.
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the page shows about a pending session. */
export interface ConsentView {
  readonly sessionId: string;
  readonly platform: string;
  readonly expiresAt: string;
  readonly selecting: boolean;
  readonly accounts: readonly { readonly platformUid: string; readonly displayName: string }[];
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}
form{display:inline-block;margin:.5rem .5rem 0 0}fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0}
label{display:block;padding:.2rem 0}button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #888;cursor:pointer}
button.primary{background:#1a73e8;color:#fff;border-color:#1a73e8}.muted{color:#666;font-size:.9rem}`;

/** A whole HTML document around already-escaped body markup. */
function page(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · AiToEarn sandbox</title>
<style>${STYLE}</style>
</head>
<body>
${bodyHtml}
<p class="muted">AiToEarn sandbox: a local stand-in for the platform's authorization page. Nothing here talks to a real platform.</p>
</body>
</html>
`;
}

function actionPath(sessionId: string, action: 'approve' | 'deny' | 'select'): string {
  return escapeHtml(`/sandbox/sessions/${encodeURIComponent(sessionId)}/${action}`);
}

/** The page for a pending session: Approve/Deny, or account checkboxes and Deny when a choice is needed. */
export function renderConsentPage(view: ConsentView): string {
  const platform = escapeHtml(view.platform);
  const intro = `<h1>Connect your ${platform} account</h1>
<p>An application asks to connect ${view.selecting ? 'the accounts you choose' : `${view.accounts.length} ${platform} account(s)`} to AiToEarn.</p>
<p class="muted">Session <code>${escapeHtml(view.sessionId)}</code>, expires at <time datetime="${escapeHtml(view.expiresAt)}">${escapeHtml(view.expiresAt)}</time>.</p>`;
  const deny = `<form method="post" action="${actionPath(view.sessionId, 'deny')}"><button type="submit" name="action" value="deny">Deny</button></form>`;
  if (view.selecting) {
    const boxes = view.accounts
      .map(
        (a) =>
          `<label><input type="checkbox" name="platformUids" value="${escapeHtml(a.platformUid)}"> ${escapeHtml(a.displayName)}</label>`,
      )
      .join('\n');
    return page(
      `Choose ${view.platform} accounts`,
      `${intro}
<form method="post" action="${actionPath(view.sessionId, 'select')}">
<fieldset><legend>Choose the accounts to connect</legend>
${boxes}
</fieldset>
<button type="submit" class="primary" name="action" value="select">Connect selected accounts</button>
</form>
${deny}`,
    );
  }
  const list = view.accounts.map((a) => `<li>${escapeHtml(a.displayName)}</li>`).join('\n');
  return page(
    `Connect ${view.platform}`,
    `${intro}
<ul>
${list}
</ul>
<form method="post" action="${actionPath(view.sessionId, 'approve')}"><button type="submit" class="primary" name="action" value="approve">Approve</button></form>
${deny}`,
  );
}

/** An account as the ending page shows it and the callback form carries it. */
export interface EndingAccount {
  readonly accountId: string;
  readonly platform: string;
  readonly platformUid: string;
  readonly displayName: string;
  readonly account?: string | undefined;
  readonly avatarUrl?: string | undefined;
}

/** Where the browser goes after an approval: the start operation's `callbackUrl` and `redirectUri`. */
export interface EndingTargets {
  readonly callbackUrl?: string | undefined;
  readonly redirectUri?: string | undefined;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
}

/**
 * The page after an approval, as the real server's callback page behaves: with a `callbackUrl`, a hidden
 * form that POSTs the first account's fields (`relayAccountRef`, `nickname`, `avatar`, `platformUid`,
 * `account`, `platform`), `redirectUri` when given, and every account as JSON text in `accounts`, submitted
 * at once by the nonce'd script; with only a `redirectUri`, `location.replace` after 800 ms; with neither,
 * a "you can close this window" text. The caller sends the matching CSP ({@link endingPagePolicy}).
 */
export function renderEndingPage(
  accounts: readonly EndingAccount[],
  targets: EndingTargets,
  nonce: string,
): string {
  const names = accounts.map((a) => a.displayName).join(', ');
  const text = `Connected: ${names}.`;
  const payload = accounts.map((a) => ({
    relayAccountRef: a.accountId,
    nickname: a.displayName,
    avatar: a.avatarUrl,
    platformUid: a.platformUid,
    account: a.account,
    platform: a.platform,
  }));
  const first = payload[0];
  const nonceAttr = `nonce="${escapeHtml(nonce)}"`;
  if (targets.callbackUrl !== undefined) {
    const fields = [
      hidden('relayAccountRef', first?.relayAccountRef ?? ''),
      hidden('nickname', first?.nickname ?? ''),
      hidden('avatar', first?.avatar ?? ''),
      hidden('platformUid', first?.platformUid ?? ''),
      hidden('account', first?.account ?? ''),
      hidden('platform', first?.platform ?? ''),
      ...(targets.redirectUri === undefined ? [] : [hidden('redirectUri', targets.redirectUri)]),
      hidden('accounts', JSON.stringify(payload)),
    ].join('\n');
    return page(
      'Authorization approved',
      `<h1>Authorization approved</h1>
<p>${escapeHtml(text)} Returning you to the application…</p>
<form id="callback" method="post" action="${escapeHtml(targets.callbackUrl)}">
${fields}
<noscript><button type="submit" class="primary">Continue</button></noscript>
</form>
<script ${nonceAttr}>document.getElementById('callback').submit();</script>`,
    );
  }
  if (targets.redirectUri !== undefined) {
    return page(
      'Authorization approved',
      `<h1>Authorization approved</h1>
<p>${escapeHtml(text)} Redirecting you back now (<a id="redirect" href="${escapeHtml(targets.redirectUri)}">continue</a>).</p>
<script ${nonceAttr}>setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);</script>`,
    );
  }
  return renderResultPage('Authorization approved', `${text} You can close this window.`);
}

/**
 * The CSP of the ending page: its one nonce'd script, and form submissions to the callback's origin only
 * (no form at all without a callback).
 */
export function endingPagePolicy(targets: EndingTargets, nonce: string): string {
  const formAction = targets.callbackUrl === undefined ? "'none'" : new URL(targets.callbackUrl).origin;
  return pagePolicy(formAction, nonce);
}

/** The page shown after a form was submitted, or when the session cannot be acted on. */
export function renderResultPage(title: string, text: string, backToSessionId?: string): string {
  const back =
    backToSessionId === undefined
      ? ''
      : `<p><a href="${escapeHtml(`/sandbox/consent/${encodeURIComponent(backToSessionId)}`)}">Back to the consent page</a></p>`;
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>\n${back}`);
}
