#!/usr/bin/env bash
# Print the build directory of the kernel flavour (debug|bench) in the cache.
. "$(dirname "$0")/common.sh"
rmpage_kdir "${1:-debug}"
