/**
 * BGP capabilities (RFC 5492): code, length, value. A capability we do not know, or a known
 * one whose value has the wrong shape, is kept as { kind: 'unknown', code, value } so it can
 * be logged and re-encoded; it is never a reason to reject the OPEN (RFC 5492 §5 leaves
 * that choice to the receiver, and a peer's new or odd capability must not break peering).
 */
import { CapabilityCode } from './constants.js';

export interface MultiprotocolCapability {
  kind: 'multiprotocol';
  afi: number;
  safi: number;
}
export interface RouteRefreshCapability {
  kind: 'route-refresh';
  /** 2 (RFC 2918) or the old 128. */
  code: number;
}
export interface FourOctetAsCapability {
  kind: 'four-octet-as';
  asn: number;
}
export interface GracefulRestartFamily {
  afi: number;
  safi: number;
  /** F bit: forwarding state was preserved for this family across the restart. */
  forwardingState: boolean;
}
export interface GracefulRestartCapability {
  kind: 'graceful-restart';
  /** R bit: the sender has restarted. */
  restarting: boolean;
  /** N bit (RFC 8538): the sender supports graceful restart for NOTIFICATIONs. */
  notification: boolean;
  /** Restart time in seconds, 0..4095. */
  restartTime: number;
  families: GracefulRestartFamily[];
}
/** RFC 7911 Send/Receive field. */
export const AddPathDirection = { RECEIVE: 1, SEND: 2, BOTH: 3 } as const;
export interface AddPathFamily {
  afi: number;
  safi: number;
  /** 1 receive, 2 send, 3 both. */
  direction: number;
}
export interface AddPathCapability {
  kind: 'add-path';
  families: AddPathFamily[];
}
export interface ExtendedNextHopEntry {
  /** NLRI AFI / SAFI (SAFI is 2 octets in this capability). */
  afi: number;
  safi: number;
  nextHopAfi: number;
}
export interface ExtendedNextHopCapability {
  kind: 'extended-next-hop';
  entries: ExtendedNextHopEntry[];
}
export interface ExtendedMessageCapability {
  kind: 'extended-message';
}
export interface EnhancedRouteRefreshCapability {
  kind: 'enhanced-route-refresh';
}
export interface FqdnCapability {
  kind: 'fqdn';
  hostname: string;
  domain: string;
}
export interface UnknownCapability {
  kind: 'unknown';
  code: number;
  value: Buffer;
}

export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | FourOctetAsCapability
  | GracefulRestartCapability
  | AddPathCapability
  | ExtendedNextHopCapability
  | ExtendedMessageCapability
  | EnhancedRouteRefreshCapability
  | FqdnCapability
  | UnknownCapability;

/** Decode one capability's value. Never fails: odd shapes become 'unknown'. */
export function decodeCapability(code: number, value: Buffer): Capability {
  const len = value.length;
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL:
      if (len === 4) return { kind: 'multiprotocol', afi: value.readUInt16BE(0), safi: value[3] as number };
      break;
    case CapabilityCode.ROUTE_REFRESH:
    case CapabilityCode.ROUTE_REFRESH_OLD:
      if (len === 0) return { kind: 'route-refresh', code };
      break;
    case CapabilityCode.FOUR_OCTET_AS:
      if (len === 4) return { kind: 'four-octet-as', asn: value.readUInt32BE(0) };
      break;
    case CapabilityCode.GRACEFUL_RESTART:
      if (len >= 2 && (len - 2) % 4 === 0) {
        const head = value.readUInt16BE(0);
        const families: GracefulRestartFamily[] = [];
        for (let p = 2; p < len; p += 4) {
          families.push({
            afi: value.readUInt16BE(p),
            safi: value[p + 2] as number,
            forwardingState: ((value[p + 3] as number) & 0x80) !== 0,
          });
        }
        return {
          kind: 'graceful-restart',
          restarting: (head & 0x8000) !== 0,
          notification: (head & 0x4000) !== 0,
          restartTime: head & 0x0fff,
          families,
        };
      }
      break;
    case CapabilityCode.ADD_PATH:
      if (len > 0 && len % 4 === 0) {
        const families: AddPathFamily[] = [];
        for (let p = 0; p < len; p += 4) {
          const direction = value[p + 3] as number;
          if (direction < 1 || direction > 3) return { kind: 'unknown', code, value };
          families.push({ afi: value.readUInt16BE(p), safi: value[p + 2] as number, direction });
        }
        return { kind: 'add-path', families };
      }
      break;
    case CapabilityCode.EXTENDED_NEXT_HOP:
      if (len > 0 && len % 6 === 0) {
        const entries: ExtendedNextHopEntry[] = [];
        for (let p = 0; p < len; p += 6) {
          entries.push({
            afi: value.readUInt16BE(p),
            safi: value.readUInt16BE(p + 2),
            nextHopAfi: value.readUInt16BE(p + 4),
          });
        }
        return { kind: 'extended-next-hop', entries };
      }
      break;
    case CapabilityCode.EXTENDED_MESSAGE:
      if (len === 0) return { kind: 'extended-message' };
      break;
    case CapabilityCode.ENHANCED_ROUTE_REFRESH:
      if (len === 0) return { kind: 'enhanced-route-refresh' };
      break;
    case CapabilityCode.FQDN: {
      if (len < 2) break;
      const hl = value[0] as number;
      if (1 + hl + 1 > len) break;
      const dl = value[1 + hl] as number;
      if (2 + hl + dl !== len) break;
      const hostname = value.toString('utf8', 1, 1 + hl);
      const domain = value.toString('utf8', 2 + hl, 2 + hl + dl);
      // Only keep the structured form when it re-encodes to the same bytes (valid UTF-8).
      if (Buffer.byteLength(hostname) !== hl || Buffer.byteLength(domain) !== dl) break;
      return { kind: 'fqdn', hostname, domain };
    }
    default:
      break;
  }
  return { kind: 'unknown', code, value: Buffer.from(value) };
}

