# Sourced by the CI scripts (from the repository's root): apt-get without
# prompts, through sudo when not root, and a timed header per step.
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
