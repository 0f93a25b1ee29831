#!/usr/bin/env bash
# Builds the Debian package of ptzone from a built binary, by hand with
# dpkg-deb (no debhelper, no network): make deb runs it.
#
#   deploy/debian/build.sh OUTDIR BINARY
#
# The package: /usr/bin/ptzone; the unit in /lib/systemd/system with
# ExecStart on /usr/bin/ptzone; the manual pages the binary writes from
# its own help (ptzone man); /usr/share/doc/ptzone with the copyright,
# changelog, README, manuals and, under examples/, the configuration, the
# alert rules and the dashboard; an empty /etc/ptzone for the operator's
# ptzone.toml (no conffile: the example is no working configuration); the
# maintainer scripts in this folder.
#
# The version comes from git: a tag vX.Y.Z gives X.Y.Z, N commits after
# it X.Y.Z+gitN.REV; without a tag 0.0~gitYYYYMMDD.REV (the commit's date
# and 12 hex digits of its hash); -1 is the packaging's revision.
# DEB_VERSION and DEB_MAINTAINER override the version and the Maintainer
# field. Files are dated SOURCE_DATE_EPOCH (default: the commit's time),
# so that one commit gives the same package.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 OUTDIR BINARY" >&2
	exit 2
fi
out=$1
bin=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/deploy/debian
cd "$repo"

if ! git rev-parse --verify -q HEAD >/dev/null; then
	echo "$0: $repo is not a git checkout: set DEB_VERSION and SOURCE_DATE_EPOCH" >&2
	[ -n "${DEB_VERSION:-}" ] && [ -n "${SOURCE_DATE_EPOCH:-}" ] || exit 1
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

debian_version() {
	local desc tag n
	if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
		# vX.Y.Z-N-gREV; a pre-release (v1.0.0-rc1) sorts before its
		# release with a tilde.
		n=${desc%-g*}
		tag=${n%-*}
		n=${n##*-}
		tag=${tag#v}
		tag=${tag//-/\~}
		if [ "$n" = 0 ]; then
			echo "$tag-1"
		else
			echo "$tag+git$n.$rev-1"
		fi
		return
	fi
	echo "0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).$rev-1"
}
version=${DEB_VERSION:-$(debian_version)}
maintainer=${DEB_MAINTAINER:-ptzone maintainers <maintainers@ptzone.example>}

goarch=$(go env GOARCH)
case $goarch in
386) arch=i386 ;;
arm) arch=armhf ;;
ppc64le) arch=ppc64el ;;
*) arch=$goarch ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022
chmod 0755 "$stage"

# The binary and the unit.
install -D -m 0755 "$bin" "$stage/usr/bin/ptzone"
install -d -m 0755 "$stage/lib/systemd/system" "$stage/etc/ptzone"
{
	echo "# The ptzone daemon, as the Debian package installs it: see"
	echo "# man ptzone-daemon and /usr/share/doc/ptzone/operations.md.gz."
	# The repository's unit, from [Unit] on, its binary the package's.
	sed -n '/^\[Unit\]/,$p' deploy/ptzone.service | sed 's#^ExecStart=/usr/local/bin/ptzone #ExecStart=/usr/bin/ptzone #'
} >"$stage/lib/systemd/system/ptzone.service"
chmod 0644 "$stage/lib/systemd/system/ptzone.service"
if ! grep -q '^ExecStart=/usr/bin/ptzone daemon ' "$stage/lib/systemd/system/ptzone.service"; then
	echo "$0: deploy/ptzone.service: no ExecStart=/usr/local/bin/ptzone daemon line to point at /usr/bin/ptzone" >&2
	exit 1
fi

# The manual pages, from the binary's own help.
"$stage/usr/bin/ptzone" man "$stage/usr/share/man/man1" >/dev/null
gzip -9n "$stage"/usr/share/man/man1/*.1

# The documentation.
doc=$stage/usr/share/doc/ptzone
install -d -m 0755 "$doc/examples"
for f in README.md docs/operations.md docs/commands.md docs/checks.md; do
	gzip -9n <"$f" >"$doc/$(basename "$f").gz"
done
install -m 0644 deploy/ptzone.example.toml deploy/prometheus-alerts.yml deploy/grafana-dashboard.json "$doc/examples/"
modules=$(go version -m "$bin" | awk '$1 == "dep" { printf " %s %s\n", $2, $3 }')
awk -v modules="$modules" '$0 == "@MODULES@" { print modules; next } { print }' "$here/copyright.in" >"$doc/copyright"
{
	echo "ptzone ($version) unstable; urgency=medium"
	echo
	echo "  * Built from git revision $rev."
	echo
	echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"
find "$doc" -type f -exec chmod 0644 {} +

# The control files.
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
awk -v version="$version" -v arch="$arch" -v maintainer="$maintainer" -v size="$size" '{
	gsub(/@VERSION@/, version); gsub(/@ARCH@/, arch); gsub(/@MAINTAINER@/, maintainer); gsub(/@SIZE@/, size); print
}' "$here/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/ptzone_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
