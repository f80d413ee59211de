// Differential tests: every case in fixtures/oracle/ built by tsbuild and by BuildKit (Docker
// 20.10), file listings and configs compared; hand-written expectations where that BuildKit
// cannot build a feature or builds it wrong. Cases marked `knownFailure` in case.json are tsbuild
// bugs, registered with test.failing so they flip when fixed. See test/_support/oracle.ts.
import test from 'ava';
import { existsSync } from 'node:fs';
import { oracleScript } from '../_support/docker.ts';
import { loadCases, openOracleSuite, probeDockerSync, type OracleCase, type OracleSuite } from '../_support/oracle.ts';

const cases = loadCases();
const only = process.env.ORACLE_CASES?.split(',');
const selected = only ? cases.filter((c) => only.includes(c.name)) : cases;

// Docker is probed before registering, so a missing daemon shows as skipped tests with the reason.
const docker = selected.some((c) => !c.hand) ? probeDockerSync() : {};
const host = docker.host;

let suite: Promise<OracleSuite> | undefined;
const openSuite = () => (suite ??= openOracleSuite({ host }));
test.after.always(async () => {
  if (suite) (await suite).close();
});

function title(c: OracleCase): string {
  const against = c.hand ? (c.spec.buildkitBug ? 'hand-written (BuildKit bug)' : 'hand-written') : 'BuildKit';
  return `${c.name}: tsbuild matches ${against}`;
}

// a user's clone has no ../shared: the cases compared with BuildKit need its oracle script, so one
// line says so; hand-written cases run, listed by tsbuild's own lister
const noShared = !existsSync(oracleScript);
const needBuildkit = selected.filter((c) => !c.hand);
if (noShared && needBuildkit.length > 0) test.skip(`oracle comparisons with BuildKit (${needBuildkit.length} cases) — skipped: ${oracleScript} is not there (it comes with ../shared)`, () => {});

for (const c of noShared ? selected.filter((x) => x.hand) : selected) {
  if (!c.hand && !host) {
    test.skip(`${title(c)} — skipped: ${docker.reason ?? 'docker not available'}`, () => {});
    continue;
  }
  const register = c.spec.knownFailure ? test.failing : test;
  register(title(c), async (t) => {
    if (c.spec.knownFailure) t.log(`known tsbuild bug: ${c.spec.knownFailure}`);
    const s = await openSuite();
    const r = await s.run(c);
    t.log(`compared with ${r.against}`);
    if (r.fsDiff) t.log(`file listing differs:\n${r.fsDiff}`);
    if (r.configDiff) t.log(`config differs:\n${r.configDiff}`);
    t.true(r.fsDiff === '' && r.configDiff === '', `${c.name}: tsbuild's image differs from ${r.against} (diffs above)`);
  });
}
