/** The CLI's name resolver for filter expressions: /etc/hosts, /etc/ethers, /etc/networks, /etc/services. */

import { readFileSync } from 'node:fs';
import {
  parseEthersText,
  parseHostsText,
  parseNetworksText,
  parseServicesText,
  resolverFromTables,
  type Resolver,
} from '../filter/names/resolver.js';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A resolver over the system's name files (as libpcap's getaddrinfo/ether_hostton/getnetbyname see them with the files backend). */
export function systemResolver(etc = '/etc'): Resolver {
  const services = parseServicesText(readText(`${etc}/services`));
  return resolverFromTables(
    {
      hosts: parseHostsText(readText(`${etc}/hosts`)),
      ethers: parseEthersText(readText(`${etc}/ethers`)),
      networks: parseNetworksText(readText(`${etc}/networks`)),
    },
    { service: services },
  );
}
