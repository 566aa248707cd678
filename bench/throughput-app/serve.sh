# The bench's entry point, the same in the guest and in the reference containers:
#   serve redis | serve http | serve cpu | serve <command…>
case "$1" in
  redis) exec redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no ;;
  http) exec busybox httpd -f -p 8080 -h /srv/www ;;
  cpu) exec /usr/local/bin/cpu ;;
  *) exec "$@" ;;
esac
