/** How many resources of the given kinds keep the process alive now (`Timeout`, `TCPSocketWrap`,
 * `TCPServerWrap`…). Compare with a count taken before the thing under test started. */
export function liveResources(...types: readonly string[]): number {
  return process.getActiveResourcesInfo().filter((resource) => types.includes(resource)).length;
}
