#!/bin/sh
# Add Ayla Monitor to the Linux desktop's application menu (for this user only),
# pointing at this folder's binary: ./install-desktop-entry.sh
# Remove it again with: ./install-desktop-entry.sh --uninstall
# Shipped in the bundle; the work is done by `ayla-monitor install-desktop`,
# which writes a correctly quoted Exec= whatever the folder's name.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/ayla-monitor" install-desktop "$@"
