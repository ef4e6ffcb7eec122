/* SPDX-License-Identifier: MIT */
/* homid: the boot-time control daemon of homi (homid(8)). It owns the
 * desired state, applies it at boot, keeps it true (uevents, a periodic
 * Identify), and is the only thing that changes devices while it runs. */
#include "config.h"

#include <getopt.h>
#include <libudev.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon.h"
#include "defaults.h"
#include "host-sim.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "state.h"

#define DEBOUNCE_MS 500

static const char usage[] =
	"usage: homid [--config FILE] [--foreground] [--policy-dir DIR] [--socket PATH] [--run-dir DIR]\n"
	"             [--state-dir DIR] [--sysfs-root DIR | --simulate testbed] [--log-level LEVEL]\n";

struct opts {
	const char *config, *policy_dir, *socket, *run_dir, *state_dir, *sysfs_root, *simulate, *log_level;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_CONFIG = 0x100, O_FG, O_POLICY, O_SOCKET, O_RUN, O_STATE, O_SYSFS, O_SIM, O_LOG, O_VERSION };
	static const struct option options[] = {
		{ "config", required_argument, NULL, O_CONFIG },   { "foreground", no_argument, NULL, O_FG },
		{ "policy-dir", required_argument, NULL, O_POLICY }, { "socket", required_argument, NULL, O_SOCKET },
		{ "run-dir", required_argument, NULL, O_RUN },     { "state-dir", required_argument, NULL, O_STATE },
		{ "sysfs-root", required_argument, NULL, O_SYSFS }, { "simulate", required_argument, NULL, O_SIM },
		{ "log-level", required_argument, NULL, O_LOG },   { "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },                {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case O_CONFIG: o->config = optarg; break;
		case O_FG: break; /* homid never forks: systemd's Type=notify, or a shell, keeps it */
		case O_POLICY: o->policy_dir = optarg; break;
		case O_SOCKET: o->socket = optarg; break;
		case O_RUN: o->run_dir = optarg; break;
		case O_STATE: o->state_dir = optarg; break;
		case O_SYSFS: o->sysfs_root = optarg; break;
		case O_SIM: o->simulate = optarg; break;
		case O_LOG: o->log_level = optarg; break;
		case O_VERSION: printf("homid %s\n", PACKAGE_VERSION); exit(0);
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); return -EINVAL;
		}
	}
	if (optind != argc || (o->sysfs_root && o->simulate)) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (o->simulate && !streq(o->simulate, "testbed")) {
		fprintf(stderr, "homid: --simulate: only 'testbed' exists\n");
		return -EINVAL;
	}
	return 0;
}

