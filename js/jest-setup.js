// The jest setup file: `setupFilesAfterEnv: ["localaik/jest-setup"]`. Points the SDKs at this
// worker's server, selects a cassette per test (named from its file and full title) before it,
// and fails the test with the miss text when one of its requests missed in replay.

import { cassetteName, check, pointSdks, select, serverFor } from "./index.js";

const url = serverFor((process.env.LOCALAIK_URLS || "").split(" ").filter(Boolean),
  process.env.JEST_WORKER_ID);
const root = process.env.LOCALAIK_ROOT || process.cwd();
pointSdks(url);

beforeEach(async () => {
  const { testPath, currentTestName } = expect.getState();
  await select(url, { cassette: cassetteName(testPath, [currentTestName], root) });
});

afterEach(async () => {
  await check(url);
});
