/**
 * One entry point for a framed message: dispatch on the type and decode. This is what a
 * session layer calls for each message the MessageFramer yields.
 */
import { ErrorCode, HeaderSubcode, KEEPALIVE_LENGTH, MessageType } from './constants.js';
import { problem, u16Data, u8Data, type WireAction, type WireProblem } from './errors.js';
import { decodeNotification, type NotificationMessage } from './notification.js';
import { decodeOpen, type OpenMessage } from './open.js';
import { decodeRouteRefresh, type RouteRefreshMessage } from './route-refresh.js';
import type { SessionWireFormat } from './session-format.js';
import { decodeUpdate, type UpdateMessage } from './update.js';

export type DecodedMessage =
  | { type: 'open'; open: OpenMessage }
  /** problems/action: RFC 7606 problems that did not stop the UPDATE from being used. */
  | { type: 'update'; update: UpdateMessage; problems: WireProblem[]; action: WireAction | null }
  | { type: 'notification'; notification: NotificationMessage }
  | { type: 'keepalive' }
  | { type: 'route-refresh'; routeRefresh: RouteRefreshMessage }
  /** The message is unusable; problems[0] (the strongest) names the NOTIFICATION to send. */
  | { type: 'error'; problems: WireProblem[]; action: WireAction };

/** Decode a whole framed message (header included). Never throws. */
export function decodeMessage(msg: Buffer, wire: SessionWireFormat): DecodedMessage {
  if (msg.length < KEEPALIVE_LENGTH) {
    return {
      type: 'error',
      problems: [problem('session-reset', ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `message of ${msg.length} bytes has no header`, u16Data(msg.length))],
      action: 'session-reset',
    };
  }
  const type = msg[18] as number;
  switch (type) {
    case MessageType.OPEN: {
      const r = decodeOpen(msg);
      return r.ok ? { type: 'open', open: r.value } : { type: 'error', problems: r.problems, action: 'session-reset' };
    }
    case MessageType.UPDATE: {
      const r = decodeUpdate(msg, wire);
      if (r.update === null) {
        const strongest = r.problems.filter((p) => p.action === 'session-reset');
        return { type: 'error', problems: strongest.length > 0 ? strongest : r.problems, action: 'session-reset' };
      }
      return { type: 'update', update: r.update, problems: r.problems, action: r.action };
    }
    case MessageType.NOTIFICATION: {
      const r = decodeNotification(msg);
      return r.ok ? { type: 'notification', notification: r.value } : { type: 'error', problems: r.problems, action: 'session-reset' };
    }
    case MessageType.KEEPALIVE:
      if (msg.length !== KEEPALIVE_LENGTH) {
        return {
          type: 'error',
          problems: [problem('session-reset', ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `KEEPALIVE of ${msg.length} bytes`, u16Data(msg.length))],
          action: 'session-reset',
        };
      }
      return { type: 'keepalive' };
    case MessageType.ROUTE_REFRESH: {
      const r = decodeRouteRefresh(msg);
      return r.ok ? { type: 'route-refresh', routeRefresh: r.value } : { type: 'error', problems: r.problems, action: 'session-reset' };
    }
    default:
      return {
        type: 'error',
        problems: [problem('session-reset', ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_TYPE, `unknown message type ${type}`, u8Data(type))],
        action: 'session-reset',
      };
  }
}
