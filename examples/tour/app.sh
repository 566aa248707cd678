#!/bin/sh
# The README's sample app: what each key of its Cxfile did, then, given
# `serve`, a page on the exposed port 8080 (busybox httpd).
echo "run: $(cat /etc/greeting)"
echo "cmd: $*"
echo "env: MESSAGE=$MESSAGE DEBUG=${DEBUG:-unset}"
echo "workdir: $(pwd)"
echo "copy: $(ls -l /etc/app/ | awk 'NR > 1 {print $1, $NF}')"
echo "guest: $(nproc) cpus, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"
[ "$1" = serve ] || exit 0
echo "$MESSAGE from the guest" >/tmp/index.html
exec httpd -f -p 8080 -h /tmp
