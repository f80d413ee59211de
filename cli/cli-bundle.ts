// The CLI bundle's loader lives in bin/tsbuild.js (in plain JavaScript there, so that a start
// imports no module before the bundle: see its opening comment); this names it for TypeScript
// callers (the bench, scripts).
export { describeInputs, freshBundle, loadBundle, manifestPath } from '../bin/tsbuild.js';
export type { BundleManifest, LoadedBundle } from '../bin/tsbuild.js';
