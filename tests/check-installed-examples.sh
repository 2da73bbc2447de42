#!/usr/bin/env bash
# The examples build against the installed libvfioc as any outside program
# would: installs the build tree into a temporary DESTDIR, then compiles
# examples/*.c with only `pkg-config --cflags --libs libvfioc` pointing into it,
# checks each binary resolves libvfioc from there and runs it with --help. A
# file that includes nothing but <vfioc.h> must compile on its own too.
#
# usage: check-installed-examples.sh BUILD_DIR SOURCE_DIR CC [CFLAG...]
# The CFLAGs are added to every compilation (the sanitizer flags of the build).
set -euo pipefail

build=$1 src=$2 cc=$3
shift 3
extra=("$@")
# meson points this at the build tree's libvfioc; only the installed one counts.
unset LD_LIBRARY_PATH

destdir=$(mktemp -d "${TMPDIR:-/tmp}/vfiod-install.XXXXXX")
trap 'rm -rf "$destdir"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" >"$destdir.log" 2>&1 || {
	cat "$destdir.log"
	rm -f "$destdir.log"
	echo "FAIL: meson install --destdir"
	exit 1
}
rm -f "$destdir.log"

mapfile -t pcs < <(find "$destdir" -name libvfioc.pc)
[ "${#pcs[@]}" -eq 1 ] || {
	echo "FAIL: expected one installed libvfioc.pc, found ${#pcs[@]}"
	exit 1
}
# The .pc says prefix=/usr/local (or whatever was configured); the sysroot
# puts its -I and -L paths inside the destdir.
export PKG_CONFIG_PATH=${pcs[0]%/*}
export PKG_CONFIG_SYSROOT_DIR=$destdir
read -ra cflags <<<"$(pkg-config --cflags libvfioc)"
read -ra libs <<<"$(pkg-config --libs libvfioc)"
echo "# pkg-config: ${cflags[*]} ${libs[*]}"
libdir=
for flag in "${libs[@]}"; do
	case $flag in -L"$destdir"/*) libdir=${flag#-L} ;; esac
done
[ -n "$libdir" ] && [[ " ${cflags[*]} " == *" -I$destdir/"* ]] || {
	echo "FAIL: pkg-config's -I and -L do not point into the destdir"
	exit 1
}
[ -e "$libdir/libvfioc.so" ] || {
	echo "FAIL: no libvfioc.so in $libdir"
	exit 1
}

work=$destdir/work
mkdir "$work"
status=0

# The header alone, in strict ISO C and included twice: it brings what it uses.
printf '#include <vfioc.h>\n#include <vfioc.h>\nint main(void) { return 0; }\n' >"$work/header.c"
"$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror -Wstrict-prototypes "${extra[@]}" \
	"${cflags[@]}" -c "$work/header.c" -o "$work/header.o" || {
	echo "FAIL: <vfioc.h> does not compile on its own"
	status=1
}

for example in "$src"/examples/*.c; do
	name=$(basename "$example" .c)
	bin=$work/$name
	# The project's own warning policy (meson.build), without its include paths.
	if ! "$cc" -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror "${extra[@]}" "${cflags[@]}" \
		"$example" -o "$bin" "${libs[@]}"; then
		echo "FAIL: $name does not build against the installed libvfioc"
		status=1
		continue
	fi
	# It must find the installed copy, not the build tree's (no rpath leaks in).
	resolved=$(LD_LIBRARY_PATH=$libdir ldd "$bin" | sed -n 's/^\s*libvfioc\.so\.[0-9]* => \(\S*\) .*/\1/p')
	[ "$resolved" = "$libdir/$(readlink "$libdir/libvfioc.so")" ] || {
		echo "FAIL: $name resolves libvfioc to '$resolved', not into $libdir"
		status=1
	}
	if ! out=$(LD_LIBRARY_PATH=$libdir "$bin" --help 2>&1) || [ -z "$out" ]; then
		echo "FAIL: $name --help: $out"
		status=1
		continue
	fi
	echo "ok $name: $(head -n1 <<<"$out")"
done
exit "$status"
