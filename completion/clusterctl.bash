# SPDX-License-Identifier: ISC
#
# bash completion for clusterctl(1): its commands and options, the names of
# the programs the running clusterd supervises, and signal names.
#
# Program names are asked of clusterd itself, with `clusterctl --json
# status' through the -s SOCKET or -c CONFIG already on the line, else
# through CLUSTERD_CONTROL from the environment.  bash hides an assignment
# written before the command (CLUSTERD_CONTROL=... clusterctl) from
# completion functions: export the variable instead.  A clusterd that does
# not answer within 2 seconds gets no names offered.
#
# Installed as share/bash-completion/completions/clusterctl, where
# bash-completion loads it on first use; or source this file.  It needs
# nothing from bash-completion itself.

# The program names in a status reply: each program object begins with
# {"name":"NAME" (names are [A-Za-z0-9_.-]+).  A worker's status text
# cannot fake one: inside a JSON string every quote is escaped.
_clusterctl_programs()
{
	local bin=$1 out re='\{"name":"([A-Za-z0-9_.-]+)"'

	shift
	if command -v timeout >/dev/null 2>&1; then
		out=$(timeout 2 "$bin" "$@" --json status 2>/dev/null)
	else
		out=$("$bin" "$@" --json status 2>/dev/null)
	fi || return 0
	while [[ $out =~ $re ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		out=${out#*"${BASH_REMATCH[0]}"}
	done
}

# Signal names as clusterd reads them (case does not matter, SIG is
# optional), in the case and with the prefix the word has so far.
_clusterctl_signals()
{
	local cur=$1 pre="" s
	local names="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2
	    PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ
	    VTALRM PROF WINCH IO PWR SYS"

	case $cur in
	[Ss][Ii][Gg]*) pre=${cur:0:3} ;;
	esac
	for s in $names; do
		[[ $cur == [a-z]* ]] && s=${s,,}
		printf '%s\n' "$pre$s"
	done
}

_clusterctl()
{
	local cur=$2 prev=$3 cword=$COMP_CWORD bin
	local words=() conn=() args=() cmd="" w i n
	local cmds="status check upgrade reload restart scale stop start
	    signal shutdown"
	local opts="-s --socket -c --json --wait --timeout -h --help -V
	    --version"

	COMPREPLY=()
	# bash splits --socket=PATH at the =: prev is then "=" and the
	# option is the word before it.
	if [[ $prev == = ]] && ((cword >= 2)); then
		prev=${COMP_WORDS[cword - 2]}
	fi
	case $prev in
	-s | --socket | -c | --config)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--timeout)
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return 0
	fi

	# The words before this one, --opt = VALUE joined back together.
	for ((i = 1; i < cword; i++)); do
		w=${COMP_WORDS[i]}
		n=${#words[@]}
		if ((n > 0)) && [[ ${words[n - 1]} == --*= ||
		    ($w == = && ${words[n - 1]} == --*) ]]; then
			words[n - 1]+=$w
		else
			words+=("$w")
		fi
	done
	# Options may come anywhere (getopt_long); the rest is the command
	# and its arguments.
	for ((i = 0; i < ${#words[@]}; i++)); do
		w=${words[i]}
		case $w in
		-s | --socket | -c | --config)
			conn+=("$w" "${words[i + 1]-}")
			((i++))
			;;
		--socket=* | --config=* | -s?* | -c?*)
			conn+=("$w")
			;;
		--timeout)
			((i++))
			;;
		-*)
			;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
			else
				args+=("$w")
			fi
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$cmds" -- "$cur")
		return 0
	fi
	bin=${COMP_WORDS[0]}
	type -P -- "$bin" >/dev/null 2>&1 || bin=clusterctl
	n=${#args[@]}
	case $cmd:$n in
	status:0 | restart:0 | stop:0 | start:0 | scale:0 | signal:0)
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_clusterctl_programs "$bin" "${conn[@]}")" -- "$cur")
		;;
	signal:1)
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_clusterctl_signals "$cur")" -- "$cur")
		;;
	esac
	return 0
}

complete -F _clusterctl clusterctl
