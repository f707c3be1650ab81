#!/usr/bin/env bash
# Installs the Debian packages spoor and its tests use, when missing (root + apt-get), or says
# which to install. Sourced by test.sh and demo.sh.
#   ffmpeg     video keyframes (spoor runs the ffmpeg program)
#   libheif1   HEIC/HEIF/AVIF decoding (spoor loads libheif.so.1 at run time)
#   libturbojpeg0  JPEG decoding at the scale the scan needs (libturbojpeg.so.0, at run time;
#              without it JPEGs decode whole with the image crate)
#   coreutils, util-linux, procps: tools the tests call (independent digests, mkfifo,
#              setpriv to run as `nobody`, kill for the Ctrl-C test)
spoor_system_deps() {
  local need=() tool lib
  for tool in md5sum:coreutils sha256sum:coreutils mkfifo:coreutils setpriv:util-linux \
              kill:procps ffmpeg:ffmpeg "$@"; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
  done
  for lib in libheif.so.1:libheif1 libturbojpeg.so.0:libturbojpeg0; do
    { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q "${lib%%:*}" \
      || need+=("${lib##*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing packages: ${need[*]} (install them, then rerun)" >&2
    return 1
  fi
}
