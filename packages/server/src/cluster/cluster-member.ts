/**
 * This broker as a member of a cluster: registered under its lease, campaigning for controller
 * whenever the office is free (onTerm is called each time it wins), and able to say who the live
 * brokers and the controller are.
 */
import type { BrokerRegistration, Coordinator, ControllerTerm } from './coordinator.js';

/** A broker as `GET /v1/brokers` reports it. */
export interface ClusterBroker {
  nodeId: number;
  url: string;
  alive: boolean;
  controller: boolean;
}

export class ClusterMember {
  #term: ControllerTerm | null = null;
  #closed = false;
  readonly #campaigning: Promise<void>;
  /** The live brokers' URLs by node id, as a watch of the registrations last reported them (null before its first report). */
  #urls: Map<number, string> | null = null;
  readonly #stopWatching: () => void;

  private constructor(
    readonly coordinator: Coordinator,
    readonly nodeId: number,
    readonly onError: (err: unknown) => void,
    readonly onTerm: () => void,
  ) {
    this.#campaigning = this.#campaign();
    this.#stopWatching = coordinator.watchBrokers((brokers) => {
      this.#urls = new Map(brokers.map((b) => [b.nodeId, b.url]));
    });
  }

  /** Registers `nodeId` at `url` and starts campaigning; a taken node id rejects. */
  static async join(coordinator: Coordinator, broker: BrokerRegistration, onError: (err: unknown) => void, onTerm: () => void = () => {}): Promise<ClusterMember> {
    await coordinator.registerBroker(broker);
    return new ClusterMember(coordinator, broker.nodeId, onError, onTerm);
  }

  /**
   * Campaigns for as long as the broker runs: a campaign that fails (etcd unreachable, restarted)
   * is reported and tried again, so that the cluster has a controller again once etcd is back.
   */
  async #campaign(): Promise<void> {
    while (!this.#closed) {
      try {
        this.#term = await this.coordinator.campaign(this.nodeId);
      } catch (err) {
        if (this.#closed) return;
        this.onError(err);
        await new Promise((r) => setTimeout(r, 1000).unref());
        continue;
      }
      this.onTerm();
      await this.#term.ended;
      this.#term = null;
    }
  }

  /** The current controller term when this broker holds the office, else null. */
  get term(): ControllerTerm | null {
    return this.#term;
  }

  /** The live brokers, with the controller marked. */
  async brokers(): Promise<ClusterBroker[]> {
    const [brokers, controller] = await Promise.all([this.coordinator.brokers(), this.coordinator.controller()]);
    return brokers.map((b) => ({ nodeId: b.nodeId, url: b.url, alive: true, controller: b.nodeId === controller?.nodeId }));
  }

  /**
   * The URL of a live broker, or undefined when it is not registered: answered from the watched
   * registrations (every forwarded request asks, and a dead leader's are retried until a new one
   * is elected: etcd is not asked each time), from etcd itself before the watch has reported.
   */
  async brokerUrl(nodeId: number): Promise<string | undefined> {
    if (this.#urls !== null) return this.#urls.get(nodeId);
    return (await this.coordinator.brokers()).find((b) => b.nodeId === nodeId)?.url;
  }

  /** The controller's node id and URL, or null while the office is vacant. */
  async controller(): Promise<{ nodeId: number; url: string } | null> {
    const c = await this.coordinator.controller();
    const url = c === null ? undefined : await this.brokerUrl(c.nodeId);
    return c === null || url === undefined ? null : { nodeId: c.nodeId, url };
  }

  /** Leaves the cluster: resigns the office if held and ends the registration. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatching();
    await this.#term?.resign().catch(() => undefined);
    await this.coordinator.close();
    await this.#campaigning;
  }
}
