/**
 * The MCP server as an agent host runs it: the SDK's own Client and StdioClientTransport spawn the built
 * command (node_modules/.bin/aitoearn-auth-mcp) against a sandbox in this process, and a stand-in person
 * (scripts/stand-in-person.ts) approves or denies on the consent page over HTTP. Needs `npm run build`.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  type CallToolResult,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  type ElicitRequestURLParams,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { PLATFORMS } from 'aitoearn-auth';
import { type Sandbox, startSandbox } from 'aitoearn-auth/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitConsentPage } from '../../scripts/stand-in-person.js';

const BIN = fileURLToPath(new URL('../../node_modules/.bin/aitoearn-auth-mcp', import.meta.url));
// A key no output may ever contain.
const KEY = 'canary-3f9d0b7e5a21c4d8';

let sandbox: Sandbox;
const stderr: string[] = [];
const seen: unknown[] = [];
const opened: Agent[] = [];

interface Agent {
  readonly client: Client;
  /** Protocol errors the client saw (a line on stdout that is not a JSON-RPC message, say). */
  readonly errors: Error[];
  call(name: string, args: Record<string, unknown>, options?: RequestOptions): Promise<CallToolResult>;
}

type Person = (params: ElicitRequestURLParams) => Promise<'accept' | 'decline' | 'cancel'>;

/** Spawns the command and connects a client; `person` answers URL elicitations (the capability is declared only then). */
async function agent(person?: Person, env: Record<string, string> = {}): Promise<Agent> {
  const transport = new StdioClientTransport({
    command: BIN,
    env: {
      AITOEARN_API_KEY: KEY,
      AITOEARN_BASE_URL: sandbox.url,
      AITOEARN_MCP_PROGRESS_INTERVAL_MS: '20',
      LANG: 'en_US.UTF-8',
      ...env,
    },
    stderr: 'pipe',
  });
  const index = stderr.push('') - 1;
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr[index] += chunk.toString();
  });
  const client = new Client(
    { name: 'test-host', version: '1.0.0' },
    { capabilities: person ? { elicitation: { url: {} } } : {} },
  );
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  if (person) {
    client.setRequestHandler(ElicitRequestSchema, async ({ params }) => {
      seen.push(params);
      return { action: await person(params as ElicitRequestURLParams) };
    });
  }
  await client.connect(transport);
  const result: Agent = {
    client,
    errors,
    async call(name, args, options) {
      const answer = (await client.callTool({ name, arguments: args }, undefined, options)) as CallToolResult;
      seen.push(answer);
      return answer;
    },
  };
  opened.push(result);
  return result;
}

const textOf = (result: CallToolResult) =>
  result.content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');

