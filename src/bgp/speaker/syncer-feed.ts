/**
 * Feeds the speaker from the syncer: keeps a BgpDatastoreView, and once the datastore is in
 * sync recomputes bgpConfigFor(node, snapshot) after every batch that touched BGP inputs
 * and hands it to the speaker (which changes only what differs). Before the first in-sync
 * nothing is applied: a half-listed datastore would look like peers and blocks vanished.
 *
 * The agent wires it next to calc, on the same syncer:
 *   callbacks: { onUpdates: (u) => { calc...; feed.onUpdates(u) }, onStatus: (s) => { ...; feed.onStatus(s) } }
 */
import type { Keys } from '../../datastore/keys.js';
import type { SyncStatus, SyncerUpdate } from '../../datastore/syncer.js';
import { bgpConfigFor, type SpeakerConfig } from './config.js';
import { BgpDatastoreView } from './datastore-view.js';
import type { BgpSpeaker } from './speaker.js';

export class BgpSyncerFeed {
  readonly view: BgpDatastoreView;
  #inSync = false;
  #dirty = true;
  #last: SpeakerConfig | undefined;

  constructor(
    private readonly speaker: Pick<BgpSpeaker, 'update'>,
    private readonly nodeName: string,
    keys: Keys,
  ) {
    this.view = new BgpDatastoreView(keys);
  }

  onUpdates(updates: readonly SyncerUpdate[]): void {
    for (const u of updates) if (this.view.apply(u)) this.#dirty = true;
    this.#push();
  }

  onStatus(status: SyncStatus): void {
    if (status === 'in-sync') this.#inSync = true;
    this.#push();
  }

  /** The configuration last handed to the speaker. */
  get config(): SpeakerConfig | undefined {
    return this.#last;
  }

  /** Resolves when the speaker has applied everything pushed so far. */
  settled(): Promise<void> {
    return this.#last ? this.speaker.update(this.#last) : Promise.resolve();
  }

  #push(): void {
    if (!this.#inSync || !this.#dirty) return;
    this.#dirty = false;
    const next = bgpConfigFor(this.nodeName, this.view.snapshot());
    if (this.#last && JSON.stringify(this.#last) === JSON.stringify(next)) return;
    this.#last = next;
    void this.speaker.update(next);
  }
}
