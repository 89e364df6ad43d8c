import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { type AitoearnClient, type AuthProgress, getAuthStatus, PLATFORMS, waitForAuth } from 'aitoearn-auth';
import { z } from 'zod';
import { beginConnection, type Connection, KeptConnections } from './connections.js';
import type { Language } from './results.js';
import * as out from './results.js';
import { unknownPlatform } from './suggest.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const platform = z
  .enum(PLATFORMS, { error: ({ input }) => unknownPlatform(input) })
  .describe('The platform of the account, e.g. douyin, youtube, tiktok');
const sessionId = z.string().describe('The sessionId that connect_account returned');
const seconds = z.number().positive().max(3600);
const readOnly = { readOnlyHint: true, openWorldHint: true };
/** Every failure is a tool error the agent can read and act on; none reaches the transport. */
const guard = (run: () => Promise<CallToolResult>) => run().catch(out.toolError);

/**
 * The MCP server: three tools over the package's public API. `beatMs`: how often to send progress while
 * waiting (under 10 s, so that clients' timeouts reset).
 */
export function createServer(client: AitoearnClient, language: Language, beatMs: number, version: string) {
  const server = new McpServer({ name: 'aitoearn-auth-mcp', version });
  const kept = new KeptConnections();

  // Progress every interval until `work` settles (when asked for): a beat of its own, as the waiter's checks
  // can be further apart than a client's request timeout.
  function beating<T>(extra: Extra, latest: () => AuthProgress | undefined, work: Promise<T>): Promise<T> {
    const progressToken = extra._meta?.progressToken;
    if (progressToken === undefined) return work;
    let progress = 0;
    const beat = () => {
      const params = { progressToken, progress: ++progress, message: out.describeProgress(latest()) };
      extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
    };
    beat();
    const timer = setInterval(beat, beatMs);
    return work.finally(() => clearInterval(timer));
  }

  server.registerTool(
    'connect_account',
    {
      title: 'Connect an account',
      description:
        "Connects the person's social-media account to AiToEarn. If this client supports URL elicitation, the person is sent to the consent page directly and the call returns the connected accounts once they approve. Otherwise it returns at once with a link (or a QR code image) to show the person, and a sessionId: then call wait_for_auth.",
      inputSchema: {
        platform,
        groupId: z.string().optional().describe('The account group (default: the default group)'),
      },
      outputSchema: out.connectOutput,
      annotations: { openWorldHint: true },
    },
    ({ platform, groupId }, extra) =>
      guard(async () => {
        const connection = await beginConnection(client, platform, groupId, extra.signal);
        const result = await elicitAndWait(connection, extra);
        if (result) return result;
        kept.keep(connection);
        return out.linkResult(platform, connection.start, language);
      }),
  );

  /** URL mode: the client sends the person to the page and the call returns when the session ends; false
   * when the client cannot show a page (or the platform answered a QR code): the link is handed over. */
  async function elicitAndWait(connection: Connection, extra: Extra): Promise<CallToolResult | false> {
    const { start, platform, stop } = connection;
    const { sessionId, expiresAt, url } = start;
    if (out.qrImage(url) || !server.server.getClientCapabilities()?.elicitation?.url) return false;
    // Aborted once the call ends: withdraws a consent request not answered yet, and forgets the cancel.
    const ended = new AbortController();
    extra.signal.addEventListener('abort', () => stop(extra.signal.reason), { signal: ended.signal });
    try {
      const message = [out.consent(platform, language), start.authInstructions?.[language]].filter(Boolean);
      const request = { mode: 'url', message: message.join('\n'), elicitationId: sessionId, url } as const;
      const timeout = Math.max(1000, Date.parse(expiresAt) - Date.now());
      const answer = server.server.elicitInput(request, { signal: ended.signal, timeout }).then(
        // Accepted: the person is on the page, and the session's end is the answer.
        ({ action }) => (action === 'accept' ? new Promise<never>(() => {}) : action),
        () => 'failed' as const,
      );
      const race = Promise.race([connection.done, answer]).catch((error: unknown) => ({ error }));
      const first = await beating(extra, connection.latest, race);
      if (extra.signal.aborted) throw extra.signal.reason;
      if (first === 'failed') return false;
      if (first === 'decline' || first === 'cancel') {
        stop(new Error(`elicitation ${first}`));
        return out.toolError(out.declined(platform, sessionId, first));
      }
      // The interaction outside the client is over, whatever its outcome: the client may close its prompt.
      const notifyCompletion = server.server.createElicitationCompletionNotifier(sessionId);
      await notifyCompletion().catch(() => {});
      if ('error' in first) throw first.error;
      return out.completed(platform, first, { sessionId, expiresAt });
    } finally {
      ended.abort();
    }
  }

  server.registerTool(
    'wait_for_auth',
    {
      title: 'Wait for an authorization',
      description:
        'Waits until the person has approved (returns the connected accounts), the authorization failed (says why), or the session expired (5 minutes after connect_account). Sends progress notifications while waiting. If your client does not reset its request timeout on progress, pass timeoutSeconds below that timeout and call again while the session is pending.',
      inputSchema: {
        platform,
        sessionId,
        timeoutSeconds: seconds.optional().describe('Give up after this many seconds (default: at expiry)'),
      },
      outputSchema: out.sessionOutput,
      annotations: readOnly,
    },
    ({ platform, sessionId, timeoutSeconds }, extra) =>
      guard(async () => {
        const timeoutMs = timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 };
        const connection = kept.find(platform, sessionId);
        let last: AuthProgress | undefined;
        const onProgress = (event: AuthProgress) => {
          last = event;
        };
        const waiting = connection
          ? kept.wait(connection, timeoutMs.timeoutMs, extra.signal)
          : waitForAuth(client, { platform, sessionId, signal: extra.signal, onProgress, ...timeoutMs });
        return out.completed(platform, await beating(extra, connection?.latest ?? (() => last), waiting));
      }),
  );

  server.registerTool(
    'auth_status',
    {
      title: 'Check an authorization',
      description:
        'Checks an authorization session once and reports it: status, expiry, and the accounts once completed.',
      inputSchema: { platform, sessionId },
      outputSchema: out.sessionOutput,
      annotations: readOnly,
    },
    ({ platform, sessionId }, { signal }) =>
      guard(async () => {
        const { session } = await getAuthStatus(client, { platform, sessionId, signal });
        return out.statusResult(platform, session);
      }),
  );

  return server;
}
