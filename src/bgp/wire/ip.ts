/** The codec's address helpers: the project's one implementation lives in src/common/ip.ts. */
export { ipv4FromString, ipv4ToString, ipv6FromString, ipv6ToString } from '../../common/ip.js';
