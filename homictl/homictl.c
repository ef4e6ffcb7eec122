/* SPDX-License-Identifier: MIT */
/* homictl: the command-line interface of homi (ARCHITECTURE.md 3.1). */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "defaults.h"
#include "homictl.h"
#include "model-json.h"

static int ctl_open(struct ctl *ctl);

static const struct ctl_command commands[] = {
	{ .words = "topology", .args = "", .run = cmd_topology,
	  .help = "PCI tree of host bridges, switches, NVMe and GPUs, and their affinity" },
	{ .words = "device list", .args = "", .run = cmd_device_list, .help = "NVMe and GPU functions" },
	{ .words = "device show", .args = "PCI", .min_args = 1, .max_args = 1, .run = cmd_device_show,
	  .help = "one function, with its NVMe virtualization state" },
	{ .words = "policy check", .args = "FILE...", .min_args = 1, .max_args = 64, .run = cmd_policy_check,
	  .help = "validate policies and show what they match here" },
	{ .words = "plan", .args = "[FILE...]", .max_args = 64, .run = cmd_plan, .options = "force",
	  .help = "the steps that would make the policies true (exit 3: pending)" },
	{ .words = "apply", .args = "[FILE...] [--dry-run] [--force]", .max_args = 64, .run = cmd_apply,
	  .options = "dry-run force", .changes = true, .help = "make the policies true, transactionally" },
	{ .words = "teardown", .args = "PF [--allow-pf-reset]", .min_args = 1, .max_args = 1, .run = cmd_teardown,
	  .options = "allow-pf-reset force", .changes = true, .help = "return an owned PF to its recorded state" },
	{ .words = "release", .args = "PF", .min_args = 1, .max_args = 1, .run = cmd_release, .changes = true,
	  .help = "forget an owned PF without changing it" },
	{ .words = "vf assign", .args = "PF VF --driver vfio-pci|nvme|none [--vq N] [--vi N] [--runtime]",
	  .min_args = 2, .max_args = 2, .run = cmd_vf_assign, .options = "driver= vq= vi= runtime force",
	  .changes = true, .help = "give one VF a driver and resources, on top of the policies" },
	{ .words = "vf unassign", .args = "PF VF", .min_args = 2, .max_args = 2, .run = cmd_vf_unassign,
	  .options = "force", .changes = true, .help = "drop a vf assign: the VF follows the policies again" },
	{ .words = "ns attach", .args = "PF NSID --vf VF [--access ro|rw]", .min_args = 2, .max_args = 2,
	  .run = cmd_ns_attach, .options = "vf= access= runtime force", .changes = true,
	  .help = "attach a namespace to a VF's controller" },
	{ .words = "ns detach", .args = "PF NSID --vf VF", .min_args = 2, .max_args = 2, .run = cmd_ns_detach,
	  .options = "vf= runtime force", .changes = true, .help = "detach a namespace from a VF's controller" },
	{ .words = "status", .args = "", .run = cmd_status,
	  .help = "homid: policies, owned PFs and VFs with stable names, overlay, last apply and drift, events" },
	{ .words = "wait", .args = "--ready [--timeout S]", .run = cmd_wait, .options = "ready timeout=",
	  .help = "wait until homid has provisioned the devices (for units ordered after it)" },
	{ .words = "reload", .args = "", .run = cmd_reload, .changes = true,
	  .help = "homid: read the policies again and apply them (like SIGHUP)" },
	{ .words = "completion", .args = "bash", .min_args = 1, .max_args = 1, .run = cmd_completion,
	  .help = "a bash completion script" },
	{ .words = "check", .args = "[PCI] [--policy FILE] [--mode M]", .max_args = 1, .run = cmd_check,
	  .options = "policy= mode=", .help = "GPU <-> VF path readiness: PASS/WARN/FAIL/UNKNOWN (exit 4: a FAIL)" },
};

const char *ctl_opt(const struct ctl *ctl, const char *name)
{
	for (size_t i = 0; i < ctl->n_opts; i++)
		if (streq(ctl->opt_names[i], name))
			return ctl->opt_values[i];
	return NULL;
}

int ctl_opt_int(struct ctl *ctl, const struct ctl_command *cmd, const char *name, long min, long max, long *ret)
{
	const char *v = ctl_opt(ctl, name);
	char *end;
	long n;

	if (!v)
		return EXIT_OK;
	n = strtol(v, &end, 0);
	if (!*v || *end || n < min || n > max)
		return ctl_usage_error(cmd, "--%s: expected an integer from %ld to %ld, got '%s'", name, min, max, v);
	*ret = n;
	return EXIT_OK;
}

/* Splits the command's --options out of ARGV (in place); EXIT_USAGE on an
 * option the command does not take. */
