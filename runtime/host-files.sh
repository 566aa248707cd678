#!/bin/sh
# Runtime image build step: copies host files from this Debian root into OUT
# under the same paths, each program or library with the shared libraries it
# loads (ldd) and every symlink on the way, so that the runtime image, built
# from scratch, holds only what it runs. Paths EXCEPT already holds (the
# shared layer, when OUT is one arch's layer) are left out; the root's
# merged-/usr links (/bin -> usr/bin …) come along unless EXCEPT has them.
# usage: host-files.sh OUT EXCEPT FILE…
#   FILE: a program on PATH, an absolute path (or a pattern matching one) to
#   a file or a directory, or qemu-data:PROGRAM for the data directories that
#   QEMU binary searches for firmware and option ROMs (`-L help`) where this
#   root has them (from arch-table.js runtime-files and qemu-files)
set -eu
out=$1 except=$2
shift 2
list=$(mktemp)
kept=$(mktemp)
trap 'rm -f "$list" "$kept"' EXIT

canon() { # the path with the symlinks of its directory resolved, its last component kept
  dir=$(realpath "$(dirname "$1")")
  printf '%s/%s\n' "${dir%/}" "$(basename "$1")"
}

add() { # a file and each link on the way to it; a link to a directory is taken as a link only
  p=$(canon "$1")
  while :; do
    echo "${p#/}" >>"$list"
    [ -L "$p" ] || break
    target=$(readlink "$p")
    case $target in /*) ;; *) target=$(dirname "$p")/$target ;; esac
    [ ! -d "$target" ] || break
    p=$(canon "$target")
  done
}

with_libs() { # a file, and the shared libraries it loads when it is a program or library of this machine
  add "$1"
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do add "$lib"; done
}

add_dir() { # every file under a directory; a link whose target is missing (firmware of a package not installed) is left out
  find "$1" ! -type d | while read -r f; do if [ -e "$f" ]; then with_libs "$f"; fi; done
}

first() { echo "$1"; }

for link in /*; do
  [ ! -L "$link" ] || echo "${link#/}" >>"$list"
done
for item in "$@"; do
  case $item in
    qemu-data:*)
      dirs=$("${item#qemu-data:}" -L help)
      for dir in $dirs; do if [ -d "$dir" ]; then add_dir "$dir"; fi; done
      continue ;;
    # shellcheck disable=SC2086 # a pattern (/usr/lib/*/qemu: this machine's multiarch directory) is expanded
    /*) path=$(first $item) ;;
    *) path=$(command -v "$item") || { echo "host-files: no program $item on PATH" >&2; exit 1; } ;;
  esac
  [ -e "$path" ] || { echo "host-files: no $item" >&2; exit 1; }
  if [ -d "$path" ]; then
    add_dir "$path"
  else
    with_libs "$path"
  fi
done

sort -u "$list" | while read -r p; do
  if [ ! -e "$except/$p" ] && [ ! -L "$except/$p" ]; then echo "$p"; fi
done >"$kept"
mkdir -p "$out"
tar -C / --no-recursion -cf - -T "$kept" | tar -C "$out" -xf -
echo "host-files: $(wc -l <"$kept") paths, $(du -sh "$out" | cut -f1) in $out" >&2
