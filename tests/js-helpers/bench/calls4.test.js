import { tenTests } from "./calls.js";

tenTests(4);
