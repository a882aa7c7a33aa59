/** What an If-Match asks for: any existing version (`*`) or one of a set of versions. */
export type VersionCondition = { any: true } | { any: false; versions: number[] };

export function versionMatches(condition: VersionCondition, version: number): boolean {
  return condition.any || condition.versions.includes(version);
}
