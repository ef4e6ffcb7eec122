/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "check-json.h"
#include "checks.h"
#include "daemon.h"
#include "device.h"
#include "imperative.h"
#include "log.h"
#include "macro.h"
#include "model-json.h"
#include "overlay.h"
#include "pci.h"
#include "plan-json.h"
#include "policy.h"
#include "state.h"

#define MAX_EVENTS 100
#define MAX_HELD 32
#define MAX_MANAGED 512
#define CHANGE_WAIT_S 60 /* a changing request waits this long for its turn, then BUSY */

struct homid {
	struct homid_config cfg;
	struct homi_host *host;
	struct homi_host *reader;  /* observes the machine while a change runs; NULL: none */
	struct homi_sysfs *sysfs;
	struct homi_failpoints *fp;
	gid_t admin_gid;
	pthread_mutex_t change;    /* everything that touches the host */
	pthread_mutex_t read;      /* the reader */
	pthread_mutex_t state;     /* the fields below */
	char *applying;            /* the cause of the apply running now, or NULL */
	time_t applying_since;
	json_t *policy_files;      /* names of the documents in force */
	char *policy_error;        /* NULL: the policies are valid */
	json_t *override_files;    /* apply FILE...: [{"name","content"}] until reload; NULL: the directory */
	json_t *owned;             /* status: PFs owned, with their VFs and stable names */
	json_t *overlay;           /* status: the overlay entries */
	json_t *last_apply, *last_drift;
	json_t *events;
	char held[MAX_HELD][HOMI_ADDR_LEN]; /* torn down or released through the socket: not re-applied until reload */
	size_t n_held;
	char managed[MAX_MANAGED][HOMI_ADDR_LEN];
	size_t n_managed;
	bool ready;
	bool snapshot_valid;       /* owned/managed/links built at least once */
	int stopping;              /* atomic: SIGTERM arrived (the main thread sets it) */
	time_t started;
};

static char *now_iso(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	return strdup(buf);
}

static void event_sink(void *userdata, enum homi_log_level level, const char *message)
{
	struct homid *d = userdata;
	_cleanup_free_ char *when = now_iso();

	pthread_mutex_lock(&d->state);
	json_array_append_new(d->events, json_pack("{s:s, s:s, s:s}", "time", when ? when : "", "level",
						   homi_log_level_name(level), "message", message));
	while (json_array_size(d->events) > MAX_EVENTS)
		json_array_remove(d->events, 0);
	pthread_mutex_unlock(&d->state);
}

int homid_new(const struct homid_config *cfg, struct homi_host *host, struct homi_sysfs *sysfs, struct homid **ret)
{
	struct homid *d = calloc(1, sizeof(*d));
	char *err = NULL;
	int r;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->host = host;
	d->sysfs = sysfs;
	d->started = time(NULL);
	d->admin_gid = (gid_t)-1;
	pthread_mutex_init(&d->change, NULL);
	pthread_mutex_init(&d->read, NULL);
	pthread_mutex_init(&d->state, NULL);
	d->events = json_array();
	d->policy_files = json_array();
	d->owned = json_array();
	d->overlay = json_array();
	r = homi_failpoints_parse(cfg->failpoints ? cfg->failpoints : secure_getenv("HOMI_FAILPOINTS"), &d->fp, &err);
	if (r < 0) {
		homi_log(HOMI_LOG_ERR, "%s", err ? err : strerror(-r));
		free(err);
		free(d);
		return r;
	}
	struct group *g = getgrnam(cfg->admin_group);
	if (g)
		d->admin_gid = g->gr_gid;
	else
		homi_log(HOMI_LOG_WARNING, "admin group '%s' does not exist: only root may change devices",
			 cfg->admin_group);
	/* topology and device.show answer from it while a change runs */
	if (homi_host_reader(host, &d->reader) < 0)
		d->reader = NULL;
	homi_log_set_sink(event_sink, d);
	*ret = d;
	return 0;
}

void homid_free(struct homid *d)
{
	if (!d)
		return;
	homi_log_set_sink(NULL, NULL);
	homi_host_free(d->reader); /* before the host it reads */
	homi_host_free(d->host);
	homi_failpoints_free(d->fp);
	json_decref(d->events);
	json_decref(d->policy_files);
	json_decref(d->override_files);
	json_decref(d->owned);
	json_decref(d->overlay);
	json_decref(d->last_apply);
	json_decref(d->last_drift);
	free(d->policy_error);
	pthread_mutex_destroy(&d->change);
	pthread_mutex_destroy(&d->read);
	pthread_mutex_destroy(&d->state);
	free(d->applying);
	free(d);
}

gid_t homid_admin_gid(const struct homid *d) { return d->admin_gid; }

bool homid_ready(struct homid *d)
{
	pthread_mutex_lock(&d->state);
	bool r = d->ready;
	pthread_mutex_unlock(&d->state);
	return r;
}

void homid_request_stop(struct homid *d) { ATOMIC_SET(d->stopping, 1); }

/* ---- the desired state ----------------------------------------------------- */

