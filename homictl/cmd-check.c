/* SPDX-License-Identifier: MIT */
/* homictl check [PCI] [--policy FILE] [--mode M]: prints the verdicts
 * of libhomi's check (src/checks.h); exit 4 when one is FAIL. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check-json.h"
#include "checks.h"
#include "defaults.h"
#include "homictl.h"
#include "policy.h"

#define WRAP 100
#define INDENT "           "

/* The desired state of --policy FILE or of the policy directory (none when
 * it does not exist). Errors printed; returns an exit code. */
static int load_desired(struct ctl *ctl, const struct homi_topology *t, struct homi_desired **ret)
{
	const char *path = ctl_opt(ctl, "policy");
	struct homi_policy *p = homi_policy_new();
	char *errors = NULL;
	int r = 0;

	*ret = NULL;
	if (!p)
		return ctl_fail(ctl, EXIT_ERROR, ENOMEM, "homictl: out of memory");
	if (!path && access(homi_policy_dir(), F_OK) == 0)
		path = homi_policy_dir();
	if (path)
		r = homi_policy_add_path(p, path, &errors);
	if (r >= 0)
		r = homi_policy_resolve(p, t, ret, &errors);
	if (r < 0)
		r = ctl_fail(ctl, EXIT_ERROR, -r, "%s", errors ? errors : strerror(-r));
	else
		r = EXIT_OK;
	free(errors);
	homi_policy_free(p);
	return r;
}

/* Prints PREFIX and TEXT from column 11, wrapped at WRAP columns. */
static void print_wrapped(const char *prefix, const char *text)
{
	size_t col = strlen(INDENT) + strlen(prefix);
	bool first = true;

	printf("%s%s", INDENT, prefix);
	for (const char *w = text; *w;) {
		size_t len = strcspn(w, " ");
		if (!first && col + 1 + len > WRAP) {
			printf("\n%s", INDENT);
			col = strlen(INDENT);
		} else if (!first) {
			putchar(' ');
			col++;
		}
		printf("%.*s", (int)len, w);
		col += len;
		first = false;
		for (w += len; *w == ' '; w++)
			;
	}
	putchar('\n');
}

static void print_text(const struct homi_check_report *r, size_t n_pairs_hint)
{
	const char *group = NULL;
	char modes[8];

	for (size_t i = 0; i < r->n; i++) {
		const struct homi_verdict *v = &r->v[i];
		if (!group || !streq(group, v->pair)) {
			if (!v->pair[0])
				printf("%shost\n", group ? "\n" : "");
			else if (streq(v->pair, v->gpu))
				printf("%sGPU %s\n", group ? "\n" : "", v->gpu);
			else
				printf("%s%s <-> GPU %s\n", group ? "\n" : "", v->pair, v->gpu[0] ? v->gpu : "(none)");
			group = v->pair;
		}
		printf("  %-7s  %-15s  %-5s  %s\n", homi_check_status_name(v->status), v->check,
		       homi_check_modes_str(v->modes, modes, sizeof(modes)), v->subject);
		print_wrapped("", v->why);
		if (v->fix)
			print_wrapped("fix: ", v->fix);
	}
	if (!n_pairs_hint)
		printf("\nNo VF is delegated to vfio-pci by a policy: only the host was checked.\n");
	printf("\n%zu PASS, %zu WARN, %zu FAIL, %zu UNKNOWN (modes %s)\n", homi_check_count(r, HOMI_CHECK_PASS),
	       homi_check_count(r, HOMI_CHECK_WARN), homi_check_count(r, HOMI_CHECK_FAIL),
	       homi_check_count(r, HOMI_CHECK_UNKNOWN), homi_check_modes_str(r->modes, modes, sizeof(modes)));
}

int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	struct homi_topology *t = NULL;
	struct homi_desired *d = NULL;
	struct homi_host *h = NULL;
	struct homi_check_report *rep = NULL;
	struct homi_check_opts opts = { .modes = HOMI_MODES_ALL };
	char only[HOMI_ADDR_LEN], *error = NULL;
	const char *mode = ctl_opt(ctl, "mode");
	int r;

	if (mode && homi_check_modes_parse(mode, &opts.modes) < 0)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "homictl: --mode: expected letters of H, D, G (\"H,D\") or "
				"\"all\", got '%s'", mode);
	if (argc == 1) {
		if (homi_pci_parse_addr(argv[0], only) < 0)
			return ctl_fail(ctl, EXIT_USAGE, EINVAL, "%s: not a PCI address (DDDD:BB:DD.F or BB:DD.F)",
					argv[0]);
		opts.only = only;
	}
	r = ctl_load_topology(ctl, &t);
	if (r != EXIT_OK)
		return r;
	r = load_desired(ctl, t, &d);
	if (r != EXIT_OK)
		goto out;
	if (homi_host_linux(ctl->sysfs, &h) < 0)
		h = NULL; /* NVMe admin data and /dev/vfio ownership are then unknown */
	struct homi_check_env env = { .sysfs = ctl->sysfs, .pci = ctl->pci, .host = h, .t = t };
	int e = homi_check_run(&env, d, &opts, &rep, &error);
	if (e < 0) {
		r = ctl_fail(ctl, EXIT_ERROR, -e, "%s", error ? error : strerror(-e));
		goto out;
	}
	size_t pairs = 0;
	for (size_t i = 0; i < rep->n; i++)
		pairs += rep->v[i].pair[0] != '\0';
	if (ctl->json)
		r = ctl_print_json(ctl, homi_check_to_json(rep));
	else
		print_text(rep, pairs);
	if (r == EXIT_OK && homi_check_count(rep, HOMI_CHECK_FAIL))
		r = EXIT_CHECK_FAIL;
out:
	free(error);
	homi_check_report_free(rep);
	homi_host_free(h);
	homi_desired_free(d);
	homi_topology_free(t);
	return r;
}
