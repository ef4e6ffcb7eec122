# prelude.sh: sourced by /init's shell before the test script (busybox sh).
# Debian's busybox prefers its applets to programs on PATH (standalone
# shell), and its setpriv cannot change uid/gid. Route "setpriv" to
# util-linux's, which run-vm installs as /usr/bin/setpriv. Child shells
# (sh -c ...) do not inherit this: call /usr/bin/setpriv there.
if [ -x /usr/bin/setpriv ] && [ ! -L /usr/bin/setpriv ]; then
	setpriv() { /usr/bin/setpriv "$@"; }
fi
