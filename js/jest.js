// The jest global setup: `globalSetup: "localaik/jest"`, with
// `globalTeardown: "localaik/jest-teardown"` and `setupFilesAfterEnv: ["localaik/jest-setup"]`.
//
// One `localaik serve` per worker (maxWorkers of them): a server's selection holds for every
// request it answers, so two test files running at once need two servers. The URLs reach the
// workers through the environment, which jest's workers inherit.

import { startServers } from "./index.js";

export default async function setup(globalConfig) {
  const workers = globalConfig.runInBand ? 1 : Number(globalConfig.maxWorkers) || 1;
  const servers = await startServers(workers, {
    cassettes: process.env.LOCALAIK_CASSETTES || "cassettes",
  });
  process.env.LOCALAIK_URLS = servers.map((server) => server.url).join(" ");
  process.env.LOCALAIK_ROOT = globalConfig.rootDir;
  globalThis.__localaikServers = servers; // for the teardown, in this same process
}
