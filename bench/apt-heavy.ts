// The apt-heavy scenario's context (issue 10): one RUN that installs a C/C++ toolchain (clang 14,
// g++ 12, llvm 14 and libclang's headers: 33 packages, ~625 MB unpacked, tens of thousands of
// files) on the compile-c Debian base, as `apt-get install` of a toolchain makes one big layer of
// many real files. No network while timed: the .debs are fetched once (`apt-get download`, from the
// machine's apt sources) into the bench cache, and the build installs them with `dpkg -i` from a
// bind mount of the context, so every tool unpacks the same files and nothing else.
//   <cache>/apt-heavy/Dockerfile, <cache>/apt-heavy/debs/*.deb
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, works } from './measure.ts';

/** What the base lacks of `clang-14 g++-12 llvm-14 libclang-14-dev` (apt-cache depends --recurse, minus the base's packages), pinned so the layer is the same every time. */
const packages = [
  'clang-14', 'g++-12', 'libbrotli1', 'libbsd0', 'libclang-14-dev', 'libclang-common-14-dev', 'libclang-cpp14', 'libclang1-14', 'libcurl3-nss', 'libedit2', 'libgc1',
  'libicu72', 'libldap-2.5-0', 'libllvm14', 'libnghttp2-14', 'libnspr4', 'libnss3', 'libobjc-12-dev', 'libobjc4', 'libpfm4', 'libpsl5', 'librtmp1', 'libsasl2-2',
  'libsasl2-modules-db', 'libsqlite3-0', 'libssh2-1', 'libstdc++-12-dev', 'libxml2', 'libz3-4', 'llvm-14', 'llvm-14-linker-tools', 'llvm-14-runtime', 'nss-plugin-pem',
];

const dockerfile = `# bench apt-heavy (issue 10): a toolchain installed in one RUN, one ~625 MB layer of real files.
# The .debs come from the context through a bind mount, so they do not land in any layer.
ARG GCC=debian-gcc
FROM \${GCC}
RUN --mount=type=bind,source=debs,target=/debs dpkg -i /debs/*.deb && clang-14 --version
`;

/** The context directory, made if missing; throws saying why it cannot be made here. */
export function ensureAptHeavy(cache: string): string {
  const dir = join(cache, 'apt-heavy');
  if (existsSync(join(dir, 'Dockerfile')) && readdirSync(join(dir, 'debs')).length === packages.length) return dir;
  if (!works('apt-get', ['--version'])) throw new Error('apt-get not found');
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'debs'), { recursive: true });
  console.error(`bench: fetching ${packages.length} .debs for apt-heavy once (cached in ${dir})`);
  run('apt-get', ['download', '-q', ...packages], { cwd: join(tmp, 'debs') });
  writeFileSync(join(tmp, 'Dockerfile'), dockerfile);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
