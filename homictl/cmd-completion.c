/* SPDX-License-Identifier: MIT */
/* homictl completion bash: a bash completion script on standard output
 * (`source <(homictl completion bash)`). */
#include "config.h"

#include <stdio.h>

#include "homictl.h"

static const char script[] =
	"# bash completion for homictl\n"
	"_homictl() {\n"
	"\tlocal cur prev words cword\n"
	"\t_init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; "
	"words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD; }\n"
	"\tlocal globals='-j --json -s --socket --direct --sysfs-root -v --verbose -h --help --version'\n"
	"\tlocal cmds='topology device policy plan apply teardown release vf ns check status wait completion'\n"
	"\tcase $prev in\n"
	"\t--sysfs-root) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
	"\t-s|--socket) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	"\t--driver) COMPREPLY=($(compgen -W 'vfio-pci nvme none' -- \"$cur\")); return ;;\n"
	"\t--access) COMPREPLY=($(compgen -W 'ro rw' -- \"$cur\")); return ;;\n"
	"\tesac\n"
	"\tlocal i cmd= sub=\n"
	"\tfor ((i = 1; i < cword; i++)); do\n"
	"\t\tcase ${words[i]} in -s|--socket|--sysfs-root) ((i++)); continue ;; -*) continue ;; esac\n"
	"\t\tif [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi\n"
	"\tdone\n"
	"\tlocal pcis=$(ls /sys/bus/pci/devices 2>/dev/null)\n"
	"\tcase $cmd in\n"
	"\t'') COMPREPLY=($(compgen -W \"$globals $cmds\" -- \"$cur\")) ;;\n"
	"\tdevice) [[ -z $sub ]] && COMPREPLY=($(compgen -W 'list show' -- \"$cur\")) || "
	"COMPREPLY=($(compgen -W \"$pcis\" -- \"$cur\")) ;;\n"
	"\tpolicy) [[ -z $sub ]] && COMPREPLY=($(compgen -W 'check' -- \"$cur\")) || "
	"COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"\tplan|apply) COMPREPLY=($(compgen -W '--dry-run --force' -- \"$cur\") $(compgen -f -- \"$cur\")) ;;\n"
	"\tteardown|release|check) COMPREPLY=($(compgen -W \"--allow-pf-reset --force $pcis\" -- \"$cur\")) ;;\n"
	"\tvf) [[ -z $sub ]] && COMPREPLY=($(compgen -W 'assign unassign' -- \"$cur\")) || "
	"COMPREPLY=($(compgen -W \"--driver --vq --vi --runtime --force $pcis\" -- \"$cur\")) ;;\n"
	"\tns) [[ -z $sub ]] && COMPREPLY=($(compgen -W 'attach detach' -- \"$cur\")) || "
	"COMPREPLY=($(compgen -W \"--vf --access --runtime --force $pcis\" -- \"$cur\")) ;;\n"
	"\twait) COMPREPLY=($(compgen -W '--ready --timeout' -- \"$cur\")) ;;\n"
	"\tcompletion) COMPREPLY=($(compgen -W 'bash' -- \"$cur\")) ;;\n"
	"\tesac\n"
	"}\n"
	"complete -F _homictl homictl\n";

int cmd_completion(struct ctl *ctl, int argc, char **argv)
{
	if (!streq(argv[0], "bash"))
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "homictl: completion: only 'bash' is supported, got '%s'", argv[0]);
	fputs(script, stdout);
	return EXIT_OK;
}