static int replace(char **dst, const char *value)
{
	char *s;
	if (!value)
		return 0;
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int load_config(const struct opts *o, struct homid_config *cfg)
{
	char *err = NULL;
	int r = homid_config_defaults(cfg);

	if (r < 0)
		return r;
	r = homid_config_load(cfg, o->config ? o->config : HOMI_CONFIG_FILE, o->config != NULL, &err);
	if (r < 0) {
		fprintf(stderr, "%s\n", err ? err : strerror(-r));
		free(err);
		return r;
	}
	bool socket_follows = !o->socket && o->run_dir;
	if (replace(&cfg->policy_dir, o->policy_dir) < 0 || replace(&cfg->run_dir, o->run_dir) < 0 ||
	    replace(&cfg->state_dir, o->state_dir) < 0 || replace(&cfg->socket, o->socket) < 0)
		return -ENOMEM;
	if (socket_follows) {
		free(cfg->socket);
		if (asprintf(&cfg->socket, "%s/homid.sock", cfg->run_dir) < 0)
			return -ENOMEM;
	}
	if (o->log_level) {
		int l = homi_log_level_from_name(o->log_level);
		if (l < 0) {
			fprintf(stderr, "homid: --log-level: expected err, warning, notice, info or debug\n");
			return -EINVAL;
		}
		cfg->log_level = l;
	}
	return 0;
}

/* ---- the boot thread: a stuck device must not keep SIGTERM waiting --------- */

static void *boot_thread(void *arg)
{
	struct homid *d = arg;

	homid_boot(d);
	sd_notify(0, "READY=1\nSTATUS=devices provisioned; serving");
	homi_log(HOMI_LOG_INFO, "ready");
	return NULL;
}

/* ---- uevents ------------------------------------------------------------------- */

struct monitor {
	struct udev *udev;
	struct udev_monitor *mon;
};

static int monitor_open(struct monitor *m)
{
	/* The kernel's own netlink source: it works without udevd. */
	m->udev = udev_new();
	if (!m->udev)
		return -ENOMEM;
	m->mon = udev_monitor_new_from_netlink(m->udev, "kernel");
	if (!m->mon || udev_monitor_filter_add_match_subsystem_devtype(m->mon, "pci", NULL) < 0 ||
	    udev_monitor_enable_receiving(m->mon) < 0)
		return -EIO;
	return udev_monitor_get_fd(m->mon);
}

static void monitor_close(struct monitor *m)
{
	if (m->mon)
		udev_monitor_unref(m->mon);
	if (m->udev)
		udev_unref(m->udev);
}

/* A uevent on a managed function (or a new VF of a managed PF) arms the
 * debounce; returns whether it did. */
static bool monitor_event(struct monitor *m, struct homid *d, struct homi_sysfs *s, char *cause, size_t len)
{
	struct udev_device *dev = udev_monitor_receive_device(m->mon);
	const char *action, *name;
	bool ours = false;

	if (!dev)
		return false;
	action = udev_device_get_action(dev);
	name = udev_device_get_sysname(dev);
	if (action && name && (streq(action, "add") || streq(action, "remove") || streq(action, "bind") ||
			       streq(action, "unbind") || streq(action, "change"))) {
		ours = homid_manages(d, name);
		if (!ours) {
			char rel[64], pf[64];
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s", name);
			int fd = homi_sysfs_open_dir(s, rel);
			if (fd >= 0) {
				ours = homi_sysfs_link_name_at(fd, "physfn", pf, sizeof(pf)) > 0 && homid_manages(d, pf);
				close(fd);
			}
		}
		if (ours)
			snprintf(cause, len, "uevent %s on %s", action, name);
	}
	udev_device_unref(dev);
	return ours;
}

static void arm(int tfd, unsigned ms, unsigned interval_ms)
{
	struct itimerspec its = {
		.it_value = { ms / 1000, (long)(ms % 1000) * 1000000 },
		.it_interval = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000 },
	};
	timerfd_settime(tfd, 0, &its, NULL);
}

