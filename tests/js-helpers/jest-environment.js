// jest's node environment with Node's fetch dispatcher visible inside the test sandbox:
// @google/genai reads it from globalThis (Symbol.for("undici.globalDispatcher.1")), which
// jest's sandbox does not carry over; without it every Gemini call fails with "Undici
// globalDispatcher is not available". Not localaik's: any jest suite using @google/genai
// on Node 20 needs it.
import { TestEnvironment } from "jest-environment-node";

const DISPATCHER = Symbol.for("undici.globalDispatcher.1");

export default class WithFetchDispatcher extends TestEnvironment {
  async setup() {
    await super.setup();
    new Headers(); // Node's fetch is set up lazily; this makes its dispatcher
    this.global[DISPATCHER] = globalThis[DISPATCHER];
  }
}
