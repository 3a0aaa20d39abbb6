// jest's node environment with Node's fetch dispatcher visible inside the test sandbox:
// @google/genai reads it from globalThis (Symbol.for("undici.globalDispatcher.1")), which
// jest's sandbox does not carry over; without it every Gemini call fails with "Undici
// globalDispatcher is not available". Not localaik's: any jest suite using @google/genai
// on Node 20 needs it. Use it as `testEnvironment: "localaik/jest-environment"`.
import { createRequire } from "node:module";

// jest's own environment, found from the project jest runs in (this package may be linked
// from elsewhere, where no jest is installed).
const { TestEnvironment } = createRequire(`${process.cwd()}/`)("jest-environment-node");

const DISPATCHER = Symbol.for("undici.globalDispatcher.1");

export default class WithFetchDispatcher extends TestEnvironment {
  async setup() {
    await super.setup();
    new Headers(); // Node's fetch is set up lazily; this makes its dispatcher
    this.global[DISPATCHER] = globalThis[DISPATCHER];
  }
}