/* Policies from FILES ([{"name","content"}]) or the directory. */
static int load_policy(struct homid *d, const json_t *files, struct homi_policy **ret, char **err)
{
	struct homi_policy *p = homi_policy_new();
	size_t i;
	json_t *f;
	int r = 0;

	if (!p)
		return -ENOMEM;
	if (files) {
		json_array_foreach(files, i, f) {
			const char *name = json_string_value(json_object_get(f, "name"));
			const char *content = json_string_value(json_object_get(f, "content"));
			if (!name || !content) {
				homi_policy_free(p);
				return -EINVAL;
			}
			r = homi_policy_add_buffer(p, name, content, strlen(content), err);
			if (r < 0)
				break;
		}
	} else if (access(d->cfg.policy_dir, F_OK) == 0) {
		r = homi_policy_add_path(p, d->cfg.policy_dir, err);
	}
	if (r < 0) {
		homi_policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

static bool is_held(struct homid *d, const char *pf)
{
	for (size_t i = 0; i < d->n_held; i++)
		if (streq(d->held[i], pf))
			return true;
	return false;
}

/* The change lock is held; status reads the list under the state lock. */
static void hold(struct homid *d, const char *pf)
{
	pthread_mutex_lock(&d->state);
	if (!is_held(d, pf) && d->n_held < MAX_HELD)
		memcpy(d->held[d->n_held++], pf, HOMI_ADDR_LEN);
	pthread_mutex_unlock(&d->state);
}

/* Policies (FILES, or the daemon's set) + overlay (OVERLAY, or the saved
 * one), without the held PFs. The change lock is held. */
static int build_desired(struct homid *d, const json_t *files, const struct homi_overlay *overlay,
			 struct homi_policy **ret_policy, struct homi_desired **ret, char **err)
{
	struct homi_policy *p = NULL;
	struct homi_topology *t = NULL;
	struct homi_overlay *loaded = NULL;
	struct homi_desired *want = NULL;
	int r;

	*err = NULL;
	homi_host_forget(d->host); /* others change the machine too */
	r = load_policy(d, files ? files : d->override_files, &p, err);
	if (r >= 0)
		r = d->host->ops->topology(d->host, &t);
	if (r >= 0)
		r = homi_policy_resolve(p, t, &want, err);
	if (r >= 0 && !overlay) {
		r = homi_overlay_load(d->cfg.state_dir, d->cfg.run_dir, &loaded);
		overlay = loaded;
	}
	if (r >= 0)
		r = homi_overlay_merge(overlay, t, want, err);
	for (size_t i = 0; r >= 0 && i < d->n_held; i++)
		homi_desired_drop(want, d->held[i]);
	homi_overlay_free(loaded);
	homi_topology_free(t);
	if (r < 0) {
		homi_desired_free(want);
		homi_policy_free(p);
		return r;
	}
	if (ret_policy)
		*ret_policy = p;
	else
		homi_policy_free(p);
	*ret = want;
	return 0;
}

/* ---- status snapshot, stable names ------------------------------------------ */

static void update_links(struct homid *d, const json_t *owned)
{
	char dir[PATH_MAX];
	size_t i, k;
	json_t *pf, *vf;

	snprintf(dir, sizeof(dir), "%s/vf", d->cfg.run_dir);
	if (homi_mkdir_p(dir, 0755) < 0)
		return;
	/* drop every link, then make those that hold now */
	DIR *dd = opendir(dir);
	struct dirent *de;
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(dd), de->d_name, 0);
	if (dd)
		closedir(dd);
	json_array_foreach(owned, i, pf) {
		json_array_foreach(json_object_get(pf, "vfs"), k, vf) {
			const char *name = json_string_value(json_object_get(vf, "name"));
			const char *node = json_string_value(json_object_get(vf, "vfio-node"));
			char link[PATH_MAX + 64];
			if (!name || !node)
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, name);
			if (symlink(node, link) < 0)
				homi_log(HOMI_LOG_WARNING, "%s: %m", link);
		}
	}
}

/* Rebuilds the owned section of status and the stable-name links. The
 * change lock is held. */
static void refresh_snapshot(struct homid *d)
{
	struct homi_owned_set *records = NULL;
	struct homi_topology *t = NULL;
	struct homi_overlay *ov = NULL;
	json_t *owned = json_array();
	size_t n_managed = 0;
	char managed[MAX_MANAGED][HOMI_ADDR_LEN];

	homi_host_forget(d->host);
	if (homi_state_load(d->cfg.state_dir, &records) < 0 || d->host->ops->topology(d->host, &t) < 0)
		goto out;
	for (size_t i = 0; i < records->n; i++) {
		const struct homi_owned *rec = &records->items[i];
		ssize_t idx = homi_topology_find(t, rec->pci);
		json_t *vfs = json_array();
		json_t *o = json_pack("{s:s, s:s, s:{s:i, s:i, s:i, s:i}}", "pf", rec->pci, "serial", rec->serial,
				      "recorded", "num-vfs", rec->num_vfs, "drivers-autoprobe", rec->autoprobe,
				      "vq-primary", rec->vq_primary, "vi-primary", rec->vi_primary);
		if (n_managed < MAX_MANAGED)
			memcpy(managed[n_managed++], rec->pci, HOMI_ADDR_LEN);
		const struct homi_device *pf = idx >= 0 ? &t->devices[idx] : NULL;
		for (size_t v = 0; pf && v < pf->n_vfs; v++) {
			ssize_t vi = homi_topology_find(t, pf->vfs[v]);
			const struct homi_device *vd = vi >= 0 ? &t->devices[vi] : NULL;
			char name[128], node[64], link[PATH_MAX];
			json_t *e = json_object();

			if (n_managed < MAX_MANAGED)
				memcpy(managed[n_managed++], pf->vfs[v], HOMI_ADDR_LEN);
			snprintf(name, sizeof(name), "%s-vf%zu", rec->serial[0] ? rec->serial : rec->pci, v + 1);
			json_object_set_new(e, "vf", json_integer((json_int_t)v + 1));
			json_object_set_new(e, "name", json_string(name));
			json_object_set_new(e, "pci", json_string(pf->vfs[v]));
			json_object_set_new(e, "driver", vd && vd->driver ? json_string(vd->driver) : json_null());
			json_object_set_new(e, "iommu-group",
					    vd && vd->iommu_group >= 0 ? json_integer(vd->iommu_group) : json_null());
			if (vd && vd->driver && streq(vd->driver, "vfio-pci") && vd->iommu_group >= 0) {
				char rel[32];
				snprintf(rel, sizeof(rel), "vfio/%d", vd->iommu_group);
				if (homi_sysfs_dev_path(d->sysfs, rel, node, sizeof(node)) < 0)
					node[0] = '\0';
				snprintf(link, sizeof(link), "%s/vf/%s", d->cfg.run_dir, name);
				json_object_set_new(e, "vfio-node", node[0] ? json_string(node) : json_null());
				json_object_set_new(e, "link", json_string(link));
			} else {
				json_object_set_new(e, "vfio-node", json_null());
				json_object_set_new(e, "link", json_null());
			}
			json_array_append_new(vfs, e);
		}
		json_object_set_new(o, "vfs", vfs);
		json_array_append_new(owned, o);
	}
	update_links(d, owned);
	homi_overlay_load(d->cfg.state_dir, d->cfg.run_dir, &ov);
	pthread_mutex_lock(&d->state);
	json_decref(d->owned);
	d->owned = json_incref(owned);
	json_decref(d->overlay);
	d->overlay = homi_overlay_to_json(ov);
	memcpy(d->managed, managed, n_managed * sizeof(managed[0]));
	d->n_managed = n_managed;
	d->snapshot_valid = true;
	pthread_mutex_unlock(&d->state);
out:
	json_decref(owned);
	homi_overlay_free(ov);
	homi_topology_free(t);
	homi_owned_set_free(records);
}

