/**
 * Files built into the single executable (scripts/build-sea.ts): the console's build under
 * `console/`, Swagger UI's files under `swagger-ui/`. The executable's entry (sea/main.ts) hands
 * them over before the CLI starts; a broker run from files (npm, the repository) has none, and
 * reads its files from the packages as before.
 */
export interface EmbeddedAssets {
  /** Every key, e.g. `console/index.html`. */
  keys(): readonly string[];
  /** The bytes of a key, or undefined when there is no such asset. */
  get(key: string): Buffer | undefined;
}

let current: EmbeddedAssets | null = null;

export function setEmbeddedAssets(assets: EmbeddedAssets | null): void {
  current = assets;
}

/** The embedded files, or null when not running as the single executable. */
export function embeddedAssets(): EmbeddedAssets | null {
  return current;
}
