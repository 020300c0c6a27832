/**
 * Raw rtnetlink for routes, links and addresses, each call optionally inside another network
 * namespace. Messages are built and parsed in TypeScript (netlink-*-codec.ts); the addon only
 * carries bytes in the right namespace (native/netlink.cc). See docs/design/netlink.md.
 */
import { NetlinkAddresses } from './netlink-addresses.js';
import { NetlinkLinks } from './netlink-links.js';
import { NetlinkRoutes } from './netlink-routes.js';
import { NetlinkSocket, type NetlinkBinding } from './netlink-socket.js';

export { NetlinkAddresses, type Address } from './netlink-addresses.js';
export { NetlinkLinks, type Link, type LinkRef, type CreateVethOptions, type VethPair } from './netlink-links.js';
export { NetlinkRoutes, describeRoute, type ListedRoute, type ListRoutesOptions, type Route, type RouteNexthop, type RouteSpec, type RouteWrite } from './netlink-routes.js';
export { NetlinkSocket, isErrno, type NetlinkBinding } from './netlink-socket.js';
export type { RouteScope, RouteType } from './netlink-constants.js';

/** The three families over one transport. */
export class Netlink {
  readonly links: NetlinkLinks;
  readonly addresses: NetlinkAddresses;
  readonly routes: NetlinkRoutes;

  constructor(binding?: NetlinkBinding) {
    const socket = new NetlinkSocket(binding);
    this.links = new NetlinkLinks(socket);
    this.addresses = new NetlinkAddresses(socket, this.links);
    this.routes = new NetlinkRoutes(socket, this.links);
  }
}
