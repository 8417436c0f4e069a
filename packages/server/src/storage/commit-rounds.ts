/**
 * Commit rounds: the fsyncs of every log with unsynced data, issued together (decision 0009).
 *
 * A log that needs an fsync joins the next round instead of starting its own. A round starts at
 * the end of the turn it was first asked for (setImmediate: the appends of every request read in
 * that turn are in by then), runs the sync of each member at once on the thread pool, and is over
 * when the last of them settles; a log asking meanwhile joins the round after, which starts as
 * soon as this one is over. So the fsyncs of many partitions run side by side and reach the file
 * system together, where one journal commit can serve them all, instead of each partition keeping
 * its own fsync in flight and the file system committing for each in turn.
 *
 * Each member's promise settles with its own sync, not with the round: a log makes its data
 * durable (and visible, and acknowledged) when its own file's fdatasync has completed, exactly
 * as without rounds. A failed sync fails only its own member.
 *
 *   join() -> [next round] --end of turn, no round running--> [running] --last member settles--> over
 */
export class CommitRounds {
  #next: Array<{ run: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void }> = [];
  /** Members of the running round whose sync has not settled yet (0: no round runs). */
  #running = 0;
  #scheduled = false;
  #rounds = 0;
  #start = (): void => {
    this.#scheduled = false;
    if (this.#running > 0 || this.#next.length === 0) return;
    const members = this.#next;
    this.#next = [];
    this.#running = members.length;
    this.#rounds++;
    const settled = (): void => {
      if (--this.#running === 0) this.#schedule();
    };
    for (const m of members) {
      let sync: Promise<void>;
      try {
        sync = m.run();
      } catch (err) {
        sync = Promise.reject(err);
      }
      sync.then(m.resolve, m.reject).finally(settled);
    }
  };

  /** Runs `sync` in the next round; settles as `sync` does. */
  join(sync: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#next.push({ run: sync, resolve, reject });
      this.#schedule();
    });
  }

  /** Rounds started so far (for tests and metrics). */
  get rounds(): number {
    return this.#rounds;
  }

  #schedule(): void {
    if (this.#scheduled || this.#running > 0 || this.#next.length === 0) return;
    this.#scheduled = true;
    setImmediate(this.#start);
  }
}

/** The rounds of every log in this process: they share one disk, or a few. */
export const commitRounds = new CommitRounds();
