import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { BlockList, isIP } from 'node:net';

/** The proxies whose X-Forwarded-For may be believed (TRUST_PROXY: addresses or CIDR ranges). */
export function trustedProxies(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

const plain = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);
const isTrusted = (trusted: BlockList, address: string) => trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

/**
 * The client's address: the socket's peer, unless that peer is a trusted proxy; then the
 * X-Forwarded-For hops are read from the right (each proxy appends the address it saw) and the
 * first one that is not a trusted proxy is the client. What a client writes into the header
 * itself sits left of that, and is never believed.
 */
export function clientIpOf(c: Context, trusted: BlockList): string {
  let client = plain(getConnInfo(c).remote.address ?? 'unknown');
  if (!isIP(client) || !isTrusted(trusted, client)) return client;
  const hops = (c.req.header('X-Forwarded-For') ?? '').split(',').map((hop) => plain(hop.trim()));
  for (const hop of hops.reverse()) {
    if (!isIP(hop)) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}
