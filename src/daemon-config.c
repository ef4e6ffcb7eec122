/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon-config.h"
#include "defaults.h"
#include "log.h"
#include "macro.h"
#include "server.h"

int homid_config_defaults(struct homid_config *c)
{
	*c = (struct homid_config){
		.socket = NULL,
		.admin_group = strdup("homi-admin"),
		.policy_dir = strdup(homi_policy_dir()),
		.state_dir = strdup(homi_state_dir()),
		.run_dir = strdup(homi_run_dir()),
		.verify_interval = 10,
		.max_conn_per_user = HOMI_SERVER_MAX_CONN_PER_UID,
		.log_level = HOMI_LOG_INFO,
	};
	if (c->run_dir && asprintf(&c->socket, "%s/homid.sock", c->run_dir) < 0)
		c->socket = NULL;
	if (!c->admin_group || !c->policy_dir || !c->state_dir || !c->run_dir || !c->socket) {
		homid_config_done(c);
		return -ENOMEM;
	}
	return 0;
}

void homid_config_done(struct homid_config *c)
{
	free(c->socket);
	free(c->admin_group);
	free(c->policy_dir);
	free(c->state_dir);
	free(c->run_dir);
	free(c->failpoints);
	*c = (struct homid_config){ 0 };
}

static int set_string(const char *path, json_t *v, const char *key, char **dst, bool must_be_absolute, char **err)
{
	const char *s = json_string_value(v);

	if (!json_is_string(v) || !*s) {
		if (asprintf(err, "%s: $.%s: expected a non-empty string", path, key) < 0)
			*err = NULL;
		return -EINVAL;
	}
	if (must_be_absolute && s[0] != '/') {
		if (asprintf(err, "%s: $.%s: expected an absolute path, got \"%s\"", path, key, s) < 0)
			*err = NULL;
		return -EINVAL;
	}
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

int homid_config_load(struct homid_config *c, const char *path, bool required, char **ret_error)
{
	json_error_t jerr;
	json_t *root;
	const char *key;
	json_t *v;
	int r = 0;

	*ret_error = NULL;
	if (!required && access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (asprintf(ret_error, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text) < 0)
			*ret_error = NULL;
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		if (asprintf(ret_error, "%s: $: expected an object", path) < 0)
			*ret_error = NULL;
		return -EINVAL;
	}
	bool socket_given = false;
	json_object_foreach(root, key, v) {
		if (streq(key, "socket"))
			r = set_string(path, v, key, &c->socket, true, ret_error), socket_given = true;
		else if (streq(key, "admin-group"))
			r = set_string(path, v, key, &c->admin_group, false, ret_error);
		else if (streq(key, "policy-dir"))
			r = set_string(path, v, key, &c->policy_dir, true, ret_error);
		else if (streq(key, "state-dir"))
			r = set_string(path, v, key, &c->state_dir, true, ret_error);
		else if (streq(key, "run-dir"))
			r = set_string(path, v, key, &c->run_dir, true, ret_error);
		else if (streq(key, "failpoints"))
			r = set_string(path, v, key, &c->failpoints, false, ret_error);
		else if (streq(key, "verify-interval")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 86400) {
				if (asprintf(ret_error, "%s: $.verify-interval: expected seconds from 0 to 86400", path) < 0)
					*ret_error = NULL;
				r = -EINVAL;
			} else {
				c->verify_interval = (unsigned)json_integer_value(v);
			}
		} else if (streq(key, "max-connections-per-user")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > HOMI_SERVER_MAX_CONN - HOMI_SERVER_RESERVE) {
				if (asprintf(ret_error, "%s: $.max-connections-per-user: expected 0 (no cap) to %d", path,
					     HOMI_SERVER_MAX_CONN - HOMI_SERVER_RESERVE) < 0)
					*ret_error = NULL;
				r = -EINVAL;
			} else {
				c->max_conn_per_user = (unsigned)json_integer_value(v);
			}
		} else if (streq(key, "log-level")) {
			int l = json_is_string(v) ? homi_log_level_from_name(json_string_value(v)) : -EINVAL;
			if (l < 0) {
				if (asprintf(ret_error, "%s: $.log-level: expected err, warning, notice, info or debug", path) < 0)
					*ret_error = NULL;
				r = -EINVAL;
			} else {
				c->log_level = l;
			}
		} else {
			if (asprintf(ret_error, "%s: $.%s: unknown key", path, key) < 0)
				*ret_error = NULL;
			r = -EINVAL;
		}
		if (r < 0)
			break;
	}
	json_decref(root);
	/* the socket follows the run directory unless given */
	if (r == 0 && !socket_given) {
		char *s = NULL;
		if (asprintf(&s, "%s/homid.sock", c->run_dir) < 0)
			return -ENOMEM;
		free(c->socket);
		c->socket = s;
	}
	return r;
}
