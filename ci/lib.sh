# ci/lib.sh - shell functions the test scripts share to run a server under test (the shell side of
# lib/child.c). Source it from a POSIX sh script:  . "$ROOT/ci/lib.sh"
#
# SERVER_LOGDIR must name a directory the caller owns (each server's stdout and stderr go to
# $SERVER_LOGDIR/NAME.log). SERVER_WAIT bounds the wait for a listening line (seconds, default 5).
#
#   server_start NAME CMD [ARG...]
#       Starts CMD in the background and waits, at most SERVER_WAIT seconds, for its first whole
#       "listening on tcp|udp ADDR:PORT" line. Then sets NAME_PID, NAME_ADDR (ADDR:PORT as printed) and
#       NAME_PORT, and the same as SERVER_PID, SERVER_ADDR and SERVER_PORT (the last server started).
#       NAME is a shell name (letters, digits, _). Returns 0, or 1 with the reason and the end of its
#       log on stderr (the server is then stopped).
#   server_stop NAME
#       SIGTERM to NAME's server, at most SERVER_STOP_WAIT seconds (default 2) for it to end, then
#       SIGKILL; reaps it. Returns its exit status (128 + the signal when one ended it).
#   server_stop_all
#       Stops every server started and not yet stopped (for an EXIT trap).

SERVER_NAMES=${SERVER_NAMES:-}

# _server_line LOG: prints "ADDR:PORT" of the first whole listening line of LOG, or nothing.
_server_line() {
	[ -f "$1" ] || return 0
	awk -v whole="$(wc -l <"$1")" \
		'NR > whole { exit } /^listening on (tcp|udp) / { print $4; exit }' "$1" 2>/dev/null
}

server_start() {
	_sv_name=$1
	shift
	_sv_log=${SERVER_LOGDIR:?server_start: set SERVER_LOGDIR}/$_sv_name.log
	# a new file, made here: the background shell creates it later, and an old one's line is not this
	# server's (nor is anything a leftover of an earlier server still writes)
	rm -f "$_sv_log"
	: >"$_sv_log"
	"$@" >>"$_sv_log" 2>&1 </dev/null &
	_sv_pid=$!
	SERVER_NAMES="$SERVER_NAMES $_sv_name"
	eval "${_sv_name}_PID=$_sv_pid ${_sv_name}_ADDR= ${_sv_name}_PORT="
	_sv_waited=0
	_sv_limit=$((${SERVER_WAIT:-5} * 50))
	while :; do
		_sv_addr=$(_server_line "$_sv_log")
		[ -n "$_sv_addr" ] && break
		if ! kill -0 "$_sv_pid" 2>/dev/null; then
			_sv_why="exited before its listening line"
			break
		fi
		if [ "$_sv_waited" -ge "$_sv_limit" ]; then
			_sv_why="printed no listening line within ${SERVER_WAIT:-5} s"
			break
		fi
		sleep 0.02
		_sv_waited=$((_sv_waited + 1))
	done
	if [ -z "$_sv_addr" ]; then
		echo "$_sv_name ($*) $_sv_why; its output:" >&2
		if [ -s "$_sv_log" ]; then tail -n 20 "$_sv_log" | sed 's/^/  | /' >&2; else echo "  (nothing)" >&2; fi
		server_stop "$_sv_name" >/dev/null 2>&1
		return 1
	fi
	SERVER_PID=$_sv_pid
	SERVER_ADDR=$_sv_addr
	SERVER_PORT=${_sv_addr##*:}
	eval "${_sv_name}_ADDR=\$SERVER_ADDR ${_sv_name}_PORT=\$SERVER_PORT"
	return 0
}

server_stop() {
	eval "_sv_pid=\${${1}_PID:-}"
	_sv_rest=
	for _sv_n in $SERVER_NAMES; do
		[ "$_sv_n" = "$1" ] || _sv_rest="$_sv_rest $_sv_n"
	done
	SERVER_NAMES=$_sv_rest
	[ -n "$_sv_pid" ] || return 0
	eval "${1}_PID="
	kill "$_sv_pid" 2>/dev/null
	_sv_waited=0
	_sv_limit=$((${SERVER_STOP_WAIT:-2} * 100))
	while kill -0 "$_sv_pid" 2>/dev/null && [ "$_sv_waited" -lt "$_sv_limit" ]; do
		# a zombie answers kill -0 too: once it has exited, wait reaps it below
		_sv_stat=
		read -r _sv_stat </proc/"$_sv_pid"/stat 2>/dev/null
		case ${_sv_stat##*) } in Z*) break ;; esac
		sleep 0.01
		_sv_waited=$((_sv_waited + 1))
	done
	kill -9 "$_sv_pid" 2>/dev/null
	wait "$_sv_pid" 2>/dev/null
}

server_stop_all() {
	for _sv_all in $SERVER_NAMES; do
		server_stop "$_sv_all"
	done
}
