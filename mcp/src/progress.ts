import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AuthProgress } from 'aitoearn-auth';
import { escapeUnsafe } from './results.js';

/** What a tool handler gets besides its arguments: the request's signal, `_meta`, notifications. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Sends `notifications/progress` now and every `intervalMs` until the returned function is called, when the
 * caller asked for progress (a `progressToken`). A beat of its own rather than one per check: the waiter's
 * checks can be further apart than a client's request timeout.
 */
export function heartbeat(
  extra: Extra,
  intervalMs: number,
  latest: () => AuthProgress | undefined,
): () => void {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return () => {};
  let progress = 0;
  const beat = () => {
    progress += 1;
    const message = describe(latest());
    extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message } })
      .catch(() => {});
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}

function describe(event: AuthProgress | undefined): string {
  if (event === undefined) return 'Waiting for the person to open the page and approve';
  if (event.type === 'retry') {
    return escapeUnsafe(`The API failed for a moment; retrying (${event.warning ?? 'a transient failure'})`);
  }
  if (event.selectionRequired) return 'The person is choosing which accounts to connect, in their browser';
  const left = Math.round(event.remainingMs / 1000);
  return escapeUnsafe(
    `Waiting for the person to approve (status ${event.status ?? 'unknown'}, ${left} s left)`,
  );
}
