/**
 * Decoding errors are values, never exceptions. Each problem carries the RFC 7606 action the
 * receiver should take and the NOTIFICATION (code, subcode, data) that a session reset would
 * send; for the milder actions the code and subcode still say what went wrong, for logging.
 * The FSM / session layer decides what to do with them; the codec only reports.
 */

/**
 * RFC 7606 §2 approaches, strongest first:
 * - 'session-reset': send the NOTIFICATION and drop the session.
 * - 'afi-safi-disable': stop using this AFI/SAFI on the session (RFC 4760 §7); a session
 *   layer that does not implement it should fall back to 'session-reset'.
 * - 'treat-as-withdraw': treat every NLRI of the UPDATE (NLRI field and MP_REACH_NLRI) as
 *   withdrawn; withdrawals in the message still apply.
 * - 'attribute-discard': the offending attribute was left out; the UPDATE is otherwise used.
 */
export type WireAction = 'session-reset' | 'afi-safi-disable' | 'treat-as-withdraw' | 'attribute-discard';

export interface WireProblem {
  action: WireAction;
  code: number;
  subcode: number;
  /** NOTIFICATION data (may be empty). */
  data: Buffer;
  /** One line for logs: what was wrong, where. */
  reason: string;
  /** The path attribute type at fault, when there is one. */
  attrType?: number;
  /** The address family at fault, for 'afi-safi-disable'. */
  afi?: number;
  safi?: number;
}

const SEVERITY: Record<WireAction, number> = {
  'session-reset': 4,
  'afi-safi-disable': 3,
  'treat-as-withdraw': 2,
  'attribute-discard': 1,
};

/** The strongest action among problems (RFC 7606 §3(c)), or null when there are none. */
export function strongestAction(problems: readonly WireProblem[]): WireAction | null {
  let best: WireAction | null = null;
  for (const p of problems) {
    if (best === null || SEVERITY[p.action] > SEVERITY[best]) best = p.action;
  }
  return best;
}

/** True when `a` is at least as strong as `b`. */
export function actionAtLeast(a: WireAction | null, b: WireAction): boolean {
  return a !== null && SEVERITY[a] >= SEVERITY[b];
}

const EMPTY = Buffer.alloc(0);

export function problem(
  action: WireAction,
  code: number,
  subcode: number,
  reason: string,
  data: Buffer = EMPTY,
  extra?: { attrType?: number; afi?: number; safi?: number },
): WireProblem {
  const p: WireProblem = { action, code, subcode, data, reason };
  if (extra?.attrType !== undefined) p.attrType = extra.attrType;
  if (extra?.afi !== undefined) p.afi = extra.afi;
  if (extra?.safi !== undefined) p.safi = extra.safi;
  return p;
}

/** A 2-octet big-endian value as NOTIFICATION data (bad length, supported version). */
export function u16Data(value: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(value & 0xffff, 0);
  return b;
}

export function u8Data(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

/** Decoders that yield one value or a list of problems. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; problems: WireProblem[] };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fail<T>(p: WireProblem): Decoded<T> {
  return { ok: false, problems: [p] };
}