function statusChecks(sessionId: string) {
  return sandbox.requests.filter((r) => r.path.endsWith(`/status/${sessionId}`)).length;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The person approves once the session's first check has been answered: the next one is a second away, so
 * the browser's callback, not a check that happens to fall between the approval and the callback POST
 * (which closes the listener under the browser's feet), is what ends the wait.
 */
async function approveAfterFirstCheck(url: string, sessionId: string) {
  while (statusChecks(sessionId) === 0) await pause(10);
  return visitConsentPage(url, 'approve');
}

beforeAll(async () => {
  sandbox = await startSandbox({ apiKeys: [KEY] });
});
afterAll(async () => {
  await Promise.all(opened.map((a) => a.client.close()));
  await sandbox?.close();
});

describe('aitoearn-auth-mcp on stdio, without URL elicitation', () => {
  let host: Agent;
  beforeAll(async () => {
    host = await agent();
  });

  it('lists the three tools with the platform list of the package and output schemas', async () => {
    const { tools } = await host.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['auth_status', 'connect_account', 'wait_for_auth']);
    for (const tool of tools) {
      const properties = tool.inputSchema.properties as Record<string, { enum?: string[] }>;
      expect(properties.platform?.enum, tool.name).toEqual([...PLATFORMS]);
      expect(tool.inputSchema.required, tool.name).toEqual(expect.arrayContaining(['platform']));
      expect(tool.outputSchema?.properties, tool.name).toHaveProperty('platform');
    }
    const wait = tools.find((t) => t.name === 'wait_for_auth');
    expect(wait?.inputSchema.required).toEqual(['platform', 'sessionId']);
    expect(wait?.inputSchema.properties).toHaveProperty('timeoutSeconds');
  });

  it('connect_account hands over the link; the person approves; wait_for_auth returns the account, with progress', async () => {
    const started = await host.call('connect_account', { platform: 'douyin' });
    expect(started.isError).toBeFalsy();
    const link = started.structuredContent as { url: string; sessionId: string; expiresAt: string };
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(link.sessionId).toHaveLength(16);
    expect(textOf(started)).toContain(link.url);
    expect(textOf(started)).toContain('wait_for_auth');

    const progress: Progress[] = [];
    let visit: ReturnType<typeof visitConsentPage> | undefined;
    const done = await host.call(
      'wait_for_auth',
      { platform: 'douyin', sessionId: link.sessionId },
      {
        onprogress: (event) => {
          progress.push(event);
          // The person approves only once the beat is seen going: a server without one never completes.
          if (progress.length === 3) visit = approveAfterFirstCheck(link.url, link.sessionId);
        },
      },
    );
    expect(done.isError).toBeFalsy();
    const { session } = done.structuredContent as {
      session: { status: string; accounts: { platform: string }[] };
    };
    expect(session.status).toBe('completed');
    expect(session.accounts[0]?.platform).toBe('douyin');
    expect(textOf(done)).toMatch(/^Connected 1 douyin account/);
    // The callback listener of the kept session was still up when the browser's last page posted to it.
    const visited = await visit;
    expect(visited?.callbackForm?.action).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[\w-]{32}$/);
    expect(visited?.callbackStatus).toBe(200);
    const values = progress.map((p) => p.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);

    const status = await host.call('auth_status', { platform: 'douyin', sessionId: link.sessionId });
    expect(textOf(status)).toContain('status: completed');
    expect(textOf(status)).toMatch(/account: douyin .+ \(accountId .+\)/);
    expect((status.structuredContent as { session: { status: string } }).session.status).toBe('completed');
  });

  it('cancelling wait_for_auth stops its checks: for a kept session and for one it waits for itself', async () => {
    const kept = (await host.call('connect_account', { platform: 'tiktok' })).structuredContent as {
      sessionId: string;
    };
    const other = sandbox.createSession({ platform: 'tiktok' });
    const calls = [kept.sessionId, other.sessionId].map((sessionId) => {
      const controller = new AbortController();
      let beating: () => void = () => {};
      const beat = new Promise<void>((resolve) => {
        beating = resolve;
      });
      const result = host
        .call(
          'wait_for_auth',
          { platform: 'tiktok', sessionId },
          { signal: controller.signal, onprogress: beating },
        )
        .then(
          () => 'settled',
          (error: Error) => error.name,
        );
      return { sessionId, controller, beat, result };
    });
    await Promise.all(calls.map((c) => c.beat));
    while (statusChecks(other.sessionId) === 0) await pause(20);
    for (const c of calls) c.controller.abort();
    for (const c of calls) expect(await c.result).not.toBe('settled');
    // The cancellations went out before this request, and the server reads its input in order.
    await host.client.listTools();
    await pause(200); // a check already on the wire may still be answered
    const before = calls.map((c) => statusChecks(c.sessionId));
    // Both would have checked again within this time (after 1 s and 2 s, by the default backoff).
    await pause(2500);
    expect(calls.map((c) => statusChecks(c.sessionId))).toEqual(before);
  });

  it('gives up after timeoutSeconds with a tool error; the session goes on', async () => {
    const { sessionId, url } = (await host.call('connect_account', { platform: 'youtube' }))
      .structuredContent as {
      sessionId: string;
      url: string;
    };
    const timedOut = await host.call('wait_for_auth', {
      platform: 'youtube',
      sessionId,
      timeoutSeconds: 0.2,
    });
    expect(timedOut.isError).toBe(true);
    expect(textOf(timedOut)).toMatch(/Gave up waiting .*timeoutMs=200.*call wait_for_auth again/);
    const visit = visitConsentPage(url, 'approve');
    const done = await host.call('wait_for_auth', { platform: 'youtube', sessionId });
    expect((done.structuredContent as { session: { status: string } }).session.status).toBe('completed');
    expect((await visit).callbackStatus).toBe(200);
  });

  it.each([
    ['failed', { type: 'fail', errorCode: 15013 }, /failed with error code 15013 \(permission denied\)/],
    ['expired', { type: 'never' }, /expired.*Call connect_account to start a new authorization/],
  ] as const)('wait_for_auth says the session %s, in a tool error', async (_, outcome, message) => {
    const { sessionId } = sandbox.createSession({ platform: 'linkedin', outcome, lifetimeMs: 300 });
    const result = await host.call('wait_for_auth', { platform: 'linkedin', sessionId });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it.each([
    [{ platform: 'douyinn' }, 'connect_account', /unknown platform "douyinn"; did you mean "douyin"\?/],
    [{ platform: 'Tiktok', sessionId: 'x' }, 'wait_for_auth', /did you mean "tiktok"\?/],
    [{ platform: 'douyin', sessionId: '../../auth/douyin' }, 'auth_status', /"sessionId".*Nothing was sent/],
    [{ platform: 'douyin', sessionId: 'AAAAAAAAAAAAAAAA' }, 'wait_for_auth', /code 15039/],
  ])('refuses %j for %s with a tool error, and keeps serving', async (args, tool, message) => {
    const before = sandbox.requestCount;
    const result = await host.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    if (!/15039/.test(message.source)) expect(sandbox.requestCount).toBe(before);
    expect((await host.client.listTools()).tools).toHaveLength(3);
  });
});

describe('aitoearn-auth-mcp with URL elicitation', () => {
  it('one connect_account call returns the account once the person approves the page it was sent to', async () => {
    let visit: ReturnType<typeof visitConsentPage> | undefined;
    const host = await agent(async ({ url, elicitationId }) => {
      visit = approveAfterFirstCheck(url, elicitationId);
      return 'accept';
    });
    const completions: string[] = [];
    host.client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completions.push(n.params.elicitationId);
    });
    const result = await host.call('connect_account', { platform: 'bilibili' });
    expect(textOf(result)).toMatch(/^Connected 1 bilibili account/);
    const out = result.structuredContent as { sessionId: string; session: { status: string } };
    expect(out.session.status).toBe('completed');
    const asked = seen.findLast(
      (s) => (s as ElicitRequestURLParams).mode === 'url',
    ) as ElicitRequestURLParams;
    expect(asked.message).toMatch(/connect your bilibili account/);
    expect(asked.message).toContain('sandbox consent page'); // the platform's instructions, in English
    expect(asked.elicitationId).toBe(out.sessionId);
    expect((await visit)?.callbackStatus).toBe(200);
    await host.client.listTools(); // the notification was sent before the result; this lets it arrive
    expect(completions).toEqual([out.sessionId]);
  });

  it('a denial on the consent page or a declined elicitation is a tool error saying which; a failed one hands over the link', async () => {
    const answers = ['deny', 'decline', 'fail'];
    const host = await agent(async ({ url }) => {
      const answer = answers.shift();
      if (answer === 'fail') throw new Error('no browser on this host');
      if (answer === 'decline') return 'decline';
      void visitConsentPage(url, 'deny');
      return 'accept';
    });
    const denied = await host.call('connect_account', { platform: 'douyin' });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/failed with error code 15045 \(the user denied consent/);
    const declined = await host.call('connect_account', { platform: 'douyin' });
    expect(declined.isError).toBe(true);
    expect(textOf(declined)).toMatch(/The person declined the request to open the douyin consent page/);
    // A host that could not show the page gets the link instead, as a host without URL elicitation does.
    const fallback = await host.call('connect_account', { platform: 'douyin' });
    expect(fallback.isError).toBeFalsy();
    expect(textOf(fallback)).toMatch(/Show the person this link/);
  });
});

