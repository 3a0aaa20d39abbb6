/** The vitest global setup: starts one `localaik serve` per worker; returns the teardown. */
export default function setup(project: {
  config: { root: string; maxWorkers?: number; fileParallelism?: boolean };
  provide(key: string, value: unknown): void;
}): Promise<() => Promise<void>>;

declare module "vitest" {
  export interface ProvidedContext {
    localaikUrls: string[];
    localaikRoot: string;
  }
}
