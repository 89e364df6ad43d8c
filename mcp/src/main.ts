/**
 * aitoearn-auth-mcp: the MCP server on stdio. Configured by the environment, as the `aitoearn-auth` command
 * is: AITOEARN_API_KEY (required), AITOEARN_SITE (cn or ai) or AITOEARN_BASE_URL (e.g. the sandbox), and
 * LC_ALL/LC_MESSAGES/LANG for the person's language. stdout carries protocol messages only; anything else
 * goes to stderr, and the API key to neither.
 */
import { createRequire } from 'node:module';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type AitoearnClient, AitoearnInputError, createAitoearnClient, type Site } from 'aitoearn-auth';
import { personLanguage } from './results.js';
import { createServer } from './server.js';

function fail(message: string): never {
  process.stderr.write(`aitoearn-auth-mcp: ${message}\n`);
  process.exit(78); // EX_CONFIG
}

function configure(env: NodeJS.ProcessEnv) {
  const { AITOEARN_API_KEY: apiKey, AITOEARN_BASE_URL: baseUrl, AITOEARN_SITE: site } = env;
  if (!apiKey) {
    fail(
      'set AITOEARN_API_KEY to your AiToEarn Open Platform API key (`aitoearn-auth sandbox` accepts "sandbox-key")',
    );
  }
  const language = personLanguage(env);
  // As the command: a base URL (the sandbox, Prism) wins over the site.
  const where = baseUrl ? { baseUrl } : site ? { site: site as Site } : {};
  let client: AitoearnClient;
  try {
    client = createAitoearnClient({ apiKey, ...where, acceptLanguage: language });
  } catch (error) {
    if (!(error instanceof AitoearnInputError)) throw error;
    // The client's messages never show the key; they name the option (`baseUrl`), which the person set as
    // a variable (`AITOEARN_BASE_URL`).
    fail(`AITOEARN_${error.field.replace(/[A-Z]/g, '_$&').toUpperCase()}: ${error.message}`);
  }
  // Every 5 s by default, twice within the 10 s promised however late a timer fires; tests and slow hosts
  // may set a shorter beat (at least 10 ms).
  const interval = Number(env.AITOEARN_MCP_PROGRESS_INTERVAL_MS || 5000);
  if (!Number.isInteger(interval) || interval < 10 || interval > 10_000) {
    fail('AITOEARN_MCP_PROGRESS_INTERVAL_MS must be a whole number of milliseconds from 10 to 10000');
  }
  return { client, language, progressIntervalMs: interval };
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
const server = createServer({ ...configure(process.env), version });

// A failure no tool caught is reported, never fatal: the agent keeps its other sessions.
process.on('unhandledRejection', (reason) => {
  const message = reason instanceof Error ? reason.message : String(reason);
  process.stderr.write(`aitoearn-auth-mcp: unexpected failure: ${message}\n`);
});
// The client went away: waits and callback listeners in flight have no one to report to.
process.stdin.once('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));

await server.connect(new StdioServerTransport());
