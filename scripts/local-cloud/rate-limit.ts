// Per-key request budgets that refill gradually, as Hetzner documents ("the number of remaining requests
// increases by 1 every second" for 3600/hour), plus GitHub's fixed hourly window.

export interface Budget {
  limit: number;
  remaining: number;
  /** Unix seconds when the budget is full again. */
  reset: number;
  used: number;
  allowed: boolean;
}

/** A token bucket of `limit` requests refilling `limit` per `windowSeconds`. */
export class RefillingLimiter {
  private buckets = new Map<string, { tokens: number; at: number; used: number }>();

  constructor(
    public limit: number,
    private readonly windowSeconds: number,
  ) {}

  /** Changes the limit; every budget starts full again at the new limit. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.buckets.clear();
  }

  reset(): void {
    this.buckets.clear();
  }

  take(key: string, now = Date.now()): Budget {
    const rate = this.limit / (this.windowSeconds * 1000);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.limit, at: now, used: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.limit, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) {
      bucket.tokens -= 1;
      bucket.used += 1;
    }
    const remaining = Math.floor(bucket.tokens);
    const reset = Math.ceil((now + (this.limit - bucket.tokens) / rate) / 1000);
    return { limit: this.limit, remaining, reset, used: bucket.used, allowed };
  }
}

/** GitHub's primary rate limit: a fixed budget per key that resets an hour after the window opened. */
export class WindowLimiter {
  private windows = new Map<string, { start: number; used: number }>();

  constructor(
    public limit: number,
    private readonly windowSeconds: number,
  ) {}

  reset(): void {
    this.windows.clear();
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.windows.clear();
  }

  take(key: string, now = Date.now()): Budget {
    let window = this.windows.get(key);
    if (!window || now >= window.start + this.windowSeconds * 1000) {
      window = { start: now, used: 0 };
      this.windows.set(key, window);
    }
    const allowed = window.used < this.limit;
    if (allowed) window.used += 1;
    return {
      limit: this.limit,
      remaining: Math.max(0, this.limit - window.used),
      reset: Math.ceil((window.start + this.windowSeconds * 1000) / 1000),
      used: window.used,
      allowed,
    };
  }
}
