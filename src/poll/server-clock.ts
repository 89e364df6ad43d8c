/**
 * The server's clock on our monotonic clock, so that `expiresAt` (server time) becomes a local deadline that
 * a skewed or jumping local wall clock cannot move. Each `Date` header (1 s resolution) was stamped while its
 * request was in flight, so it bounds the offset (server − monotonic time) to
 * `[date − receivedAt, date + 1000 − sentAt]`; the bounds of all responses are intersected and the estimate
 * is their middle.
 */
export class ServerClock {
  #low = Number.NEGATIVE_INFINITY;
  #high = Number.POSITIVE_INFINITY;
  #fallback: number | undefined;

  observe(serverDateMs: number | undefined, sentAt: number, receivedAt: number, wallNow: () => number): void {
    // No Date header: the local wall clock is all we have.
    if (serverDateMs === undefined) this.#fallback ??= wallNow() - receivedAt;
    else {
      const low = serverDateMs - receivedAt;
      const high = serverDateMs + 1000 - sentAt;
      // Disjoint bounds: the server's clock jumped, so only the newest reading counts.
      const jumped = low > this.#high || high < this.#low;
      this.#low = jumped ? low : Math.max(this.#low, low);
      this.#high = jumped ? high : Math.min(this.#high, high);
    }
  }

  /** A server timestamp (epoch ms) on the monotonic clock, or undefined before any observation. */
  toMonotonic(serverMs: number): number | undefined {
    const offset = Number.isFinite(this.#low) ? (this.#low + this.#high) / 2 : this.#fallback;
    return offset === undefined ? undefined : serverMs - offset;
  }
}
