/** The jest global setup (`localaik/jest`) or teardown (`localaik/jest-teardown`). */
export default function setup(globalConfig?: {
  rootDir: string;
  maxWorkers: number;
  runInBand?: boolean;
}): Promise<void>;
