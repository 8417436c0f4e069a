/**
 * Producer ids in a cluster: ids, epochs and owners are the cluster's, kept in the coordination
 * service, so that no two brokers hand out one id (two producers sharing an id would have the
 * second one's sequences taken for retries of the first's, and its records dropped), every
 * partition leader accepts an id whichever broker issued it, and a named producer (a transactional
 * id too) has one id whose every new epoch fences the old ones on every broker.
 *
 * Documents (Coordinator.readDocument/writeDocument, each changed by compare-and-swap):
 *   producer-ids         {"next": N}: every id below N belongs to a block some broker claimed.
 *                        A broker claims BLOCK ids at a time and hands them out one by one; the
 *                        rest of a block is never used once the broker stops.
 *   producer/<id>        {"epoch", "owner"?}: the current epoch of an id and the principal it was
 *                        issued to. Written only for an id issued to a principal or under a name;
 *                        with none, the id (once claimed) is at epoch 0 and anyone's.
 *   producer-name/<key>  {"producerId"}: the id of a named producer. Its epoch is in producer/<id>:
 *                        a new epoch is one compare-and-swap there, a new id (past epoch 32767)
 *                        one here.
 *
 * A leader checks a batch's producer against what it knows of the id (epoch, owner). It learns of
 * an id on its first batch (a read), and of every later change from a watch of producer/ (an
 * epoch raised on another broker fences the old epoch here as soon as the watch delivers it); a
 * batch that carries an epoch above the one it knows makes it read the id again before refusing.
 */
import { WebkaError } from '../errors.js';
import type { Coordinator, Versioned } from './coordinator.js';

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/** Ids a broker claims at a time. */
export const PRODUCER_ID_BLOCK = 100;
/** The first producer id (as a broker alone issues them). */
export const FIRST_PRODUCER_ID = 1000;
const MAX_EPOCH = 32767;
/** Compare-and-swap rounds lost to other brokers before an allocation gives up (503, retriable). */
const MAX_ATTEMPTS = 64;

const IDS = 'producer-ids';
const ID_PREFIX = 'producer/';
const idDoc = (id: number): string => `${ID_PREFIX}${id}`;
const nameDoc = (key: string): string => `producer-name/${key}`;

interface IdState {
  epoch: number;
  owner?: string;
}
interface Known extends IdState {
  /** The revision of what is known (0n: the id had no document when read). */
  revision: bigint;
  /** Changes may have been missed (the watch was lost): read again before trusting a higher epoch. */
  stale: boolean;
}

function unavailable(err: unknown): WebkaError {
  if (err instanceof WebkaError) return err;
  return new WebkaError('COORDINATION_UNAVAILABLE', `the cluster's coordination service did not answer: ${(err as Error).message}`);
}

export class ClusterProducerIds {
  /** Every id below this is known to be claimed (a lower bound of the cluster's counter). */
  #claimed = 0;
  #block = { next: 0, end: 0 };
  #claiming: Promise<void> | null = null;
  #refreshingClaimed: Promise<void> | null = null;
  #known = new Map<number, Known>();
  #reading = new Map<number, Promise<void>>();

  private constructor(readonly coordinator: Coordinator) {}

  /**
   * Follows the cluster's producer ids (until the coordinator is closed, which ends its watches).
   * `localNext` is the next id this broker's own catalog would issue: the cluster's counter is
   * raised to it, so ids the broker issued alone, before it joined, are never issued again.
   */
  static async attach(coordinator: Coordinator, localNext: number): Promise<ClusterProducerIds> {
    const ids = new ClusterProducerIds(coordinator);
    coordinator.watchDocumentChanges(ID_PREFIX, (name, doc) => ids.#changed(name, doc), () => {
      for (const k of ids.#known.values()) k.stale = true;
    });
    for (;;) {
      const doc = await coordinator.readDocument(IDS);
      const next = (doc?.value as { next?: number } | undefined)?.next ?? FIRST_PRODUCER_ID;
      const wanted = Math.max(next, localNext, FIRST_PRODUCER_ID);
      if (doc !== null && wanted === next) {
        ids.#claimed = next;
        return ids;
      }
      if ((await coordinator.writeDocument(IDS, { next: wanted }, doc?.revision ?? null)).ok) {
        ids.#claimed = wanted;
        return ids;
      }
    }
  }

