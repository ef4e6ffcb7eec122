/* SPDX-License-Identifier: MIT */
/* homictl check [PCI] [--policy FILE] [--mode M]: prints the verdicts
 * of libhomi's check (src/checks.h); exit 4 when one is FAIL. Through homid
 * when it runs (it reads what only root may), in-process otherwise; both
 * print through homi_check_report_text() and homi_check_to_json(). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-json.h"
#include "checks.h"
#include "defaults.h"
#include "homictl.h"
#include "policy.h"

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

/* [{"name", "content"}] of --policy FILE, or of the *.json files of
 * --policy DIR, named as the in-process run names them. Returns an exit code. */
static int policy_files(struct ctl *ctl, const char *path, json_t **ret)
{
	char **files = NULL;
	size_t n = 0;
	struct stat st;
	int r;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return ctl_files_param(ctl, 1, (char **)&path, ret);
	r = homi_policy_dir_files(path, &files, &n);
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", path, strerror(-r));
	r = n > INT_MAX ? ctl_fail(ctl, EXIT_ERROR, E2BIG, "%s: too many policy files", path)
			: ctl_files_param(ctl, (int)n, files, ret);
	homi_policy_files_free(files, n);
	return r;
}

/* Prints REP (as text, or DOC with -j: stolen); returns an exit code. */
static int print_report(struct ctl *ctl, const struct homi_check_report *rep, json_t *doc)
{
	int r = EXIT_OK;

	if (ctl->json) {
		r = ctl_print_json(ctl, doc);
	} else {
		_cleanup_free_ char *text = homi_check_report_text(rep);
		json_decref(doc);
		if (!text)
			return ctl_fail(ctl, EXIT_ERROR, ENOMEM, "homictl: out of memory");
		fputs(text, stdout);
	}
	if (r == EXIT_OK && homi_check_count(rep, HOMI_CHECK_FAIL))
		r = EXIT_CHECK_FAIL;
	return r;
}

/* check through homid, which reads what needs root (NVMe admin data,
 * /dev/vfio): the policies of --policy travel as contents, and the report
 * comes back as a homi-check document. */
static int daemon_check(struct ctl *ctl, const char *only, const char *mode)
{
	const char *path = ctl_opt(ctl, "policy");
	struct homi_check_report *rep = NULL;
	json_t *params = json_object(), *doc = NULL, *files = NULL;
	int r;

	if (!params)
		return ctl_fail(ctl, EXIT_ERROR, ENOMEM, "homictl: out of memory");
	if (only)
		json_object_set_new(params, "pci", json_string(only));
	if (mode)
		json_object_set_new(params, "mode", json_string(mode));
	if (path) {
		r = policy_files(ctl, path, &files);
		if (r != EXIT_OK) {
			json_decref(params);
			return r;
		}
		json_object_set_new(params, "files", files);
	}
	r = ctl_call(ctl, "check", params, &doc);
	if (r != EXIT_OK)
		return r;
	int e = homi_check_report_from_json(doc, &rep);
	if (e < 0)
		r = ctl_fail(ctl, EXIT_ERROR, -e, "homid (%s): its check answer is not a homi-check document: %s",
			     ctl->socket, strerror(-e));
	else
		r = print_report(ctl, rep, json_incref(doc));
	homi_check_report_free(rep);
	json_decref(doc);
	return r;
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
	if (ctl->daemon)
		return daemon_check(ctl, opts.only, mode);
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
	r = print_report(ctl, rep, ctl->json ? homi_check_to_json(rep) : NULL);
out:
	free(error);
	homi_check_report_free(rep);
	homi_host_free(h);
	homi_desired_free(d);
	homi_topology_free(t);
	return r;
}
