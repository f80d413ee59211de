#!/usr/bin/env bash
# Installs what tsbuild and its tests need on a fresh Debian 12 machine, skipping what is there:
# Debian packages (runc and crun, busybox-static for the base-image fixture, openssh-client for --ssh with
# key files, slirp4netns and passt for the RUN network sandbox, iproute2 for its namespaces, debootstrap for the
# Debian base-image fixture, and the tools the tests check our output with) and the npm packages
# (Node 24 among them, as a devDependency).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# (tmux: the tests of the tty progress drive a real terminal with it)
for pair in runc:runc crun:crun setfattr:attr bzip2:bzip2 xz:xz-utils zstd:zstd git:git docker-registry:docker-registry skopeo:skopeo umoci:umoci oci-image-tool:oci-image-tool ssh-agent:openssh-client tmux:tmux; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# the token-auth registry tests make the token service's certificate with openssl
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# the RUN network sandbox (slirp4netns, the default; pasta where names resolve over IPv6 only, or on
# request; namespaces through ip netns) and
# the Debian base-image fixture
# (chattr: a new state root spreads its snapshots over ext4's block groups, src/state/spread-dirs.ts)
for pair in pasta:passt slirp4netns:slirp4netns ip:iproute2 debootstrap:debootstrap chattr:e2fsprogs; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# busybox-static, not busybox: the fixture copies the binary into an empty image
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
# a C compiler and static libc: the sandbox tests build small static syscall probes
command -v cc >/dev/null 2>&1 || need+=(gcc)
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
# perl (with its syscall.ph, in libperl): the mount helper makes mount(2) calls without a process per mount
perl -e 'require "syscall.ph"' >/dev/null 2>&1 || need+=(perl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: need root to install ${need[*]}" >&2; exit 1; fi
  echo "install-deps: installing ${need[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# the CLI as one bundle, ~70 ms quicker to start (cli/cli-bundle.ts); without it tsbuild runs
# from its sources, and it is ignored as soon as any source differs from what it was made from
node_modules/.bin/node scripts/bundle-cli.ts || echo "install-deps: bundling the CLI failed: tsbuild runs from its sources" >&2