export function capabilityCode(cap: Capability): number {
  switch (cap.kind) {
    case 'multiprotocol':
      return CapabilityCode.MULTIPROTOCOL;
    case 'route-refresh':
      return cap.code;
    case 'four-octet-as':
      return CapabilityCode.FOUR_OCTET_AS;
    case 'graceful-restart':
      return CapabilityCode.GRACEFUL_RESTART;
    case 'add-path':
      return CapabilityCode.ADD_PATH;
    case 'extended-next-hop':
      return CapabilityCode.EXTENDED_NEXT_HOP;
    case 'extended-message':
      return CapabilityCode.EXTENDED_MESSAGE;
    case 'enhanced-route-refresh':
      return CapabilityCode.ENHANCED_ROUTE_REFRESH;
    case 'fqdn':
      return CapabilityCode.FQDN;
    case 'unknown':
      return cap.code;
  }
}

/** FQDN names are cut to 255 bytes on encode (the length field is one octet). */
function fqdnPart(text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  return b.length <= 255 ? b : b.subarray(0, 255);
}

/** Length of the capability value (without the 2-byte code/length header). */
export function capabilityValueLength(cap: Capability): number {
  switch (cap.kind) {
    case 'multiprotocol':
    case 'four-octet-as':
      return 4;
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
      return 0;
    case 'graceful-restart':
      return 2 + 4 * cap.families.length;
    case 'add-path':
      return 4 * cap.families.length;
    case 'extended-next-hop':
      return 6 * cap.entries.length;
    case 'fqdn':
      return 2 + fqdnPart(cap.hostname).length + fqdnPart(cap.domain).length;
    case 'unknown':
      return cap.value.length;
  }
}

/** Bytes the capability takes on the wire: code, length and value. */
export function capabilityEncodingLength(cap: Capability): number {
  return 2 + capabilityValueLength(cap);
}

/** Write code, length, value at offset; returns the offset after it. */
export function encodeCapability(cap: Capability, buf: Buffer, offset: number): number {
  const len = capabilityValueLength(cap);
  if (len > 255) throw new RangeError(`capability ${capabilityCode(cap)} value is ${len} bytes, over 255`);
  buf[offset] = capabilityCode(cap);
  buf[offset + 1] = len;
  let p = offset + 2;
  switch (cap.kind) {
    case 'multiprotocol':
      buf.writeUInt16BE(cap.afi, p);
      buf[p + 2] = 0;
      buf[p + 3] = cap.safi;
      break;
    case 'four-octet-as':
      buf.writeUInt32BE(cap.asn >>> 0, p);
      break;
    case 'graceful-restart':
      buf.writeUInt16BE((cap.restarting ? 0x8000 : 0) | (cap.notification ? 0x4000 : 0) | (cap.restartTime & 0x0fff), p);
      for (let i = 0; i < cap.families.length; i++) {
        const f = cap.families[i] as GracefulRestartFamily;
        const q = p + 2 + i * 4;
        buf.writeUInt16BE(f.afi, q);
        buf[q + 2] = f.safi;
        buf[q + 3] = f.forwardingState ? 0x80 : 0;
      }
      break;
    case 'add-path':
      for (let i = 0; i < cap.families.length; i++) {
        const f = cap.families[i] as AddPathFamily;
        const q = p + i * 4;
        buf.writeUInt16BE(f.afi, q);
        buf[q + 2] = f.safi;
        buf[q + 3] = f.direction;
      }
      break;
    case 'extended-next-hop':
      for (let i = 0; i < cap.entries.length; i++) {
        const e = cap.entries[i] as ExtendedNextHopEntry;
        const q = p + i * 6;
        buf.writeUInt16BE(e.afi, q);
        buf.writeUInt16BE(e.safi, q + 2);
        buf.writeUInt16BE(e.nextHopAfi, q + 4);
      }
      break;
    case 'fqdn': {
      const h = fqdnPart(cap.hostname);
      const d = fqdnPart(cap.domain);
      buf[p++] = h.length;
      h.copy(buf, p);
      p += h.length;
      buf[p++] = d.length;
      d.copy(buf, p);
      break;
    }
    case 'unknown':
      cap.value.copy(buf, p);
      break;
    case 'route-refresh':
    case 'extended-message':
    case 'enhanced-route-refresh':
      break;
  }
  return offset + 2 + len;
}

/**
 * Decode the capability TLVs in buf[start, end) (the value of one Capabilities optional
 * parameter). Returns null if a TLV runs past `end`.
 */
export function decodeCapabilityList(buf: Buffer, start: number, end: number): Capability[] | null {
  const caps: Capability[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) return null;
    const code = buf[p] as number;
    const len = buf[p + 1] as number;
    if (p + 2 + len > end) return null;
    caps.push(decodeCapability(code, buf.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
  return caps;
}
