/**
 * scripts/prism.ts on its failure paths: Prism exiting before it listens, and Prism never printing its
 * "listening" line. Either way the start rejects, and only after the child process is gone.
 */
import { describe, expect, it } from 'vitest';
import { PrismStartError, startPrism } from '../../scripts/prism.js';
import { startServer } from '../helpers/http-server.js';

function isGone(pid: number | undefined): boolean {
  try {
    process.kill(pid ?? -1, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
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
    const starting = startPrism({
      mode: 'mock',
      spec: '/nonexistent/aitoearn.openapi.yaml',
      startTimeoutMs: 40_000,
    });
    // While Prism starts, a Ctrl-C of this process would kill it.
    expect(process.listenerCount('SIGINT')).toBe(before + 1);

    const error = await starting.catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PrismStartError);
    const { child, output, message } = error as PrismStartError;
    expect(message).toMatch(/exited \(code 1\) before listening/);
    expect(output.join('\n')).toContain('ENOENT');
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    expect(isGone(child.pid)).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(before);
  }, 45_000);

  it('kills Prism when no listening line appears in time (its spec URL never answers)', async () => {
    const hanging = await startServer(() => {
      // Never answers: Prism waits for its document forever.
    });
    try {
      const error = await startPrism({
        mode: 'mock',
        spec: `${hanging.url}/aitoearn.openapi.yaml`,
        startTimeoutMs: 3000,
      }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PrismStartError);
      const { child, message } = error as PrismStartError;
      expect(message).toMatch(/no "listening" line within 3000 ms/);
      expect(child.signalCode).toBe('SIGTERM');
      expect(isGone(child.pid)).toBe(true);
    } finally {
      await hanging.close();
    }
  });
});
