// The vitest global setup: `globalSetup: ["localaik/vitest"]` in vitest.config, with
// `setupFiles: ["localaik/vitest-setup"]` for the per-test cassettes.
//
// One `localaik serve` per worker (maxWorkers of them; one when fileParallelism is off): a
// server's selection holds for every request it answers, so two test files running at once
// need two servers. The URLs reach the workers through vitest's `provide`.

import { availableParallelism } from "node:os";
import { startServers } from "./index.js";

// The most workers vitest runs at once: as vitest counts them (its run-mode default: one
// core less than the machine has, at least one).
function workersOf(config) {
  if (config.fileParallelism === false) return 1;
  const pool = config.poolOptions?.[config.pool] || {};
  const most = config.maxWorkers ?? pool.maxForks ?? pool.maxThreads;
  return Math.max(1, Number(most) || availableParallelism() - 1);
}

export default async function setup(project) {
  const config = project.config;
  const workers = workersOf(config);
  const servers = await startServers(workers, {
    cassettes: process.env.LOCALAIK_CASSETTES || "cassettes",
  });
  project.provide("localaikUrls", servers.map((server) => server.url));
  project.provide("localaikRoot", config.root);
  return async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
}