bool homid_manages(struct homid *d, const char *pci)
{
	bool r = false;
	pthread_mutex_lock(&d->state);
	for (size_t i = 0; i < d->n_managed && !r; i++)
		r = streq(d->managed[i], pci);
	pthread_mutex_unlock(&d->state);
	return r;
}

/* ---- applying -------------------------------------------------------------- */

static void log_result(const struct homi_apply_result *res, const char *cause)
{
	for (size_t i = 0; i < res->n_steps; i++) {
		_cleanup_free_ char *s = homi_step_describe(&res->steps[i].step);
		if (res->steps[i].error)
			homi_log(HOMI_LOG_ERR, "%s: step %zu failed: %s", cause, i + 1, res->steps[i].error);
		else
			homi_log(HOMI_LOG_INFO, "%s: step %zu: %s%s", cause, i + 1, s ? s : "?",
				 res->steps[i].undone ? " (undone)" : "");
	}
	for (size_t i = 0; i < res->n_not_undone; i++)
		homi_log(HOMI_LOG_ERR, "%s: NOT UNDONE: %s", cause, res->not_undone_why[i]);
	for (size_t i = 0; i < res->n_notes; i++)
		homi_log(HOMI_LOG_NOTICE, "%s: %s", cause, res->notes[i]);
	enum homi_log_level lvl = res->outcome == HOMI_APPLY_APPLIED || res->outcome == HOMI_APPLY_NOTHING_TO_DO
					  ? HOMI_LOG_INFO
					  : HOMI_LOG_ERR;
	homi_log(lvl, "%s: %s%s%s", cause, homi_apply_outcome_name(res->outcome), res->error ? ": " : "",
		 res->error ? res->error : "");
}

static json_t *stamp(json_t *doc, const char *cause)
{
	_cleanup_free_ char *when = now_iso();
	json_object_set_new(doc, "time", json_string(when ? when : ""));
	json_object_set_new(doc, "cause", json_string(cause));
	return doc;
}

/* Applies WANT (change lock held). 0 with *ret_doc (homi-apply), -EINVAL
 * with *err for an infeasible plan, or another negative errno. */
static int apply_locked(struct homid *d, const struct homi_desired *want, const struct homi_plan_opts *popts,
			const char *cause, bool drift, json_t **ret_doc, char **err)
{
	struct homi_apply_opts opts = {
		.failpoints = d->fp, .run_dir = d->cfg.run_dir, .state_dir = d->cfg.state_dir,
		.crash_exits = true, .cancel = &d->stopping, .plan = *popts,
	};
	struct homi_apply_result *res = NULL;
	char *what = strdup(cause);

	pthread_mutex_lock(&d->state);
	free(d->applying);
	d->applying = what;
	d->applying_since = time(NULL);
	pthread_mutex_unlock(&d->state);
	int r = homi_apply(d->host, want, &opts, &res, err);
	pthread_mutex_lock(&d->state);
	free(d->applying);
	d->applying = NULL;
	pthread_mutex_unlock(&d->state);

	if (r < 0) {
		homi_log(HOMI_LOG_ERR, "%s: %s", cause, *err ? *err : strerror(-r));
		return r;
	}
	log_result(res, cause);
	json_t *doc = stamp(homi_apply_result_to_json(res), cause);
	if (drift || res->outcome != HOMI_APPLY_NOTHING_TO_DO) {
		pthread_mutex_lock(&d->state);
		json_t **slot = drift ? &d->last_drift : &d->last_apply;
		json_decref(*slot);
		*slot = json_incref(doc);
		pthread_mutex_unlock(&d->state);
	}
	bool changed_something = res->outcome != HOMI_APPLY_NOTHING_TO_DO;
	homi_apply_result_free(res);
	if (changed_something || !d->snapshot_valid)
		refresh_snapshot(d); /* nothing done on a known state: the snapshot still holds */
	if (ret_doc)
		*ret_doc = doc;
	else
		json_decref(doc);
	return 0;
}

static void set_policy_state(struct homid *d, const struct homi_policy *p, const char *error)
{
	json_t *names = json_array();
	for (size_t i = 0; p && i < homi_policy_count(p); i++)
		json_array_append_new(names, json_string(homi_policy_name(p, i)));
	pthread_mutex_lock(&d->state);
	json_decref(d->policy_files);
	d->policy_files = names;
	free(d->policy_error);
	d->policy_error = error ? strdup(error) : NULL;
	pthread_mutex_unlock(&d->state);
}

