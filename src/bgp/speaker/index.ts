/** The BGP speaker: configuration from the datastore, sessions kept to match it, status. See docs/design/bgp-speaker.md. */
export { bgpConfigFor, exportsFor, peerId, DEFAULT_AS_NUMBER, DEFAULT_LISTEN_PORT, DEFAULT_HOLD_TIME, DEFAULT_RESTART_TIME, type SpeakerConfig, type PeerConfig, type PeerType, type RoutingContext, type LogSeverity } from './config.js';
export { BgpDatastoreView, readBgpNode, readBgpPeer, readBgpConfiguration, type BgpSnapshot, type BgpNodeInfo, type BgpPeerInfo, type BgpConfigurationInfo } from './datastore-view.js';
export { BgpSpeaker, type BgpSpeakerOptions, type BgpStatus, type SpeakerSession } from './speaker.js';
export { BgpSyncerFeed } from './syncer-feed.js';
export { bgpStatusHandler, BGP_STATUS_PATH } from './status-handler.js';
export { RouteClassifier, type BgpRouteMessage, type BgpRouteUpdate, type BgpRouteType } from './route-classifier.js';
export { PeerStatusTracker, errorText, type PeerStatus, type PeerState } from './peer-status.js';
export { goDurationSeconds } from './go-duration.js';
export { fetchBgpStatus, formatNodeStatus, formatSince, parseHttpAddress, describeTarget, AgentUnreachableError, type StatusTarget } from './status-client.js';
