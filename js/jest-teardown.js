// The jest global teardown: `globalTeardown: "localaik/jest-teardown"` stops the servers the
// global setup started.

export default async function teardown() {
  const servers = globalThis.__localaikServers || [];
  await Promise.all(servers.map((server) => server.stop()));
  globalThis.__localaikServers = [];
}
