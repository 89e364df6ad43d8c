/**
 * aitoearn-auth-mcp: the MCP server on stdio, configured by the environment as the `aitoearn-auth` command
 * is: AITOEARN_API_KEY (required), AITOEARN_SITE (cn or ai) or AITOEARN_BASE_URL (e.g. the sandbox), and
 * LC_ALL/LC_MESSAGES/LANG for the person's language. stdout carries protocol messages only; anything else
 * goes to stderr, and the API key to neither.
 */
import { createRequire } from 'node:module';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type AitoearnClient, AitoearnInputError, createAitoearnClient, type Site } from 'aitoearn-auth';
import { personLanguage } from './results.js';
import { createServer } from './server.js';

const SANDBOX_HINT = '`aitoearn-auth sandbox` accepts "sandbox-key"';
const say = (message: string) => process.stderr.write(`aitoearn-auth-mcp: ${message}\n`);
function fail(message: string): never {
  say(message);
  process.exit(78); // EX_CONFIG
}

const { AITOEARN_API_KEY: apiKey, AITOEARN_BASE_URL: baseUrl, AITOEARN_SITE: site } = process.env;
if (!apiKey) fail(`set AITOEARN_API_KEY to your AiToEarn Open Platform API key (${SANDBOX_HINT})`);
const language = personLanguage(process.env);
let client: AitoearnClient;
try {
  // As the command: a base URL (the sandbox, Prism) wins over the site.
  const where = baseUrl ? { baseUrl } : site ? { site: site as Site } : {};
  client = createAitoearnClient({ apiKey, ...where, acceptLanguage: language });
} catch (error) {
  if (!(error instanceof AitoearnInputError)) throw error;
  // The client's messages never show the key; they name the option (`baseUrl`), set as a variable here.
  fail(`AITOEARN_${error.field.replace(/[A-Z]/g, '_$&').toUpperCase()}: ${error.message}`);
}
// Every 5 s by default, twice within the 10 s promised however late a timer fires; tests and slow hosts
// may set a shorter beat (at least 10 ms).
const progressIntervalMs = Number(process.env.AITOEARN_MCP_PROGRESS_INTERVAL_MS || 5000);
if (!Number.isInteger(progressIntervalMs) || progressIntervalMs < 10 || progressIntervalMs > 10_000) {
  fail('AITOEARN_MCP_PROGRESS_INTERVAL_MS must be a whole number of milliseconds from 10 to 10000');
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
const server = createServer(client, language, progressIntervalMs, version);
// A failure no tool caught is reported, never fatal: the agent keeps its other sessions.
process.on('unhandledRejection', (reason) =>
  say(`unexpected failure: ${(reason as Error)?.message ?? reason}`),
);
// The client went away: waits and callback listeners in flight have no one to report to.
process.stdin.once('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
await server.connect(new StdioServerTransport());
