/** scripts/prism.ts on its failure paths: the start rejects, and only after the child process is gone. */
import { describe, expect, it } from 'vitest';
import { PrismStartError, startPrism } from '../../scripts/prism.js';
import { startServer } from '../helpers/http-server.js';

async function expectGone(start: Promise<unknown>, message: RegExp): Promise<PrismStartError> {
  const error = await start.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PrismStartError);
  const { child } = error as PrismStartError;
  expect((error as Error).message).toMatch(message);
  expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
  expect(() => process.kill(child.pid ?? -1, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return error as PrismStartError;
}

describe('startPrism', () => {
  it('refuses bad options before starting anything', () => {
    expect(() => startPrism({ mode: 'proxy' })).toThrow(/"upstream"/);
    expect(() => startPrism({ mode: 'mock', port: 70_000 })).toThrow(/"port".*70000/);
    expect(() => startPrism({ mode: 'proxy', upstream: 'http://127.0.0.1:1', dynamic: true })).toThrow(
      /"dynamic"/,
    );
  });

  it('rejects with Prism’s last output when Prism exits before listening, the child already gone', async () => {
    const before = process.listenerCount('SIGINT');
    // A generous start timeout: the exit, not the timeout, must end this start even on a loaded machine.
    const spec = '/nonexistent/aitoearn.openapi.yaml';
    const starting = startPrism({ mode: 'mock', spec, startTimeoutMs: 40_000 });
    // While Prism starts, a Ctrl-C of this process would kill it.
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    const error = await expectGone(starting, /exited \(code 1\) before listening/);
    expect(error.output.join('\n')).toContain('ENOENT');
    expect(process.listenerCount('SIGINT')).toBe(before);
  }, 45_000);

  it('kills Prism when no listening line appears in time (its spec URL never answers)', async () => {
    const hanging = await startServer(() => {});
    try {
      const spec = `${hanging.url}/aitoearn.openapi.yaml`;
      const error = await expectGone(
        startPrism({ mode: 'mock', spec, startTimeoutMs: 3000 }),
        /no "listening" line within 3000 ms/,
      );
      expect(error.child.signalCode).toBe('SIGTERM');
    } finally {
      await hanging.close();
    }
  });
});
