import { AitoearnInputError, AuthTimeoutError } from '../errors.js';
import type { ConnectCommand, SessionCommand } from './args.js';

/** The command's word for a library option or parameter, so that a message names what the user typed. */
function wordFor(field: string, command: SessionCommand | ConnectCommand): string | undefined {
  switch (field) {
    case 'baseUrl':
      return command.baseUrlFrom ?? '--base-url';
    case 'site':
      return '--site';
    case 'apiKey':
      if (command.key.from === 'env') return 'AITOEARN_API_KEY';
      return command.key.path === '-'
        ? 'the API key on stdin'
        : `the API key in ${JSON.stringify(command.key.path)}`;
    case 'platform':
      return '<platform>';
    case 'sessionId':
      return '<sessionId>';
    case 'timeoutMs':
      return '--timeout';
    default:
      return undefined;
  }
}

/**
 * The message a person sees (and the `--json` result carries), in the command's words: `--timeout 2`
 * rather than `timeoutMs=2000`, `--base-url` rather than `baseUrl`.
 */
export function messageOf(error: unknown, command: SessionCommand | ConnectCommand | undefined): string {
  if (error instanceof AuthTimeoutError && command !== undefined) {
    const limit =
      command.timeoutText === undefined
        ? `the default --timeout of ${Math.round(error.timeoutMs / 1000)} seconds`
        : `--timeout ${command.timeoutText}`;
    return `gave up after ${limit} (last status: ${error.session?.status ?? 'none seen'})`;
  }
  if (error instanceof AitoearnInputError && command !== undefined) {
    const word = wordFor(error.field, command);
    const prefix = `Expected "${error.field}" to be`;
    if (word !== undefined && error.message.startsWith(prefix)) {
      return `${word} must be${error.message.slice(prefix.length).replace(/\.$/, '')}`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
