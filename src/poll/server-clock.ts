/**
 * Estimates the server's clock on our monotonic clock, so that `expiresAt` (server time) becomes a local
 * deadline that a skewed or jumping local wall clock cannot move.
 *
 * Each response's `Date` header (1 s resolution) was stamped while the request was in flight, so it bounds
 * the offset (server time − monotonic time) to `[date − receivedAt, date + 1000 − sentAt]`. Intersecting
 * the bounds of all responses narrows them; the estimate is the middle, off by at most half the interval.
 */
export class ServerClock {
  #low = Number.NEGATIVE_INFINITY;
  #high = Number.POSITIVE_INFINITY;
  #fallback: number | undefined;

  /** Records one response: its `Date` header (epoch ms, if any) and when it was sent and received. */
  observe(serverDateMs: number | undefined, sentAt: number, receivedAt: number, wallNow: () => number): void {
    if (serverDateMs === undefined) {
      // No Date header: the local wall clock is all we have.
      this.#fallback ??= wallNow() - receivedAt;
      return;
    }
    const low = serverDateMs - receivedAt;
    const high = serverDateMs + 1000 - sentAt;
    if (low > this.#high || high < this.#low) {
      // The server's clock jumped: trust the newest reading only.
      this.#low = low;
      this.#high = high;
    } else {
      this.#low = Math.max(this.#low, low);
      this.#high = Math.min(this.#high, high);
    }
  }

  /** A server timestamp (epoch ms) on the monotonic clock, or undefined before any observation. */
  toMonotonic(serverMs: number): number | undefined {
    const offset = Number.isFinite(this.#low) ? (this.#low + this.#high) / 2 : this.#fallback;
    return offset === undefined ? undefined : serverMs - offset;
  }
}
