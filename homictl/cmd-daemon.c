/* SPDX-License-Identifier: MIT */
/* Talking to homid: the call, files as contents, the human view of its
 * documents, and the commands only homid answers (status, wait --ready). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "homictl.h"
#include "plan-json.h"
#include "rpc.h"

/* The errno of -j's homi-error for an error homid answered. */
static int rpc_errno(int code)
{
	switch (code) {
	case HOMI_RPC_NOT_AUTHORIZED: return EACCES;
	case HOMI_RPC_POLICY_ERROR:
	case HOMI_RPC_PLAN_INFEASIBLE:
	case HOMI_RPC_INVALID_PARAMS: return EINVAL;
	case HOMI_RPC_APPLY_FAILED: return EIO;
	case HOMI_RPC_BUSY: return EBUSY;
	case HOMI_RPC_METHOD_NOT_FOUND: return ENOSYS;
	default: return EPROTO;
	}
}

int ctl_call(struct ctl *ctl, const char *method, json_t *params, json_t **ret_result)
{
	char *message = NULL;
	json_t *data = NULL;
	int code = 0, r;

	r = homi_rpc_call(ctl->socket, method, params, 0, ret_result, &code, &message, &data);
	json_decref(params);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		json_decref(data);
		free(message);
		return ctl_fail(ctl, EXIT_NO_DAEMON, -r, "homid is not running (%s)", ctl->socket);
	}
	if (r == -EREMOTEIO) {
		/* an apply that failed still tells what it did and undid */
		if (data && json_object_get(data, "homi-apply")) {
			if (ctl->json)
				ctl_print_json(ctl, json_incref(data));
			else
				ctl_print_apply_doc(data);
		}
		r = ctl_fail(ctl->json && data ? NULL : ctl, EXIT_ERROR, rpc_errno(code), "%s",
			     message ? message : "homid refused");
		json_decref(data);
		free(message);
		return r;
	}
	json_decref(data);
	free(message);
	if (r < 0)
		return ctl_fail(ctl, EXIT_ERROR, -r, "%s: %s", ctl->socket, strerror(-r));
	return EXIT_OK;
}

static char *read_all(const char *path, int *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	*err = 0;
	if (!f) {
		*err = errno;
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > HOMI_RPC_MAX_LINE) { /* what could never be sent */
				*err = EFBIG;
				break;
			}
			char *n = realloc(buf, cap);
			if (!n) {
				*err = ENOMEM;
				break;
			}
			buf = n;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f) && !*err)
		*err = EIO;
	fclose(f);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int ctl_files_param(struct ctl *ctl, int argc, char **argv, json_t **ret)
{
	json_t *files = json_array();

	for (int i = 0; i < argc; i++) {
		struct stat st;
		int err;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			json_decref(files);
			return ctl_fail(ctl, EXIT_USAGE, EISDIR,
					"%s: a directory: homid takes policy files (give the *.json files)", argv[i]);
		}
		char *content = read_all(argv[i], &err);
		if (!content) {
			json_decref(files);
			return ctl_fail(ctl, EXIT_ERROR, err, "%s: %s", argv[i],
					err == EFBIG ? "larger than a request may be (64 KiB)" : strerror(err));
		}
		json_array_append_new(files, json_pack("{s:s, s:s}", "name", argv[i], "content", content));
		free(content);
	}
	*ret = files;
	return EXIT_OK;
}

void ctl_print_plan_doc(const json_t *plan)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(plan, "steps"), i, s) {
		struct homi_step step;
		char *d = homi_step_from_json(s, &step) == 0 ? homi_step_describe(&step) : NULL;
		printf("%3zu. %s\n", i + 1, d ? d : json_string_value(json_object_get(s, "op")));
		free(d);
	}
	json_array_foreach(json_object_get(plan, "notes"), i, s)
		printf("note: %s\n", json_string_value(s));
	if (!json_array_size(json_object_get(plan, "steps")))
		printf("Nothing to do.\n");
}

