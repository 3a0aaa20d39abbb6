/** A setup file (`localaik/vitest-setup`, `localaik/jest-setup`): hooks only, no exports. */
export {};
