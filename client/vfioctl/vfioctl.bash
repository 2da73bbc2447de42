# SPDX-License-Identifier: MIT
# bash completion for vfioctl(1): commands, options, and device addresses from
# `vfioctl list` (with the transport options already typed) or, without a
# running vfiod, from sysfs.

_vfioctl_devices() {
	local line out
	out=$("${1:-vfioctl}" "${@:2}" list 2>/dev/null) || out=
	if [[ -n $out ]]; then
		while read -r line; do
			[[ $line == ADDRESS* ]] || printf '%s\n' "${line%% *}"
		done <<<"$out"
		return
	fi
	local d
	for d in /sys/kernel/iommu_groups/*/devices/*; do
		[[ -e $d ]] && printf '%s\n' "${d##*/}"
	done
}

_vfioctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="list show holders claim release bind unbind policy reload"
	local global="--address --system --verbose --help --version"
	local -a transport=()
	local i cmd= cmd_index=0

	# The command is the first word that is neither an option nor --address's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-a | --address)
			transport+=(--address "${COMP_WORDS[i + 1]}")
			((i++))
			;;
		--address=*) transport+=("${COMP_WORDS[i]}") ;;
		--system) transport+=(--system) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			cmd_index=$i
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-a | --address)
			COMPREPLY=($(compgen -W "unix:path=/run/vfiod/broker.sock" -- "$cur"))
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local devices='$(_vfioctl_devices "${COMP_WORDS[0]}" "${transport[@]}")'
	case $cmd in
	list | holders | reload)
		local opts="--help"
		[[ $cmd == reload ]] || opts="--json --help"
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		;;
	show | release | bind | unbind)
		if [[ $cur == -* ]]; then
			local opts="--help"
			[[ $cmd != show ]] || opts="--json --help"
			COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(eval echo "$devices")" -- "$cur"))
		fi
		;;
	claim)
		# After "--" comes the program and its arguments.
		for ((i = cmd_index + 1; i < COMP_CWORD; i++)); do
			if [[ ${COMP_WORDS[i]} == -- ]]; then
				if ((COMP_CWORD == i + 1)); then
					COMPREPLY=($(compgen -c -- "$cur"))
				else
					COMPREPLY=($(compgen -f -- "$cur"))
				fi
				return
			fi
		done
		case $prev in
		-d | --dma)
			COMPREPLY=($(compgen -W "container brokered" -- "$cur"))
			return
			;;
		-i | --irq)
			COMPREPLY=($(compgen -S : -W "$(eval echo "$devices")" -- "$cur"))
			compopt -o nospace 2>/dev/null
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--dma --irq --quiet --help --" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(eval echo "$devices")" -- "$cur"))
		fi
		;;
	policy)
		if ((COMP_CWORD == cmd_index + 1)); then
			COMPREPLY=($(compgen -W "check" -- "$cur"))
			return
		fi
		case $prev in
		-c | --config | --root)
			COMPREPLY=($(compgen -f -- "$cur"))
			return
			;;
		-u | --user)
			COMPREPLY=($(compgen -u -- "$cur"))
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--config --user --root --json --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(eval echo "$devices")" -- "$cur"))
		fi
		;;
	esac
}

complete -F _vfioctl vfioctl