/* Loads and applies the daemon's desired state (change lock held). */
static int converge_locked(struct homid *d, const char *cause, bool drift)
{
	struct homi_policy *p = NULL;
	struct homi_desired *want = NULL;
	_cleanup_free_ char *err = NULL;
	int r = build_desired(d, NULL, NULL, &p, &want, &err);

	if (r < 0) {
		/* A policy error leaves devices as they are. */
		homi_log(HOMI_LOG_ERR, "%s: policies not applied, devices left untouched: %s", cause,
			 err ? err : strerror(-r));
		set_policy_state(d, NULL, err ? err : strerror(-r));
		refresh_snapshot(d);
		return r;
	}
	set_policy_state(d, p, NULL);
	homi_policy_free(p);
	free(err);
	err = NULL;
	struct homi_plan_opts popts = { 0 };
	r = apply_locked(d, want, &popts, cause, drift, NULL, &err);
	homi_desired_free(want);
	return r;
}

int homid_boot(struct homid *d)
{
	struct homi_apply_opts opts = { .run_dir = d->cfg.run_dir, .state_dir = d->cfg.state_dir };
	struct homi_apply_result *res = NULL;
	int r;

	pthread_mutex_lock(&d->change);
	r = homi_apply_recover(d->host, &opts, &res);
	if (r > 0) {
		log_result(res, "recovery of an interrupted apply");
		pthread_mutex_lock(&d->state);
		d->last_apply = stamp(homi_apply_result_to_json(res), "recovery of an interrupted apply");
		pthread_mutex_unlock(&d->state);
		homi_apply_result_free(res);
	} else if (r < 0) {
		homi_log(HOMI_LOG_ERR, "%s/journal.json: cannot recover: %s", d->cfg.run_dir, strerror(-r));
	}
	converge_locked(d, "boot", false);
	pthread_mutex_lock(&d->state);
	d->ready = true;
	pthread_mutex_unlock(&d->state);
	pthread_mutex_unlock(&d->change);
	return 0;
}

int homid_reload(struct homid *d, const char *cause)
{
	int r;

	pthread_mutex_lock(&d->change);
	pthread_mutex_lock(&d->state); /* status reads them */
	json_decref(d->override_files);
	d->override_files = NULL;
	d->n_held = 0;
	pthread_mutex_unlock(&d->state);
	homi_log(HOMI_LOG_NOTICE, "%s: reloading policies from %s", cause, d->cfg.policy_dir);
	r = converge_locked(d, cause, false);
	pthread_mutex_unlock(&d->change);
	return r;
}

void homid_repair(struct homid *d, const char *cause)
{
	struct homi_desired *want = NULL;
	struct homi_observed *o = NULL;
	struct homi_owned_set *records = NULL;
	struct homi_plan *p = NULL;
	_cleanup_free_ char *err = NULL;

	if (pthread_mutex_trylock(&d->change) != 0)
		return; /* a change is under way; it ends in a verified state */
	if (d->policy_error || build_desired(d, NULL, NULL, NULL, &want, &err) < 0)
		goto out;
	if (homi_state_load(d->cfg.state_dir, &records) < 0 || homi_observe(d->host, want, records, &o) < 0)
		goto out;
	if (homi_plan_build(o, want, records, NULL, &p, NULL) == 0 && p->n_steps == 0) {
		refresh_snapshot(d); /* links follow rebinds even when nothing drifted */
		goto out;
	}
	{
		/* the trigger, and what differs: a uevent of homid's own making can
		 * arrive while something else drifted */
		_cleanup_free_ char *first = homi_step_describe(&p->steps[0]), *full = NULL;
		char *e2 = NULL;
		struct homi_plan_opts popts = { 0 };
		if (asprintf(&full, "%s; to do: %s%s", cause, first ? first : "?",
			     p->n_steps > 1 ? " and more" : "") < 0)
			full = NULL;
		homi_log(HOMI_LOG_WARNING, "drift: %s; repairing", full ? full : cause);
		apply_locked(d, want, &popts, full ? full : cause, true, NULL, &e2);
		free(e2);
	}
out:
	homi_plan_free(p);
	homi_observed_free(o);
	homi_owned_set_free(records);
	homi_desired_free(want);
	pthread_mutex_unlock(&d->change);
}

void homid_verify(struct homid *d)
{
	struct homi_desired *want = NULL;
	_cleanup_free_ char *err = NULL, *cause = NULL;

	if (pthread_mutex_trylock(&d->change) != 0)
		return;
	if (!d->policy_error && build_desired(d, NULL, NULL, NULL, &want, &err) == 0) {
		homi_host_forget(d->host);
		for (size_t i = 0; i < want->n_pfs && !cause; i++) {
			const struct homi_want_pf *w = &want->pfs[i];
			_cleanup_free_ struct homi_secondary *sec = NULL;
			size_t n = 0;
			int status;
			/* one Identify per PF: a controller reset sends no uevent */
			if (d->host->ops->secondaries(d->host, w->pci, &sec, &n, &status) < 0)
				continue;
			for (size_t k = 0; k < w->n_vfs && !cause; k++) {
				const struct homi_want_vf *v = &w->vfs[k];
				if (v->vq < 0)
					continue;
				for (size_t s = 0; s < n; s++)
					if (sec[s].vfn == v->vf && (!sec[s].online || sec[s].nvq != v->vq || sec[s].nvi != v->vi) &&
					    asprintf(&cause, "%s: secondary controller %u (VF %u) is %s with %u VQ and %u VI",
						     w->pci, sec[s].scid, v->vf, sec[s].online ? "online" : "offline",
						     sec[s].nvq, sec[s].nvi) < 0)
						cause = NULL;
			}
		}
	}
	homi_desired_free(want);
	pthread_mutex_unlock(&d->change);
	if (cause)
		homid_repair(d, cause);
}

