import { TestEnvironment } from "jest-environment-node";

/** jest's node environment with Node's fetch dispatcher visible to @google/genai. */
export default class WithFetchDispatcher extends TestEnvironment {}