static int parse_command_options(struct ctl *ctl, const struct ctl_command *cmd, int *argc, char **argv)
{
	int w = 0;

	for (int i = 0; i < *argc; i++) {
		const char *a = argv[i];
		char spec[128], *save = NULL, *tok;
		bool found = false;

		if (a[0] != '-' || !a[1] || streq(a, "--")) {
			argv[w++] = argv[i];
			continue;
		}
		snprintf(spec, sizeof(spec), "%s", cmd->options ? cmd->options : "");
		for (tok = strtok_r(spec, " ", &save); tok && !found; tok = strtok_r(NULL, " ", &save)) {
			size_t l = strlen(tok);
			bool takes = tok[l - 1] == '=';
			if (takes)
				tok[l - 1] = '\0';
			if (!has_prefix(a, "--") || !streq(a + 2, tok))
				continue;
			found = true;
			if (ctl->n_opts == CTL_MAX_OPTS)
				return ctl_usage_error(cmd, "too many options");
			ctl->opt_names[ctl->n_opts] = a + 2;
			if (takes) {
				if (i + 1 >= *argc)
					return ctl_usage_error(cmd, "%s needs a value", a);
				ctl->opt_values[ctl->n_opts++] = argv[++i];
			} else {
				ctl->opt_values[ctl->n_opts++] = "";
			}
		}
		if (!found)
			return ctl_usage_error(cmd, "unknown option '%s'", a);
	}
	*argc = w;
	return EXIT_OK;
}

/* ARCHITECTURE.md 3.1: homictl talks to homid when its socket exists;
 * without it, changing commands refuse unless --direct; --direct refuses to
 * change devices while homid runs. */
static int check_mode(struct ctl *ctl, const struct ctl_command *cmd)
{
	struct stat st;
	bool daemon = stat(ctl->socket, &st) == 0 && S_ISSOCK(st.st_mode);

	ctl->daemon = daemon && !ctl->direct && !ctl->sysfs_root;
	if (!cmd->changes)
		return EXIT_OK;
	if (ctl->sysfs_root)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "homictl: --sysfs-root allows read-only commands only");
	if (ctl->daemon)
		return EXIT_OK; /* homid decides who may */
	if (!ctl->direct)
		return ctl_fail(ctl, EXIT_NO_DAEMON, ENOENT, "homid is not running; use --direct");
	if (daemon)
		return ctl_fail(ctl, EXIT_ERROR, EBUSY,
				"homictl: homid is running (%s): --direct does not change devices behind its back",
				ctl->socket);
	if (geteuid() != 0)
		return ctl_fail(ctl, EXIT_ERROR, EPERM, "homictl: changing devices needs root");
	return EXIT_OK;
}

int ctl_open_host(struct ctl *ctl, struct homi_host **ret)
{
	int r = ctl_open(ctl);

	if (r != EXIT_OK)
		return r;
	r = homi_host_linux(ctl->sysfs, ret);
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "homictl: %s", strerror(-r));
	return EXIT_OK;
}

static const char usage_line[] =
	"usage: homictl [-j|--json] [-s|--socket PATH] [--direct] [--sysfs-root DIR] [-v|--verbose] COMMAND [ARGS]";

static void print_help(void)
{
	printf("%s\n\nCommands:\n", usage_line);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", commands[i].words, commands[i].args);
		printf("  %-40s %s\n", left, commands[i].help);
	}
	printf("\nOptions:\n"
	       "  -j, --json            print JSON documents (errors too)\n"
	       "  -s, --socket PATH     homid's socket (default /run/homi/homid.sock)\n"
	       "      --direct          run in-process instead of through homid\n"
	       "      --sysfs-root DIR  read DIR as /sys (a capture); read-only commands only\n"
	       "  -v, --verbose         more detail\n"
	       "  -h, --help            this help\n"
	       "      --version         the version\n"
	       "\nExit: 0 ok, 1 error, 2 usage, 3 changes pending, 4 check failed, 5 homid not running.\n");
}

int ctl_fail(struct ctl *ctl, int code, int err, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "%s\n", msg ? msg : "out of memory");
	if (ctl && ctl->json)
		ctl_print_json(ctl, homi_json_error(msg ? msg : "out of memory", err));
	free(msg);
	return code;
}

int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "homictl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nusage: homictl [GLOBAL OPTIONS] %s%s%s\n", cmd->words, *cmd->args ? " " : "",
			cmd->args);
	else
		fprintf(stderr, "\n%s\n", usage_line);
	return EXIT_USAGE;
}

int ctl_print_json(struct ctl *ctl, json_t *doc)
{
	int r;

	if (!doc)
		return ctl_fail(NULL, EXIT_ERROR, ENOMEM, "homictl: out of memory");
	r = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	putchar('\n');
	return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static int ctl_open(struct ctl *ctl)
{
	int r;

	if (ctl->sysfs)
		return EXIT_OK;
	r = homi_sysfs_open(ctl->sysfs_root, &ctl->sysfs);
	if (r == -EINVAL)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: not a sysfs tree (no bus/pci/devices)",
				ctl->sysfs_root ? ctl->sysfs_root : "/sys");
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", ctl->sysfs_root ? ctl->sysfs_root : "/sys",
				strerror(-r));
	/* libpci is an aid (PCIe port types, names): without it the model is
	 * still complete, so its failure is only a warning. */
	r = homi_pci_open(homi_sysfs_root(ctl->sysfs), &ctl->pci);
	if (r < 0 && ctl->verbose)
		fprintf(stderr, "homictl: warning: libpci unavailable (%s); port types inferred\n", strerror(-r));
	return EXIT_OK;
}