static int serve(struct homid *d, struct homi_sysfs *s, const struct homid_config *cfg, int sfd)
{
	struct monitor mon = { 0 };
	char cause[160] = "";
	int ufd = s && homi_sysfs_is_live(s) ? monitor_open(&mon) : -ENODEV;
	int verify = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), debounce = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (ufd < 0)
		homi_log(HOMI_LOG_WARNING, "no kernel uevent monitor (%s): drift is found by the periodic check only",
			 strerror(-ufd));
	if (cfg->verify_interval)
		arm(verify, cfg->verify_interval * 1000, cfg->verify_interval * 1000);
	for (;;) {
		struct pollfd p[] = {
			{ .fd = sfd, .events = POLLIN }, { .fd = ufd, .events = POLLIN },
			{ .fd = verify, .events = POLLIN }, { .fd = debounce, .events = POLLIN },
		};
		if (poll(p, ARRAY_SIZE(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				sd_notify(0, "RELOADING=1");
				homid_reload(d, "SIGHUP");
				sd_notify(0, "READY=1");
				continue;
			}
			homi_log(HOMI_LOG_NOTICE, "%s: stopping", strsignal((int)si.ssi_signo));
			break;
		}
		if (p[1].revents & POLLIN && monitor_event(&mon, d, s, cause, sizeof(cause)))
			arm(debounce, DEBOUNCE_MS, 0); /* a burst of events, one repair */
		uint64_t n;
		if (p[2].revents & POLLIN && read(verify, &n, sizeof(n)) == sizeof(n) && homid_ready(d))
			homid_verify(d);
		if (p[3].revents & POLLIN && read(debounce, &n, sizeof(n)) == sizeof(n) && homid_ready(d))
			homid_repair(d, cause[0] ? cause : "uevent");
	}
	monitor_close(&mon);
	close(verify);
	close(debounce);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct homid_config cfg;
	struct homi_sysfs *s = NULL;
	struct homi_host *h = NULL;
	struct homid *d = NULL;
	struct homi_server *srv = NULL;
	pthread_t boot;
	sigset_t mask;
	int r, lock = -EBADF, sfd = -EBADF, status = 1;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (load_config(&o, &cfg) < 0)
		return 1;
	homi_log_set_level(cfg.log_level);
	if (o.simulate) {
		struct homi_sim_config sc;
		homi_sim_config_testbed(&sc);
		r = homi_host_sim(&sc, &h);
	} else {
		r = homi_sysfs_open(o.sysfs_root, &s);
		if (r < 0) {
			homi_log(HOMI_LOG_ERR, "%s: %s", o.sysfs_root ? o.sysfs_root : "/sys",
				 r == -EINVAL ? "not a sysfs tree" : strerror(-r));
			goto out;
		}
		r = homi_host_linux(s, &h);
	}
	if (r < 0) {
		homi_log(HOMI_LOG_ERR, "host: %s", strerror(-r));
		goto out;
	}
	/* /run/homi is writable early; the state directory once /var is */
	if ((r = homi_mkdir_p(cfg.run_dir, 0755)) < 0 || (r = homi_mkdir_p(cfg.state_dir, 0755)) < 0) {
		homi_log(HOMI_LOG_ERR, "%s: %s", r == -EACCES ? cfg.run_dir : cfg.state_dir, strerror(-r));
		goto out;
	}
	/* the journal and the ownership records there are executed as root */
	const char *dirs[] = { cfg.run_dir, cfg.state_dir };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if ((r = homi_dir_private(dirs[i])) < 0) {
			homi_log(HOMI_LOG_ERR, "%s: %s", dirs[i],
				 r == -EPERM ? "others may write to it (or it is not ours): refusing to trust what is there"
					     : strerror(-r));
			goto out;
		}
	lock = homi_lock_take(cfg.run_dir);
	if (lock < 0) {
		homi_log(HOMI_LOG_ERR, "%s/%s: %s", cfg.run_dir, HOMI_LOCK_NAME,
			 lock == -EBUSY ? "another homi process (homid, or homictl --direct) is changing devices"
					: strerror(-lock));
		goto out;
	}
	const char *host_name = h->ops->name;
	r = homid_new(&cfg, h, s, &d);
	if (r < 0)
		goto out;
	h = NULL; /* the daemon's now */
	/* signals go to the signalfd; every thread created after inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	r = homi_server_start(cfg.socket, homid_handle, d, &srv);
	if (r < 0) {
		homi_log(HOMI_LOG_ERR, "%s: %s", cfg.socket,
			 r == -EADDRINUSE ? "another homid answers on this socket" : strerror(-r));
		goto out;
	}
	/* local users cannot take every connection from root and the admin
	 * group (docs/security.md) */
	homi_server_set_conn_limits(srv, cfg.max_conn_per_user, HOMI_SERVER_RESERVE, homid_admin_gid(d));
	homi_log(HOMI_LOG_INFO, "homid %s: %s host, policies in %s, socket %s", PACKAGE_VERSION, host_name,
		 cfg.policy_dir, cfg.socket);
	pthread_create(&boot, NULL, boot_thread, d);
	serve(d, s, &cfg, sfd);

	sd_notify(0, "STOPPING=1");
	homid_request_stop(d);          /* an apply under way rolls back after its step */
	pthread_join(boot, NULL);
	homi_server_stop(srv);          /* waits for handlers running now */
	homi_log(HOMI_LOG_INFO, "stopped");
	status = 0;
out:
	/* every exit frees what it took, so that leak checkers see real leaks */
	homid_free(d);
	homi_host_free(h);
	homi_sysfs_free(s);
	if (sfd >= 0)
		close(sfd);
	if (lock >= 0)
		close(lock);
	homid_config_done(&cfg);
	return status;
}
