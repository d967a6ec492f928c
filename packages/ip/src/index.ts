export {
  familyOf,
  formatIp,
  formatIpBytes,
  type IpFamily,
  parseIp,
  parseIpBytes,
} from './address.js';
export { canonicalIp } from './canonical.js';
export { formatIpv4, formatIpv4Bytes, parseIpv4, parseIpv4Into } from './ipv4.js';
export { formatIpv6, formatIpv6Bytes, isLinkLocal6, parseIpv6, parseIpv6Into } from './ipv6.js';
export {
  canonicalMac,
  formatMac,
  isGroupOrZeroMac,
  parseLinkAddress,
  parseMacInto,
} from './mac.js';
export { type IpPrefix, parsePrefix, parsePrefixLength } from './prefix.js';
