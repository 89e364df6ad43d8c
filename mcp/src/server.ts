import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { type AitoearnClient, type AuthProgress, getAuthStatus, PLATFORMS, waitForAuth } from 'aitoearn-auth';
import { z } from 'zod';
import { beginConnection, type Connection, KeptConnections } from './connections.js';
import * as out from './results.js';
import { didYouMean } from './suggest.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ServerOptions {
  readonly client: AitoearnClient;
  /** The person's language, for the consent message and the instructions shown. */
  readonly language: out.Language;
  /** How often to send progress while waiting, in ms (under 10 s, so that clients' timeouts reset). */
  readonly progressIntervalMs: number;
  readonly version: string;
}

const CONSENT_MESSAGE = {
  'en-US': (platform: string) => `Open this page and approve access, to connect your ${platform} account.`,
  'zh-CN': (platform: string) => `请打开此页面并同意授权，以连接您的 ${platform} 账号。`,
} as const;

const platform = z
  .enum(PLATFORMS, {
    error: ({ input }) => {
      const hint = typeof input === 'string' ? didYouMean(input, PLATFORMS) : undefined;
      const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 40)) : typeof input;
      return `unknown platform ${shown}${hint ? `; did you mean "${hint}"?` : ''} (platforms: ${PLATFORMS.join(', ')})`;
    },
  })
  .describe('The platform of the account, e.g. douyin, youtube, tiktok');
const sessionId = z.string().describe('The sessionId that connect_account returned');

/** The MCP server: three tools over the package's public API. */
export function createServer(options: ServerOptions): McpServer {
  const { client, language, progressIntervalMs } = options;
  const server = new McpServer({ name: 'aitoearn-auth-mcp', version: options.version });
  const kept = new KeptConnections();

  /**
   * Sends `notifications/progress` now and every interval until the returned function is called, when the
   * caller asked for progress: a beat of its own, as the waiter's checks can be further apart than a
   * client's request timeout.
   */
  function heartbeat(extra: Extra, latest: () => AuthProgress | undefined): () => void {
    const progressToken = extra._meta?.progressToken;
    if (progressToken === undefined) return () => {};
    let progress = 0;
    const beat = () => {
      const params = { progressToken, progress: ++progress, message: out.describeProgress(latest()) };
      extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
    };
    beat();
    const timer = setInterval(beat, progressIntervalMs);
    return () => clearInterval(timer);
  }

  server.registerTool(
    'connect_account',
    {
      title: 'Connect an account',
      description:
        "Connects the person's social-media account to AiToEarn. If this client supports URL elicitation, the person is sent to the consent page directly and the call returns the connected accounts once they approve. Otherwise it returns at once with a link (or a QR code image) to show the person, and a sessionId: then call wait_for_auth.",
      inputSchema: {
        platform,
        groupId: z
          .string()
          .optional()
          .describe('The account group to connect into (default: the default group)'),
      },
      outputSchema: out.connectOutput,
      annotations: { openWorldHint: true },
    },
    ({ platform, groupId }, extra) =>
      guard(async () => {
        const connection = await beginConnection(client, platform, groupId);
        if (extra.signal.aborted) {
          // Cancelled while starting: nobody will learn this session id, so nobody may wait for it.
          connection.stop(extra.signal.reason);
          throw extra.signal.reason;
        }
        if (out.qrImage(connection.start.url) || !server.server.getClientCapabilities()?.elicitation?.url) {
          kept.keep(connection);
          return out.linkResult(platform, connection.start, language);
        }
        return elicitAndWait(connection, extra);
      }),
  );

  /** URL mode: the client sends the person to the page; the call returns when the session ends. */
  async function elicitAndWait(connection: Connection, extra: Extra): Promise<CallToolResult> {
    const { start, platform } = connection;
    const stopBeat = heartbeat(extra, connection.latest);
    // Aborted once the call ends: a consent request the person has not answered yet is withdrawn.
    const withdraw = new AbortController();
    const cancel = () => connection.stop(extra.signal.reason);
    extra.signal.addEventListener('abort', cancel, { once: true });
    try {
      const lines = [CONSENT_MESSAGE[language](platform), start.authInstructions?.[language]];
      const message = lines.filter(Boolean).join('\n');
      const request = { mode: 'url', message, elicitationId: start.sessionId, url: start.url } as const;
      const timeout = Math.max(1000, Date.parse(start.expiresAt) - Date.now());
      const answer = server.server.elicitInput(request, { signal: withdraw.signal, timeout }).then(
        // Accepted: the person is on the page; the session's end is the answer.
        (result) => (result.action === 'accept' ? new Promise<never>(() => {}) : { action: result.action }),
        (error: unknown) => ({ failed: error }),
      );
      const ended = connection.done.then(
        (session) => ({ session }),
        (error: unknown) => ({ error }),
      );
      const first = await Promise.race([ended, answer]);
      if (extra.signal.aborted) throw extra.signal.reason;
      if ('failed' in first) {
        // The client could not show the page: hand over the link, as to a client without URL mode.
        kept.keep(connection);
        return out.linkResult(platform, start, language);
      }
      if ('action' in first) {
        connection.stop(new Error(`elicitation ${first.action}`));
        const did = first.action === 'decline' ? 'declined' : 'dismissed';
        return out.toolError(
          `The person ${did} the request to open the ${platform} consent page; nothing was connected (session ${start.sessionId} abandoned). Call connect_account again if they change their mind.`,
        );
      }
      // The interaction outside the client is over, whatever its outcome: the client may close its prompt.
      await server.server
        .createElicitationCompletionNotifier(start.sessionId)()
        .catch(() => {});
      if ('error' in first) throw first.error;
      const { sessionId, expiresAt } = start;
      return out.completed(platform, first.session, { sessionId, expiresAt });
    } finally {
      stopBeat();
      withdraw.abort();
      extra.signal.removeEventListener('abort', cancel);
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
        timeoutSeconds: z
          .number()
          .positive()
          .max(3600)
          .optional()
          .describe('Give up after this many seconds (default: when the session expires)'),
      },
      outputSchema: out.sessionOutput,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    ({ platform, sessionId, timeoutSeconds }, extra) =>
      guard(async () => {
        const timeoutMs = timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 };
        const connection = kept.find(platform, sessionId);
        let last: AuthProgress | undefined;
        const stopBeat = heartbeat(extra, connection?.latest ?? (() => last));
        try {
          const session = connection
            ? await kept.wait(connection, timeoutMs.timeoutMs, extra.signal)
            : await waitForAuth(client, {
                platform,
                sessionId,
                signal: extra.signal,
                ...timeoutMs,
                onProgress: (event) => {
                  last = event;
                },
              });
          return out.completed(platform, session);
        } finally {
          stopBeat();
        }
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
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    ({ platform, sessionId }, extra) =>
      guard(async () => {
        const { session } = await getAuthStatus(client, { platform, sessionId, signal: extra.signal });
        return out.statusResult(platform, session);
      }),
  );

  return server;
}

/** Every failure is a tool error the agent can read and act on; none reaches the transport. */
async function guard(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  return run().catch(out.toolError);
}