/* ---- socket methods ----------------------------------------------------------- */

struct call {
	struct homid *d;
	const struct homi_peer *peer;
	const struct homi_rpc_request *req;
};

static json_t *bad_params(const struct call *c, const char *msg)
{
	return homi_rpc_error(c->req->id, HOMI_RPC_INVALID_PARAMS, msg, NULL);
}

static bool param_bool(const struct call *c, const char *key)
{
	return json_is_true(json_object_get(c->req->params, key));
}

static json_t *m_status(const struct call *c)
{
	struct homid *d = c->d;
	json_t *o = json_object();

	pthread_mutex_lock(&d->state);
	json_object_set_new(o, "homi-status", json_integer(1));
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "ready", json_boolean(d->ready));
	json_object_set_new(o, "uptime-s", json_integer(time(NULL) - d->started));
	json_object_set_new(o, "host", json_string(d->host->ops->name));
	json_object_set_new(o, "policies",
			    json_pack("{s:s, s:O, s:o, s:b}", "dir", d->cfg.policy_dir, "files", d->policy_files, "error",
				      d->policy_error ? json_string(d->policy_error) : json_null(), "files-from-apply",
				      d->override_files != NULL));
	json_object_set_new(o, "owned", json_deep_copy(d->owned));
	json_t *held = json_array();
	for (size_t i = 0; i < d->n_held; i++)
		json_array_append_new(held, json_string(d->held[i]));
	json_object_set_new(o, "held", held);
	json_object_set_new(o, "overlay", json_deep_copy(d->overlay));
	json_object_set_new(o, "last-apply", d->last_apply ? json_deep_copy(d->last_apply) : json_null());
	json_object_set_new(o, "last-drift", d->last_drift ? json_deep_copy(d->last_drift) : json_null());
	json_object_set_new(o, "applying",
			    d->applying ? json_pack("{s:s, s:I}", "cause", d->applying, "for-s",
						    (json_int_t)(time(NULL) - d->applying_since))
					: json_null());
	json_object_set_new(o, "events", json_deep_copy(d->events));
	pthread_mutex_unlock(&d->state);
	return homi_rpc_result(c->req->id, o);
}

/* Takes the change lock, waiting its turn for a while. */
static bool change_begin(struct homid *d)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CHANGE_WAIT_S;
	return pthread_mutex_timedlock(&d->change, &until) == 0;
}

static json_t *busy(const struct call *c)
{
	return homi_rpc_error(c->req->id, HOMI_RPC_BUSY, "another change has been running for a minute; try again",
			      NULL);
}

/* The machine as it is now, without waiting for a change under way: from
 * the reader (a change may be halfway through: some of its steps show, see
 * host.h), else under the change lock. -EBUSY
 * when that lock did not come within CHANGE_WAIT_S. */
static int read_topology(struct homid *d, struct homi_topology **ret)
{
	int r;

	if (!d->reader) {
		if (!change_begin(d))
			return -EBUSY;
		homi_host_forget(d->host);
		r = d->host->ops->topology(d->host, ret);
		pthread_mutex_unlock(&d->change);
		return r;
	}
	pthread_mutex_lock(&d->read);
	homi_host_forget(d->reader);
	r = d->reader->ops->topology(d->reader, ret);
	/* the model is then ours alone: its reference count is not atomic */
	homi_host_forget(d->reader);
	pthread_mutex_unlock(&d->read);
	return r;
}

static json_t *m_topology(const struct call *c)
{
	struct homi_topology *t = NULL;
	int r = read_topology(c->d, &t);

	if (r == -EBUSY)
		return busy(c);
	if (r < 0)
		return homi_rpc_error(c->req->id, HOMI_RPC_INTERNAL_ERROR, strerror(-r), NULL);
	json_t *doc = homi_json_topology(t);
	homi_topology_free(t);
	return homi_rpc_result(c->req->id, doc);
}

/* The "files" param ([{"name", "content"}], or absent: NULL) into *RET;
 * an invalid-params reply when it is not one, else NULL. */
static json_t *files_param(const struct call *c, const json_t **ret)
{
	json_t *f = json_object_get(c->req->params, "files");
	bool bad = f && !json_is_array(f);
	size_t i;
	json_t *e;

	json_array_foreach(f, i, e)
		bad |= !json_is_string(json_object_get(e, "name")) || !json_is_string(json_object_get(e, "content"));
	*ret = f;
	return bad ? bad_params(c, "files: expected [{\"name\", \"content\"}]") : NULL;
}

static json_t *m_plan(const struct call *c)
{
	struct homid *d = c->d;
	struct homi_desired *want = NULL;
	struct homi_owned_set *records = NULL;
	struct homi_observed *o = NULL;
	struct homi_plan *p = NULL;
	_cleanup_free_ char *err = NULL;
	const json_t *files;
	json_t *reply = files_param(c, &files);
	int r;

	if (reply)
		return reply;
	/* a plan describes what a change would do from a settled machine: it
	 * waits for an apply under way (up to CHANGE_WAIT_S) rather than
	 * describe the machine halfway through it */
	if (!change_begin(d))
		return busy(c);
	r = build_desired(d, files, NULL, NULL, &want, &err);
	if (r < 0) {
		reply = homi_rpc_error(c->req->id, HOMI_RPC_POLICY_ERROR, err ? err : strerror(-r), NULL);
		goto out;
	}
	struct homi_plan_opts popts = { .force = param_bool(c, "force") };
	r = homi_state_load(d->cfg.state_dir, &records);
	if (r >= 0)
		r = homi_observe(d->host, want, records, &o);
	if (r >= 0)
		r = homi_plan_build(o, want, records, &popts, &p, &err);
	if (r < 0)
		reply = homi_rpc_error(c->req->id, r == -EINVAL ? HOMI_RPC_PLAN_INFEASIBLE : HOMI_RPC_INTERNAL_ERROR,
				       err ? err : strerror(-r), NULL);
	else
		reply = homi_rpc_result(c->req->id, homi_plan_to_json(p));
out:
	pthread_mutex_unlock(&d->change);
	homi_plan_free(p);
	homi_observed_free(o);
	homi_owned_set_free(records);
	homi_desired_free(want);
	return reply;
}