void ctl_print_apply_doc(const json_t *doc)
{
	const char *result = json_string_value(json_object_get(doc, "result"));
	json_t *steps = json_object_get(doc, "steps"), *s;
	size_t i;

	json_array_foreach(steps, i, s) {
		struct homi_step step;
		char *d = homi_step_from_json(s, &step) == 0 ? homi_step_describe(&step) : NULL;
		const char *res = json_string_value(json_object_get(s, "result"));
		printf("%3zu. %-70s %s\n", i + 1, d ? d : "?", res && streq(res, "failed") ? "FAILED" : res ? res : "");
		if (json_string_value(json_object_get(s, "error")))
			printf("     %s\n", json_string_value(json_object_get(s, "error")));
		free(d);
	}
	json_array_foreach(json_object_get(doc, "notes"), i, s)
		printf("note: %s\n", json_string_value(s));
	json_array_foreach(json_object_get(doc, "not-undone"), i, s)
		printf("NOT UNDONE: %s\n", json_string_value(json_object_get(s, "why")));
	if (!result)
		return;
	size_t n_not_undone = json_array_size(json_object_get(doc, "not-undone"));
	if (streq(result, "applied"))
		printf("Applied %zu step%s.\n", json_array_size(steps), json_array_size(steps) == 1 ? "" : "s");
	else if (streq(result, "nothing-to-do"))
		printf("Nothing to do.\n");
	else if (streq(result, "rolled-back"))
		printf("Rolled back: every step done was undone.\n");
	else
		printf("FAILED: %zu step%s could not be undone.\n", n_not_undone, n_not_undone == 1 ? "" : "s");
}