describe('what the API answers is checked before a host sees it', () => {
  let api: Server;
  // A 1×1 PNG: some platforms answer a QR code image to scan in their app instead of a page.
  const PNG =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const SVG = 'data:image/svg+xml;base64,PHN2Zy8+';
  beforeAll(async () => {
    api = createServer((request, response) => {
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      const sessionId = 'QRsession0000001';
      const start = request.url?.includes('/douyin') ? `data:image/png;base64,${PNG}` : SVG;
      const data = request.url?.includes('/status/')
        ? { sessionId, status: 'pending', requiresSelection: false, expiresAt }
        : { url: start, sessionId, expiresAt };
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ code: 0, message: 'ok', data }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

  it('hands a QR code over as an image (never by elicitation), and refuses an SVG image', async () => {
    const host = await agent(async () => 'accept', {
      AITOEARN_BASE_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    });
    const elicitations = seen.length;
    const qr = await host.call('connect_account', { platform: 'douyin' });
    expect(qr.isError).toBeFalsy();
    expect(qr.content).toContainEqual({ type: 'image', mimeType: 'image/png', data: PNG });
    expect(textOf(qr)).toMatch(/scan it in the douyin app/);
    expect(qr.structuredContent).not.toHaveProperty('url');
    expect(seen.length).toBe(elicitations + 1); // the result only, no elicitation
    const odd = await host.call('connect_account', { platform: 'tiktok' });
    expect(odd.isError).toBe(true);
    // The library refuses it before anyone sees it: an SVG can carry script.
    expect(textOf(odd)).toMatch(
      /bad "data\.url": expected an http\(s\) URL or a data:image\/ URL \(png, jpeg, gif or webp\)/,
    );
    expect(odd.content.some((c) => c.type === 'image')).toBe(false);
    expect(odd.structuredContent).toBeUndefined();
  });
});

describe('configuration and secrecy', () => {
  it('exits 78 naming the variable when the configuration is bad, without showing the key', async () => {
    const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        BIN,
        [],
        { env: { PATH: process.env.PATH, AITOEARN_API_KEY: KEY, AITOEARN_BASE_URL: 'http://example.com' } },
        (_, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(outcome.code).toBe(78);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toMatch(/^aitoearn-auth-mcp: AITOEARN_BASE_URL: /);
    stderr.push(outcome.stderr);
  });

  it('the API key appears in no result, no elicitation and nowhere on stderr; stdout carried protocol only', async () => {
    expect(seen.length).toBeGreaterThan(10);
    expect(JSON.stringify(seen)).not.toContain(KEY);
    expect(stderr.join('\n')).not.toContain(KEY);
    // A beat sent before the server read a cancellation reaches a client that has forgotten its token: a
    // race the protocol allows. Anything else (a line on stdout that is not JSON-RPC, say) is a failure.
    const errors = opened.flatMap((a) => a.errors.map((e) => e.message));
    expect(
      errors.filter((m) => !m.startsWith('Received a progress notification for an unknown token')),
    ).toEqual([]);
  });
});
