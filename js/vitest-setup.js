// The vitest setup file: `setupFiles: ["localaik/vitest-setup"]`. Points the SDKs at this
// worker's server, selects a cassette per test (named from its file and titles) before it,
// and fails the test with the miss text when one of its requests missed in replay.

import { afterEach, beforeEach, inject } from "vitest";
import { cassetteName, check, pointSdks, select, serverFor } from "./index.js";

const url = serverFor(inject("localaikUrls"), process.env.VITEST_POOL_ID);
const root = inject("localaikRoot");
pointSdks(url);

// The titles of a test: its suites' and its own, outermost first.
function titles(task) {
  const names = [];
  for (let at = task; at && at !== task.file; at = at.suite) names.unshift(at.name);
  return names;
}

beforeEach(async (context) => {
  const task = context.task;
  await select(url, { cassette: cassetteName(task.file.filepath, titles(task), root) });
});

afterEach(async () => {
  await check(url);
});