static void print_warnings(const struct homi_topology *t)
{
	for (size_t i = 0; i < t->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", t->warnings[i]);
}

int ctl_read_topology(struct ctl *ctl, struct homi_topology **ret, json_t **ret_doc)
{
	json_t *doc = NULL;
	int r;

	if (ret_doc)
		*ret_doc = NULL;
	if (!ctl->daemon)
		return ctl_load_topology(ctl, ret);
	r = ctl_call(ctl, "topology", NULL, &doc);
	if (r != EXIT_OK)
		return r;
	r = homi_topology_from_json(doc, ret);
	if (r < 0) {
		json_decref(doc);
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: homid's topology: %s", ctl->socket,
				r == -EBADMSG ? "not a homi-topology document" : strerror(-r));
	}
	print_warnings(*ret);
	if (ret_doc)
		*ret_doc = doc;
	else
		json_decref(doc);
	return EXIT_OK;
}

int ctl_load_topology(struct ctl *ctl, struct homi_topology **ret)
{
	int r = ctl_open(ctl);

	if (r != EXIT_OK)
		return r;
	r = homi_topology_load(ctl->sysfs, ctl->pci, ret);
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", homi_sysfs_root(ctl->sysfs), strerror(-r));
	print_warnings(*ret);
	return EXIT_OK;
}

int ctl_find_device(struct ctl *ctl, const struct homi_topology *t, const char *arg, size_t *ret_idx)
{
	char addr[HOMI_ADDR_LEN];
	ssize_t i;

	if (homi_pci_parse_addr(arg, addr) < 0)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F)", arg);
	i = homi_topology_find(t, addr);
	if (i < 0)
		return ctl_fail(ctl, EXIT_ERROR, ENODEV, "%s: no such PCI function", addr);
	*ret_idx = (size_t)i;
	return EXIT_OK;
}

/* Matches the longest command whose words are the first arguments. */
static const struct ctl_command *find_command(int argc, char **argv, int *ret_used)
{
	const struct ctl_command *best = NULL;
	int best_used = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char words[64], *save = NULL, *w;
		int used = 0;
		bool ok = true;

		snprintf(words, sizeof(words), "%s", commands[i].words);
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), used++)
			if (used >= argc || !streq(argv[used], w)) {
				ok = false;
				break;
			}
		if (ok && used > best_used) {
			best = &commands[i];
			best_used = used;
		}
	}
	*ret_used = best_used;
	return best;
}

int main(int argc, char **argv)
{
	enum { OPT_DIRECT = 0x100, OPT_SYSFS_ROOT, OPT_VERSION };
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	struct ctl ctl = { .socket = "/run/homi/homid.sock" };
	const struct ctl_command *cmd;
	int c, used, r, nargs;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+js:vh", options, NULL)) != -1) {
		switch (c) {
		case 'j': ctl.json = true; break;
		case 's': ctl.socket = optarg; break;
		case 'v': ctl.verbose = true; break;
		case OPT_DIRECT: ctl.direct = true; break;
		case OPT_SYSFS_ROOT:
			ctl.sysfs_root = optarg;
			ctl.direct = true; /* a capture is always read in-process */
			break;
		case 'h': print_help(); return EXIT_OK;
		case OPT_VERSION: printf("homictl %s\n", PACKAGE_VERSION); return EXIT_OK;
		default:
			return ctl_usage_error(NULL, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return ctl_usage_error(NULL, "no command given");

	cmd = find_command(argc, argv, &used);
	if (!cmd) {
		return ctl_usage_error(NULL, "unknown command '%s'", argv[0]);
	}
	nargs = argc - used;
	r = parse_command_options(&ctl, cmd, &nargs, argv + used);
	if (r != EXIT_OK)
		return r;
	if (nargs < cmd->min_args)
		return ctl_usage_error(cmd, "'%s': missing %s", cmd->words, cmd->args);
	if (nargs > cmd->max_args)
		return ctl_usage_error(cmd, "'%s': unexpected argument '%s'", cmd->words, argv[used + cmd->max_args]);
	r = check_mode(&ctl, cmd);
	if (r != EXIT_OK)
		return r;
	int lock = -1;
	if (cmd->changes && !ctl.daemon) {
		lock = homi_lock_take(homi_run_dir());
		if (lock < 0)
			return ctl_fail(&ctl, EXIT_ERROR, -lock, "%s/%s: %s", homi_run_dir(), HOMI_LOCK_NAME,
					lock == -EBUSY ? "another homi process is changing devices"
						       : strerror(-lock));
	}
	r = cmd->run(&ctl, nargs, argv + used);
	if (lock >= 0)
		close(lock);
	homi_pci_free(ctl.pci);
	homi_sysfs_free(ctl.sysfs);
	if (fflush(stdout) != 0)
		return EXIT_ERROR;
	return r;
}