/* Runs an apply for a method and turns its outcome into a reply. */
static json_t *apply_reply(const struct call *c, const struct homi_desired *want, const struct homi_plan_opts *popts,
			   const char *cause)
{
	_cleanup_free_ char *err = NULL;
	json_t *doc = NULL;
	int r = apply_locked(c->d, want, popts, cause, false, &doc, &err);

	if (r < 0)
		return homi_rpc_error(c->req->id, r == -EINVAL ? HOMI_RPC_PLAN_INFEASIBLE : HOMI_RPC_INTERNAL_ERROR,
				      err ? err : strerror(-r), NULL);
	const char *outcome = json_string_value(json_object_get(doc, "result"));
	if (streq(outcome, "rolled-back") || streq(outcome, "failed")) {
		const char *e = json_string_value(json_object_get(doc, "error"));
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s (%s)", e ? e : "apply failed",
			 streq(outcome, "rolled-back") ? "rolled back" : "NOT everything was undone");
		return homi_rpc_error(c->req->id, HOMI_RPC_APPLY_FAILED, msg, doc);
	}
	return homi_rpc_result(c->req->id, doc);
}

static json_t *m_apply(const struct call *c)
{
	struct homid *d = c->d;
	struct homi_desired *want = NULL;
	struct homi_policy *p = NULL;
	_cleanup_free_ char *err = NULL;
	const json_t *files;
	json_t *reply = files_param(c, &files);
	int r;

	if (reply)
		return reply;
	if (param_bool(c, "dry-run"))
		return m_plan(c);
	if (!change_begin(d))
		return busy(c);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = build_desired(d, files, NULL, &p, &want, &err);
	if (r < 0) {
		reply = homi_rpc_error(c->req->id, HOMI_RPC_POLICY_ERROR, err ? err : strerror(-r), NULL);
		goto out;
	}
	if (files) {
		/* these files are the policies in force until a reload */
		json_t *copy = json_deep_copy(files);
		pthread_mutex_lock(&d->state); /* status reads it */
		json_decref(d->override_files);
		d->override_files = copy;
		pthread_mutex_unlock(&d->state);
		set_policy_state(d, p, NULL);
	}
	struct homi_plan_opts popts = { .force = param_bool(c, "force") };
	struct homi_host_counters before = d->host->counters;
	reply = apply_reply(c, want, &popts, "apply (socket)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_t *doc = json_object_get(reply, "result");
	if (doc) {
		/* what a benchmark needs: the time inside homid, and what touched
		 * the device; doc is also status's last-apply, which status copies
		 * under the state lock */
		pthread_mutex_lock(&d->state);
		json_object_set_new(doc, "elapsed-ms",
				    json_real((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6));
		json_object_set_new(doc, "device-writes",
				    json_pack("{s:i, s:i, s:i}", "nvme-admin", d->host->counters.admin_writes - before.admin_writes,
					      "sysfs", d->host->counters.sysfs_writes - before.sysfs_writes, "resets",
					      d->host->counters.resets - before.resets));
		pthread_mutex_unlock(&d->state);
	}
out:
	pthread_mutex_unlock(&d->change);
	homi_policy_free(p);
	homi_desired_free(want);
	return reply;
}

static int pf_param(const struct call *c, char pf[HOMI_ADDR_LEN])
{
	const char *s = json_string_value(json_object_get(c->req->params, "pf"));
	return s && homi_pci_parse_addr(s, pf) == 0 ? 0 : -EINVAL;
}

static json_t *m_teardown(const struct call *c)
{
	struct homid *d = c->d;
	char pf[HOMI_ADDR_LEN];
	struct homi_desired none = { 0 };
	struct homi_owned_set *records = NULL;
	json_t *reply;

	if (pf_param(c, pf) < 0)
		return bad_params(c, "pf: expected a PCI address");
	if (!change_begin(d))
		return busy(c);
	if (homi_state_load(d->cfg.state_dir, &records) < 0 || !homi_owned_find(records, pf)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: homi does not own it", pf);
		reply = homi_rpc_error(c->req->id, HOMI_RPC_INVALID_PARAMS, msg, NULL);
	} else {
		struct homi_plan_opts popts = { .force = param_bool(c, "force"),
						.teardown_allow_pf_reset = param_bool(c, "allow-pf-reset"),
						.only_pf = pf };
		hold(d, pf); /* stays torn down until a reload */
		homi_log(HOMI_LOG_NOTICE, "%s: teardown requested by uid %u; held down until reload", pf, c->peer->uid);
		reply = apply_reply(c, &none, &popts, "teardown (socket)");
	}
	homi_owned_set_free(records);
	pthread_mutex_unlock(&d->change);
	return reply;
}

static json_t *m_release(const struct call *c)
{
	struct homid *d = c->d;
	char pf[HOMI_ADDR_LEN], msg[160];
	int r;

	if (pf_param(c, pf) < 0)
		return bad_params(c, "pf: expected a PCI address");
	if (!change_begin(d))
		return busy(c);
	r = homi_state_forget(d->cfg.state_dir, pf);
	if (r >= 0) {
		hold(d, pf);
		homi_log(HOMI_LOG_NOTICE, "%s: released by uid %u: no longer owned, left as it is until reload", pf,
			 c->peer->uid);
		refresh_snapshot(d);
	}
	pthread_mutex_unlock(&d->change);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: homi does not own it", pf);
		return homi_rpc_error(c->req->id, HOMI_RPC_INVALID_PARAMS, msg, NULL);
	}
	return homi_rpc_result(c->req->id, json_pack("{s:i, s:s}", "homi-release", 1, "pf", pf));
}

static json_t *m_change(const struct call *c, enum homi_change_op op, const char *what)
{
	struct homid *d = c->d;
	json_t *pm = c->req->params, *reply = NULL;
	struct homi_change ch = { .op = op, .vq = -1, .vi = -1 };
	struct homi_overlay *ov = NULL, none = { 0 };
	struct homi_desired *policy_only = NULL, *want = NULL;
	_cleanup_free_ char *err = NULL, *origin = NULL;
	json_int_t vf = json_integer_value(json_object_get(pm, "vf"));
	int r;

	if (pf_param(c, ch.pf) < 0)
		return bad_params(c, "pf: expected a PCI address");
	if (vf < 1 || vf > 65535)
		return bad_params(c, "vf: expected a VF number from 1");
	ch.vf = (unsigned)vf;
	ch.runtime = param_bool(c, "runtime");
	if (op == HOMI_CHANGE_VF_ASSIGN) {
		const char *drv = json_string_value(json_object_get(pm, "driver"));
		json_t *vq = json_object_get(pm, "vq"), *vi = json_object_get(pm, "vi");
		if (!drv || homi_vf_driver_from_name(drv, &ch.driver) < 0)
			return bad_params(c, "driver: expected vfio-pci, nvme or none");
		if (!vq != !vi || (vq && (!json_is_integer(vq) || !json_is_integer(vi) || json_integer_value(vq) < 2 ||
					   json_integer_value(vi) < 1)))
			return bad_params(c, "vq and vi: both or neither, vq >= 2, vi >= 1");
		if (vq) {
			ch.vq = (int)json_integer_value(vq);
			ch.vi = (int)json_integer_value(vi);
		}
	}
	if (op == HOMI_CHANGE_NS_ATTACH || op == HOMI_CHANGE_NS_DETACH) {
		json_int_t nsid = json_integer_value(json_object_get(pm, "nsid"));
		const char *access = json_string_value(json_object_get(pm, "access"));
		if (nsid < 1 || nsid > 0xfffffffeLL)
			return bad_params(c, "nsid: expected a namespace ID from 1");
		if (access && !streq(access, "ro") && !streq(access, "rw"))
			return bad_params(c, "access: expected ro or rw");
		ch.nsid = (uint32_t)nsid;
		ch.read_only = access && streq(access, "ro");
	}
	origin = homi_change_origin("homid", what, c->peer->uid);
	ch.origin = origin;
	if (!change_begin(d))
		return busy(c);
	r = homi_overlay_load(d->cfg.state_dir, d->cfg.run_dir, &ov);
	if (r >= 0)
		r = build_desired(d, NULL, &none, NULL, &policy_only, &err);
	if (r < 0) {
		reply = homi_rpc_error(c->req->id, HOMI_RPC_POLICY_ERROR, err ? err : strerror(-r), NULL);
		goto out;
	}
	r = homi_change_edit(ov, policy_only, &ch, &err);
	if (r >= 0)
		r = build_desired(d, NULL, ov, NULL, &want, &err);
	if (r < 0) {
		reply = homi_rpc_error(c->req->id, HOMI_RPC_INVALID_PARAMS, err ? err : strerror(-r), NULL);
		goto out;
	}
	struct homi_plan_opts popts = { .force = param_bool(c, "force"), .only_pf = ch.pf };
	reply = apply_reply(c, want, &popts, what);
	if (json_object_get(reply, "result")) {
		r = homi_overlay_save(ov, d->cfg.state_dir, d->cfg.run_dir);
		if (r < 0)
			homi_log(HOMI_LOG_ERR, "%s/overlay.json: %s: the change is applied but not saved", d->cfg.state_dir,
				 strerror(-r));
		refresh_snapshot(d);
	}
out:
	pthread_mutex_unlock(&d->change);
	homi_desired_free(want);
	homi_desired_free(policy_only);
	homi_overlay_free(ov);
	return reply;
}

static json_t *m_vf_assign(const struct call *c) { return m_change(c, HOMI_CHANGE_VF_ASSIGN, "vf assign"); }
static json_t *m_vf_unassign(const struct call *c) { return m_change(c, HOMI_CHANGE_VF_UNASSIGN, "vf unassign"); }
static json_t *m_ns_attach(const struct call *c) { return m_change(c, HOMI_CHANGE_NS_ATTACH, "ns attach"); }
static json_t *m_ns_detach(const struct call *c) { return m_change(c, HOMI_CHANGE_NS_DETACH, "ns detach"); }

static json_t *m_reload(const struct call *c)
{
	char cause[64];
	snprintf(cause, sizeof(cause), "reload requested by uid %u", c->peer->uid);
	int r = homid_reload(c->d, cause);
	pthread_mutex_lock(&c->d->state);
	json_t *doc = json_pack("{s:i, s:o}", "homi-reload", 1, "policy-error",
				c->d->policy_error ? json_string(c->d->policy_error) : json_null());
	pthread_mutex_unlock(&c->d->state);
	if (r < 0 && r != -EINVAL) {
		json_decref(doc);
		return homi_rpc_error(c->req->id, HOMI_RPC_INTERNAL_ERROR, strerror(-r), NULL);
	}
	return homi_rpc_result(c->req->id, doc);
}

static json_t *m_device_show(const struct call *c)
{
	char pci[HOMI_ADDR_LEN];
	const char *s = json_string_value(json_object_get(c->req->params, "pci"));
	struct homi_topology *t = NULL;
	struct homi_device_report *rep = NULL;
	json_t *reply;
	int r;

	if (!s || homi_pci_parse_addr(s, pci) < 0)
		return bad_params(c, "pci: expected a PCI address");
	r = read_topology(c->d, &t);
	if (r == -EBUSY)
		return busy(c);
	ssize_t idx = r >= 0 ? homi_topology_find(t, pci) : -1;
	if (idx >= 0)
		r = homi_device_report_load(c->d->sysfs, t, (size_t)idx, &rep); /* sysfs only: safe beside a change */
	if (r < 0)
		reply = homi_rpc_error(c->req->id, HOMI_RPC_INTERNAL_ERROR, strerror(-r), NULL);
	else if (idx < 0)
	{
		char msg[64];
		snprintf(msg, sizeof(msg), "%s: no such PCI function", pci);
		reply = bad_params(c, msg);
	}
	else
		reply = homi_rpc_result(c->req->id, homi_json_device_show(t, rep));
	homi_device_report_free(rep);
	homi_topology_free(t);
	return reply;
}

static json_t *m_check(const struct call *c)
{
	struct homid *d = c->d;
	const char *pci = json_string_value(json_object_get(c->req->params, "pci"));
	const char *mode = json_string_value(json_object_get(c->req->params, "mode"));
	struct homi_check_opts opts = { 0 };
	struct homi_desired *want = NULL;
	struct homi_topology *t = NULL;
	struct homi_check_report *rep = NULL;
	struct homi_pci *lp = NULL;
	_cleanup_free_ char *err = NULL;
	char addr[HOMI_ADDR_LEN];
	const json_t *files;
	json_t *reply = files_param(c, &files);
	int r;

	if (reply)
		return reply;
	if (pci) {
		if (homi_pci_parse_addr(pci, addr) < 0)
			return bad_params(c, "pci: expected a PCI address");
		opts.only = addr;
	}
	if (mode && homi_check_modes_parse(mode, &opts.modes) < 0)
		return bad_params(c, "mode: expected H, D, G or a comma list of them");
	if (!d->sysfs) /* the checks read sysfs, /dev and /proc (check-gather.c) */
		return homi_rpc_error(c->req->id, HOMI_RPC_INTERNAL_ERROR,
				      "check reads the machine's sysfs: not available on a simulated host", NULL);
	if (!change_begin(d))
		return busy(c);
	r = build_desired(d, files, NULL, NULL, &want, &err); /* FILES: the caller's policies instead of ours */
	if (r < 0) {
		reply = homi_rpc_error(c->req->id, HOMI_RPC_POLICY_ERROR, err ? err : strerror(-r), NULL);
		goto out;
	}
	r = d->host->ops->topology(d->host, &t);
	if (r >= 0 && d->sysfs)
		homi_pci_open(homi_sysfs_root(d->sysfs), &lp); /* ACS from config space; optional */
	if (r >= 0) {
		struct homi_check_env env = { .sysfs = d->sysfs, .pci = lp, .host = d->host, .t = t };
		r = homi_check_run(&env, want, &opts, &rep, &err);
	}
	reply = r < 0 ? homi_rpc_error(c->req->id, HOMI_RPC_INTERNAL_ERROR, err ? err : strerror(-r), NULL)
		      : homi_rpc_result(c->req->id, homi_check_to_json(rep));
out:
	pthread_mutex_unlock(&d->change);
	homi_check_report_free(rep);
	homi_pci_free(lp);
	homi_topology_free(t);
	homi_desired_free(want);
	return reply;
}

struct method {
	const char *name;
	bool changes;
	json_t *(*run)(const struct call *c);
};

static const struct method methods[] = {
	{ "status", false, m_status },       { "topology", false, m_topology },
	{ "device.show", false, m_device_show }, { "plan", false, m_plan },
	{ "check", false, m_check },
	{ "apply", true, m_apply },          { "teardown", true, m_teardown },
	{ "release", true, m_release },      { "vf.assign", true, m_vf_assign },
	{ "vf.unassign", true, m_vf_unassign }, { "ns.attach", true, m_ns_attach },
	{ "ns.detach", true, m_ns_detach },  { "reload", true, m_reload },
};

json_t *homid_handle(void *userdata, const struct homi_peer *peer, const struct homi_rpc_request *req)
{
	struct call c = { .d = userdata, .peer = peer, .req = req };

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		if (!streq(methods[i].name, req->method))
			continue;
		if (methods[i].changes && !homi_peer_is_admin(peer, c.d->admin_gid)) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s: not authorized: uid %u is neither root nor in group %s", req->method,
				 peer->uid, c.d->cfg.admin_group);
			homi_log(HOMI_LOG_NOTICE, "refused %s from uid %u (pid %d)", req->method, peer->uid, peer->pid);
			return req->id ? homi_rpc_error(req->id, HOMI_RPC_NOT_AUTHORIZED, msg, NULL) : NULL;
		}
		if (methods[i].changes)
			homi_log(HOMI_LOG_INFO, "%s from uid %u (pid %d)", req->method, peer->uid, peer->pid);
		json_t *reply = methods[i].run(&c);
		if (!req->id) { /* a notification gets no answer */
			json_decref(reply);
			return NULL;
		}
		return reply;
	}
	return req->id ? homi_rpc_error(req->id, HOMI_RPC_METHOD_NOT_FOUND, "unknown method", NULL) : NULL;
}