static void print_status(const json_t *st)
{
	json_t *pol = json_object_get(st, "policies"), *e, *vf;
	size_t i, k;

	printf("homid %s, pid %lld, %s, up %llds, host %s\n", json_string_value(json_object_get(st, "version")),
	       (long long)json_integer_value(json_object_get(st, "pid")),
	       json_is_true(json_object_get(st, "ready")) ? "ready" : "starting",
	       (long long)json_integer_value(json_object_get(st, "uptime-s")),
	       json_string_value(json_object_get(st, "host")));
	printf("policies: %s%s\n", json_string_value(json_object_get(pol, "dir")),
	       json_is_true(json_object_get(pol, "files-from-apply")) ? " (overridden by apply FILE until reload)" : "");
	json_array_foreach(json_object_get(pol, "files"), i, e)
		printf("  %s\n", json_string_value(e));
	if (json_string_value(json_object_get(pol, "error")))
		printf("  ERROR: %s\n", json_string_value(json_object_get(pol, "error")));
	printf("owned PFs:\n");
	json_array_foreach(json_object_get(st, "owned"), i, e) {
		printf("  %s serial %s\n", json_string_value(json_object_get(e, "pf")),
		       json_string_value(json_object_get(e, "serial")));
		json_array_foreach(json_object_get(e, "vfs"), k, vf) {
			const char *node = json_string_value(json_object_get(vf, "vfio-node"));
			const char *drv = json_string_value(json_object_get(vf, "driver"));
			printf("    %-20s %s  %-9s", json_string_value(json_object_get(vf, "name")),
			       json_string_value(json_object_get(vf, "pci")), drv ? drv : "-");
			if (node)
				printf(" %s -> %s", json_string_value(json_object_get(vf, "link")), node);
			printf("\n");
		}
	}
	if (!json_array_size(json_object_get(st, "owned")))
		printf("  (none)\n");
	json_array_foreach(json_object_get(st, "held"), i, e)
		printf("held down until reload: %s\n", json_string_value(e));
	json_array_foreach(json_object_get(st, "overlay"), i, e)
		printf("overlay: %s VF %lld %s (%s%s)\n", json_string_value(json_object_get(e, "pf")),
		       (long long)json_integer_value(json_object_get(e, "vf")),
		       json_string_value(json_object_get(e, "driver")), json_string_value(json_object_get(e, "origin")),
		       json_is_true(json_object_get(e, "runtime")) ? ", until reboot" : "");
	json_t *now = json_object_get(st, "applying");
	if (json_is_object(now))
		printf("applying now: %s, for %llds\n", json_string_value(json_object_get(now, "cause")),
		       (long long)json_integer_value(json_object_get(now, "for-s")));
	static const char *const lasts[] = { "last-apply", "last-drift" };
	for (size_t l = 0; l < 2; l++) {
		json_t *a = json_object_get(st, lasts[l]);
		if (json_is_object(a))
			printf("%s: %s %s: %s (%zu steps)%s%s\n", lasts[l], json_string_value(json_object_get(a, "time")),
			       json_string_value(json_object_get(a, "cause")), json_string_value(json_object_get(a, "result")),
			       json_array_size(json_object_get(a, "steps")),
			       json_string_value(json_object_get(a, "error")) ? ": " : "",
			       json_string_value(json_object_get(a, "error")) ? json_string_value(json_object_get(a, "error"))
									       : "");
	}
	json_t *ev = json_object_get(st, "events");
	size_t n = json_array_size(ev);
	printf("recent events:\n");
	for (i = n > 10 ? n - 10 : 0; i < n; i++) {
		e = json_array_get(ev, i);
		printf("  %s %-7s %s\n", json_string_value(json_object_get(e, "time")),
		       json_string_value(json_object_get(e, "level")), json_string_value(json_object_get(e, "message")));
	}
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	json_t *st = NULL;
	int r;

	if (!ctl->daemon && !ctl->direct)
		return ctl_fail(ctl, EXIT_NO_DAEMON, ENOENT, "homid is not running (%s)", ctl->socket);
	if (ctl->direct)
		return ctl_fail(ctl, EXIT_USAGE, EINVAL, "homictl: status is homid's: drop --direct");
	r = ctl_call(ctl, "status", NULL, &st);
	if (r != EXIT_OK)
		return r;
	if (ctl->json)
		return ctl_print_json(ctl, st);
	print_status(st);
	json_decref(st);
	return EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_command cmd = { .words = "wait", .args = "--ready [--timeout S]" };
	long timeout = 90;
	double until;
	int r = ctl_opt_int(ctl, &cmd, "timeout", 0, 86400, &timeout);

	if (r != EXIT_OK)
		return r;
	if (!ctl_opt(ctl, "ready"))
		return ctl_usage_error(&cmd, "--ready is required");
	until = now_s() + (double)timeout;
	for (;;) {
		json_t *st = NULL;
		char *msg = NULL;
		int code;
		/* the socket may not exist yet: homid is starting */
		if (homi_rpc_call(ctl->socket, "status", NULL, 2000, &st, &code, &msg, NULL) == 0) {
			bool ready = json_is_true(json_object_get(st, "ready"));
			json_decref(st);
			if (ready) {
				if (!ctl->json)
					printf("homid is ready\n");
				return EXIT_OK;
			}
		}
		free(msg);
		if (now_s() >= until)
			return ctl_fail(ctl, EXIT_ERROR, ETIMEDOUT, "homid: not ready after %lds (%s)", timeout, ctl->socket);
		usleep(100 * 1000);
	}
}

int cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	json_t *doc = NULL;
	int r;

	if (!ctl->daemon)
		return ctl_fail(ctl, EXIT_NO_DAEMON, ENOENT, "homid is not running (%s)", ctl->socket);
	r = ctl_call(ctl, "reload", NULL, &doc);
	if (r != EXIT_OK)
		return r;
	const char *err = json_string_value(json_object_get(doc, "policy-error"));
	if (ctl->json)
		return ctl_print_json(ctl, doc);
	printf("%s\n", err ? err : "policies reloaded and applied");
	json_decref(doc);
	return err ? EXIT_ERROR : EXIT_OK;
}