  #changed(name: string, doc: Versioned<unknown> | null): void {
    if (!name.startsWith(ID_PREFIX) || doc === null) return;
    const id = Number(name.slice(ID_PREFIX.length));
    if (!Number.isSafeInteger(id)) return;
    this.#take(id, doc.value as IdState, BigInt(doc.revision));
  }

  #take(id: number, state: IdState, revision: bigint): void {
    const k = this.#known.get(id);
    if (k !== undefined && k.revision > revision) return;
    this.#known.set(id, { epoch: state.epoch, ...(state.owner === undefined ? {} : { owner: state.owner }), revision, stale: false });
    if (id >= this.#claimed) this.#claimed = id + 1;
  }

  // ---- what a leader checks (synchronously, after ensure)

  /** The current epoch of an id as this broker knows it, or undefined when the id was not issued. */
  epoch(producerId: number): number | undefined {
    if (producerId < FIRST_PRODUCER_ID || producerId >= this.#claimed) return undefined;
    return this.#known.get(producerId)?.epoch ?? 0;
  }

  /** The principal an id was issued to, if any. */
  owner(producerId: number): string | undefined {
    return this.#known.get(producerId)?.owner;
  }

  /**
   * Makes what epoch() and owner() answer for `producerId` current enough to judge a batch of
   * `epoch`: undefined when it already is (no wait), else a promise that reads the id.
   */
  ensure(producerId: number, epoch: number): Promise<void> | undefined {
    if (producerId < FIRST_PRODUCER_ID || !Number.isSafeInteger(producerId)) return undefined;
    const k = this.#known.get(producerId);
    if (k !== undefined && !k.stale && epoch <= k.epoch) return undefined;
    return this.#read(producerId);
  }

  #read(producerId: number): Promise<void> {
    let reading = this.#reading.get(producerId);
    if (reading === undefined) {
      reading = (async () => {
        try {
          if (producerId >= this.#claimed) await this.#refreshClaimed();
          if (producerId >= this.#claimed) return;
          const doc = await this.coordinator.readDocument(idDoc(producerId));
          if (doc !== null) this.#take(producerId, doc.value as IdState, BigInt(doc.revision));
          else if (!this.#known.has(producerId)) this.#known.set(producerId, { epoch: 0, revision: 0n, stale: false });
          else this.#known.get(producerId)!.stale = false;
        } catch (err) {
          throw unavailable(err);
        } finally {
          this.#reading.delete(producerId);
        }
      })();
      this.#reading.set(producerId, reading);
    }
    return reading;
  }

  #refreshClaimed(): Promise<void> {
    this.#refreshingClaimed ??= (async () => {
      try {
        const doc = await this.coordinator.readDocument(IDS);
        const next = (doc?.value as { next?: number } | undefined)?.next ?? 0;
        if (next > this.#claimed) this.#claimed = next;
      } finally {
        this.#refreshingClaimed = null;
      }
    })();
    return this.#refreshingClaimed;
  }

  // ---- issuing

  /**
   * A new producer id at epoch 0, or, for a name (`key`) known in the cluster, its id at the next
   * epoch (a new id past epoch 32767). With `owner`, only that principal may write with the id.
   */
  async allocate(key: string | undefined, owner: string | undefined): Promise<ProducerIdentity> {
    try {
      if (key === undefined) {
        const producerId = await this.#nextId();
        if (owner !== undefined) await this.#create(producerId, owner);
        return { producerId, producerEpoch: 0 };
      }
      return await this.#allocateNamed(key, owner);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async #allocateNamed(key: string, owner: string | undefined): Promise<ProducerIdentity> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(attempt, 10)));
      const named = await this.coordinator.readDocument(nameDoc(key));
      if (named === null) {
        const producerId = await this.#nextId();
        await this.#create(producerId, owner);
        // another broker named it first: this id is never used, and the name's next epoch is taken instead
        if ((await this.coordinator.writeDocument(nameDoc(key), { producerId }, null)).ok) return { producerId, producerEpoch: 0 };
        continue;
      }
      const producerId = (named.value as { producerId: number }).producerId;
      const current = await this.coordinator.readDocument(idDoc(producerId));
      const state = (current?.value as IdState | undefined) ?? { epoch: 0 };
      const nextOwner = owner ?? state.owner;
      if (state.epoch < MAX_EPOCH) {
        const next: IdState = { epoch: state.epoch + 1, ...(nextOwner === undefined ? {} : { owner: nextOwner }) };
        const r = await this.coordinator.writeDocument(idDoc(producerId), next, current?.revision ?? null);
        if (!r.ok) continue;
        this.#take(producerId, next, BigInt(r.revision));
        return { producerId, producerEpoch: next.epoch };
      }
      const fresh = await this.#nextId();
      await this.#create(fresh, nextOwner);
      if ((await this.coordinator.writeDocument(nameDoc(key), { producerId: fresh }, named.revision)).ok) return { producerId: fresh, producerEpoch: 0 };
    }
    throw new WebkaError('COORDINATION_UNAVAILABLE', `producer "${key}" was asked for on other brokers ${MAX_ATTEMPTS} times while this broker tried to raise its epoch; retry`);
  }

  /** Writes a fresh id's document (epoch 0 and its owner), before the id is handed out. */
  async #create(producerId: number, owner: string | undefined): Promise<void> {
    const state: IdState = { epoch: 0, ...(owner === undefined ? {} : { owner }) };
    const r = await this.coordinator.writeDocument(idDoc(producerId), state, null);
    if (!r.ok) throw new WebkaError('INTERNAL', `producer id ${producerId} of this broker's block already has a document`);
    this.#take(producerId, state, BigInt(r.revision));
  }

  async #nextId(): Promise<number> {
    while (this.#block.next >= this.#block.end) {
      this.#claiming ??= this.#claimBlock().finally(() => {
        this.#claiming = null;
      });
      await this.#claiming;
    }
    return this.#block.next++;
  }

  async #claimBlock(): Promise<void> {
    for (;;) {
      const doc = await this.coordinator.readDocument(IDS);
      const start = Math.max((doc?.value as { next?: number } | undefined)?.next ?? FIRST_PRODUCER_ID, FIRST_PRODUCER_ID);
      const r = await this.coordinator.writeDocument(IDS, { next: start + PRODUCER_ID_BLOCK }, doc?.revision ?? null);
      if (r.ok) {
        this.#block = { next: start, end: start + PRODUCER_ID_BLOCK };
        if (this.#block.end > this.#claimed) this.#claimed = this.#block.end;
        return;
      }
    }
  }
}
