/**
 * A BGP session for agent tests on fakes: it does what the test says (establish, announce,
 * go down) instead of talking to a peer. Pass it as `bgpTransport.sessionFactory`.
 */
import { EventEmitter } from 'node:events';
import type { NegotiatedSession } from '../bgp/fsm/types.js';
import type { BgpSessionEvents, BgpSessionOptions } from '../bgp/session/session.js';
import type { SpeakerSession } from '../bgp/speaker/speaker.js';

export class FakeBgpSession extends EventEmitter<BgpSessionEvents> implements SpeakerSession {
  state: SpeakerSession['state'] = 'Idle';
  constructor(readonly opts: BgpSessionOptions) {
    super();
  }
  start(): void {
    this.state = 'Active';
  }
  close(): void {
    this.state = 'Idle';
  }
  sendRoutes(): number {
    return 0;
  }
  acceptConnection(): void {}
  establish(): void {
    const f = this.opts.fsm;
    const negotiated: NegotiatedSession = {
      peerAs: f.peerAs, peerId: this.opts.peerAddress, ebgp: false, holdTime: 90, keepaliveTime: 30, fourOctetAs: true, routeRefresh: true, families: [{ afi: 1, safi: 1 }],
      peerOpen: { type: 'open', version: 4, myAs: f.peerAs, holdTime: 90, bgpId: this.opts.peerAddress, capabilities: [] },
    };
    this.state = 'Established';
    this.emit('state', { from: 'OpenConfirm', to: 'Established', reason: { code: 'keepalive-received' }, event: 'KeepAliveMsg', direction: 'inbound' });
    this.emit('established', { negotiated, localAddress: '10.0.0.2', remoteAddress: this.opts.peerAddress, direction: 'inbound' });
  }
  announce(prefixes: string[], nextHop: string): void {
    const nlri = prefixes.map((p) => ({ prefix: p.split('/')[0]!, length: Number(p.split('/')[1]) }));
    this.emit('update', { message: { type: 'update', withdrawn: [], nlri, attributes: { origin: 'igp', asPath: [], nextHop, localPref: 100 } }, outcome: 'ok', discarded: [], withdrawnDueToError: [] });
  }
  down(): void {
    this.state = 'Idle';
    this.emit('state', { from: 'Established', to: 'Idle', reason: { code: 'hold-timer-expired' }, event: 'HoldTimerExpires', direction: 'inbound' });
    this.emit('down', { reason: { code: 'hold-timer-expired' }, graceful: false, negotiated: {} as NegotiatedSession });
  }
}
