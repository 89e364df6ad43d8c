/** The package version, sent in `User-Agent` and printed by `aitoearn-auth --version` (kept equal to package.json by a test). */
export const VERSION = '0.1.0';
