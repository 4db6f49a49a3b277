/**
 * Poll a condition with a deadline: the one way tests wait for something to happen.
 * Never sleep for a fixed time instead; a sleep is either too short on a busy machine or
 * wasted time on an idle one.
 */

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Time between two checks (default 50 ms). */
  intervalMs?: number;
  /** What we wait for, for the timeout message: "bgp session to be Established". */
  what?: string;
}

/** Thrown when the deadline passes; carries the last value or error seen. */
export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
    this.name = 'WaitTimeoutError';
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describe(value: unknown): string {
  if (value instanceof Error) return `error: ${value.message}`;
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 300 ? `${text.slice(0, 300)}...` : text;
  } catch {
    return String(value);
  }
}

/**
 * Calls `condition` until it returns a truthy value, and returns that value. A condition
 * that throws counts as "not yet" (the service may not be up); the last error is reported
 * on timeout. The condition is always tried at least once, and once more at the deadline.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const what = options.what ?? 'condition';
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  let sawError = false;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastValue = value;
      sawError = false;
    } catch (err) {
      lastError = err;
      sawError = true;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await delay(Math.min(intervalMs, left));
  }
  const last = sawError ? describe(lastError) : `last value: ${describe(lastValue)}`;
  throw new WaitTimeoutError(
    `timed out after ${timeoutMs}ms waiting for ${what} (${last})`,
    lastValue,
    sawError ? lastError : undefined,
  );
}
