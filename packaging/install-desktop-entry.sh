#!/bin/sh
# Add Ayla Monitor to the Linux desktop's application menu (for this user only):
# the .desktop file, pointing at this folder's binary, and the icon in each size.
# Shipped in the bundle; run it from there: ./install-desktop-entry.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
icons="$here/_internal/resources/icons"
mkdir -p "$data/applications"
for size in 16 24 32 48 64 128 256 512; do
  if [ -f "$icons/ayla-monitor-$size.png" ]; then
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$icons/ayla-monitor-$size.png" "$data/icons/hicolor/${size}x${size}/apps/ayla-monitor.png"
  fi
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$icons/ayla-monitor.svg" "$data/icons/hicolor/scalable/apps/ayla-monitor.svg"
sed "s|^Exec=.*|Exec=\"$here/ayla-monitor\"|" "$here/_internal/resources/ayla-monitor.desktop" \
  > "$data/applications/ayla-monitor.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "Installed $data/applications/ayla-monitor.desktop (Exec=$here/ayla-monitor)"
