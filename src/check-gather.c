/* SPDX-License-Identifier: MIT */
/* The facts `check` judges, read from the machine: sysfs (through the sysfs
 * layer: a capture resolves inside its tree), ACS through libpci, NVMe admin
 * data and /dev/vfio ownership through the host interface, /proc and /dev
 * only on a live root. Nothing here decides anything. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check-facts.h"
#include "device.h"
#include "macro.h"

#define IORESOURCE_MEM 0x00000200UL
#define IORESOURCE_PREFETCH 0x00002000UL
#define IORESOURCE_MEM_64 0x00100000UL
#define IORESOURCE_UNSET 0x20000000UL
#define NVIDIA 0x10de

static int dev_dir(const struct homi_sysfs *s, const char *addr)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	return homi_sysfs_open_dir(s, rel);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of entries of directory REL; their names, sorted and joined by
 * spaces, in NAMES (cut to fit). -errno. */
static int list_dir(const struct homi_sysfs *s, const char *rel, char *names, size_t len)
{
	DIR *d = homi_sysfs_opendir(s, rel);
	char **v = NULL;
	struct dirent *de;
	int n = 0;

	if (names && len)
		names[0] = '\0';
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			v = nv ? nv : v;
			n = -ENOMEM;
			break;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n > 0) {
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
		for (int i = 0; names && i < n; i++) {
			size_t used = strlen(names);
			if (used + strlen(v[i]) + 2 < len)
				snprintf(names + used, len - used, "%s%s", i ? " " : "", v[i]);
		}
	}
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return n;
}

/* ---- host --------------------------------------------------------------- */

/* 1 present, 0 absent: /sys/module/NAME (live only: a capture has none). */
static int module_loaded(const struct homi_sysfs *s, const char *name)
{
	char rel[64];
	int fd;

	if (!homi_sysfs_is_live(s))
		return -1;
	snprintf(rel, sizeof(rel), "module/%s", name);
	fd = homi_sysfs_open_dir(s, rel);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static int node_exists(const struct homi_sysfs *s, const char *name)
{
	char path[64];
	struct stat st;

	if (homi_sysfs_dev_path(s, name, path, sizeof(path)) < 0)
		return -1;
	return stat(path, &st) == 0;
}

static bool cmdline_word(const char *w)
{
	static const char *const prefixes[] = { "intel_iommu=", "amd_iommu=", "iommu=", "iommu.", "pcie_acs_override=",
						"vfio.", "vfio_iommu_type1.", "vfio-pci.", "vfio_pci." };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (has_prefix(w, prefixes[i]))
			return true;
	/* pci=... options about ACS and ATS */
	return has_prefix(w, "pci=") && (strstr(w, "acs") || strstr(w, "noats"));
}

static void read_cmdline(const struct homi_sysfs *s, struct homi_host_facts *h)
{
	char path[64], buf[4096], *save = NULL, *w;
	_cleanup_fclose_ FILE *f = NULL;

	if (homi_sysfs_proc_path(s, "cmdline", path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	h->cmdline_known = true;
	for (w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
		size_t used = strlen(h->cmdline);
		if (cmdline_word(w) && used + strlen(w) + 2 < sizeof(h->cmdline))
			snprintf(h->cmdline + used, sizeof(h->cmdline) - used, "%s%s", used ? " " : "", w);
	}
}

static int read_noiommu(const struct homi_sysfs *s)
{
	char v[8];
	int fd, r;

	if (!homi_sysfs_is_live(s))
		return -1;
	fd = homi_sysfs_open_dir(s, "module/vfio/parameters");
	if (fd < 0)
		return fd == -ENOENT ? 0 : -1; /* vfio not loaded (or built without no-IOMMU support) */
	r = homi_sysfs_read_at(fd, "enable_unsafe_noiommu_mode", v, sizeof(v));
	close(fd);
	if (r == -ENOENT)
		return 0;
	return r > 0 ? (v[0] == 'Y' || v[0] == 'y' || v[0] == '1') : -1;
}

void homi_check_gather_host(const struct homi_check_env *env, struct homi_host_facts *h)
{
	const struct homi_sysfs *s = env->sysfs;
	int fd;

	memset(h, 0, sizeof(*h));
	h->live = homi_sysfs_is_live(s);
	h->iommu_units = list_dir(s, "class/iommu", h->iommu_names, sizeof(h->iommu_names));
	if (h->iommu_units < 0)
		h->iommu_units = 0; /* no class/iommu: no IOMMU registered (a capture copies the entries) */
	read_cmdline(s, h);
	h->noiommu = read_noiommu(s);
	fd = homi_sysfs_open_dir(s, "bus/pci/drivers/vfio-pci");
	h->vfio_pci = fd >= 0;
	if (fd >= 0)
		close(fd);
	h->type1 = module_loaded(s, "vfio_iommu_type1");
	h->iommufd = module_loaded(s, "iommufd");
	h->dev_vfio = node_exists(s, "vfio/vfio");
	h->dev_iommu = node_exists(s, "iommu");
	homi_probe_importer(s, h);
}

/* ---- a pair ------------------------------------------------------------- */

static const struct homi_device *dev_at(const struct homi_topology *t, ssize_t i)
{
	return i >= 0 ? &t->devices[i] : NULL;
}

/* Copies SRC (NULL: "") into DST, cut to fit. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The GPU nearest to device I: best affinity, then lowest address. */
static ssize_t nearest_gpu(const struct homi_topology *t, size_t i, enum homi_affinity_link *ret_link)
{
	enum homi_affinity_link best_link = HOMI_AFF_SYS;
	ssize_t best = -1;

	for (size_t g = 0; g < t->n_devices; g++) {
		if (t->devices[g].kind != HOMI_KIND_GPU)
			continue;
		enum homi_affinity_link l = homi_topology_affinity(t, g, i, NULL);
		if (best < 0 || l < best_link) {
			best = (ssize_t)g;
			best_link = l;
		}
	}
	*ret_link = best_link;
	return best;
}

static void read_group(const struct homi_check_env *env, int group, char type[16], char name[32])
{
	char rel[64];
	int fd;

	type[0] = name[0] = '\0';
	if (group < 0)
		return;
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d", group);
	fd = homi_sysfs_open_dir(env->sysfs, rel);
	if (fd < 0)
		return;
	if (homi_sysfs_read_at(fd, "type", type, 16) < 0)
		type[0] = '\0';
	if (homi_sysfs_read_at(fd, "name", name, 32) < 0)
		name[0] = '\0';
	close(fd);
}

static int read_members(const struct homi_check_env *env, struct homi_pair_facts *f)
{
	char rel[64];
	struct dirent *de;
	DIR *d;

	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices", f->group);
	d = homi_sysfs_opendir(env->sysfs, rel);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || streq(de->d_name, f->vf))
			continue;
		struct homi_member *m = realloc(f->members, (f->n_members + 1) * sizeof(*m));
		if (!m) {
			closedir(d);
			return -ENOMEM;
		}
		f->members = m;
		m = &f->members[f->n_members++];
		memset(m, 0, sizeof(*m));
		copy_str(m->pci, sizeof(m->pci), de->d_name);
		const struct homi_device *md = dev_at(env->t, homi_topology_find(env->t, de->d_name));
		m->kind = md ? md->kind : HOMI_KIND_OTHER;
		copy_str(m->driver, sizeof(m->driver), md ? md->driver : NULL);
	}
	closedir(d);
	/* readdir order is the file system's: sort for stable output */
	for (size_t i = 1; i < f->n_members; i++)
		for (size_t j = i; j > 0 && strcmp(f->members[j - 1].pci, f->members[j].pci) > 0; j--) {
			struct homi_member tmp = f->members[j];
			f->members[j] = f->members[j - 1];
			f->members[j - 1] = tmp;
		}
	return 0;
}

/* Bridges above device I, nearest first. */
static size_t chain(const struct homi_topology *t, ssize_t i, ssize_t out[64])
{
	size_t n = 0;
	for (ssize_t p = i >= 0 ? t->devices[i].parent_idx : -1; p >= 0 && n < 64; p = t->devices[p].parent_idx)
		out[n++] = p;
	return n;
}

static bool in_chain(const ssize_t *c, size_t n, ssize_t x)
{
	for (size_t i = 0; i < n; i++)
		if (c[i] == x)
			return true;
	return false;
}

static int add_port(const struct homi_check_env *env, struct homi_pair_facts *f, ssize_t idx, bool vf, bool gpu)
{
	const struct homi_device *d = &env->t->devices[idx];
	struct homi_port *p = realloc(f->ports, (f->n_ports + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	f->ports = p;
	p = &f->ports[f->n_ports++];
	memset(p, 0, sizeof(*p));
	memcpy(p->pci, d->pci, sizeof(p->pci));
	p->port_type = d->port_type;
	p->above_vf = vf;
	p->above_gpu = gpu;
	homi_acs_read(env->sysfs, env->pci, d->pci, &p->acs);
	return 0;
}

/* The VF side upwards, the GPU side upwards, then the shared part. */
static int read_ports(const struct homi_check_env *env, struct homi_pair_facts *f, ssize_t pos, ssize_t gpu)
{
	ssize_t vc[64], gc[64];
	size_t nv = chain(env->t, pos, vc), ng = chain(env->t, gpu, gc);
	int r = 0;

	for (size_t i = 0; i < nv && r >= 0; i++)
		if (!in_chain(gc, ng, vc[i]))
			r = add_port(env, f, vc[i], true, false);
	for (size_t i = 0; i < ng && r >= 0; i++)
		if (!in_chain(vc, nv, gc[i]))
			r = add_port(env, f, gc[i], false, true);
	for (size_t i = 0; i < nv && r >= 0; i++)
		if (in_chain(gc, ng, vc[i]))
			r = add_port(env, f, vc[i], true, true);
	return r;
}

static void read_secondary(const struct homi_check_env *env, const struct homi_device *pf, struct homi_pair_facts *f)
{
	struct homi_secondary *sec = NULL;
	size_t n = 0;
	int status = 0, r;

	if (pf->has_nvme)
		copy_str(f->ctrl, sizeof(f->ctrl), pf->nvme.name);
	if (!homi_sysfs_is_live(env->sysfs)) {
		snprintf(f->sec_why, sizeof(f->sec_why),
			 "a captured tree holds no NVMe admin data (the Secondary Controller List needs the live PF)");
		return;
	}
	if (!env->host) {
		snprintf(f->sec_why, sizeof(f->sec_why), "NVMe admin commands are not available here");
		return;
	}
	if (!pf->driver || !streq(pf->driver, "nvme")) {
		snprintf(f->sec_why, sizeof(f->sec_why), "the PF %s is not on the nvme driver: its secondary controllers "
			 "cannot be listed", pf->pci);
		return;
	}
	r = env->host->ops->secondaries(env->host, pf->pci, &sec, &n, &status);
	if (r < 0) {
		snprintf(f->sec_why, sizeof(f->sec_why), "the Secondary Controller List (Identify CNS 0x15) of %s failed: %s%s",
			 f->ctrl[0] ? f->ctrl : pf->pci, homi_host_strerror(r, status),
			 r == -EACCES || r == -EPERM ? " (NVMe admin commands need root)" : "");
		return;
	}
	f->sec_known = true;
	for (size_t i = 0; i < n; i++)
		if (sec[i].vfn == f->vfn) {
			f->sec_found = true;
			f->online = sec[i].online;
			f->scid = sec[i].scid;
			f->nvq = sec[i].nvq;
			f->nvi = sec[i].nvi;
		}
	free(sec);
}

static void read_node(const struct homi_check_env *env, struct homi_pair_facts *f)
{
	char name[48], path[64];
	struct stat st;
	int r;

	f->want_ids_known = true;
	if (f->want_owner[0] || f->want_group[0]) {
		if (!env->host) {
			f->want_ids_known = false;
			snprintf(f->want_ids_why, sizeof(f->want_ids_why), "user and group names cannot be resolved here");
		} else if (f->want_owner[0] && env->host->ops->lookup_user(env->host, f->want_owner, &f->want_uid) < 0) {
			f->want_ids_known = false;
			snprintf(f->want_ids_why, sizeof(f->want_ids_why), "the policy's owner '%s' is not a user here",
				 f->want_owner);
		} else if (f->want_group[0] && env->host->ops->lookup_group(env->host, f->want_group, &f->want_gid) < 0) {
			f->want_ids_known = false;
			snprintf(f->want_ids_why, sizeof(f->want_ids_why), "the policy's group '%s' is not a group here",
				 f->want_group);
		}
	}
	if (!streq(f->vf_driver, "vfio-pci")) {
		snprintf(f->node_why, sizeof(f->node_why), "the VF is not on vfio-pci: it has no /dev/vfio node");
		return;
	}
	if (f->group < 0) {
		snprintf(f->node_why, sizeof(f->node_why), "the VF has no IOMMU group: it has no /dev/vfio node");
		return;
	}
	/* vfio names a no-IOMMU group's node noiommu-N */
	snprintf(name, sizeof(name), "vfio/%s%d", streq(f->group_name, "vfio-noiommu") ? "noiommu-" : "", f->group);
	if (homi_sysfs_dev_path(env->sysfs, name, path, sizeof(path)) < 0) {
		snprintf(f->node_why, sizeof(f->node_why), "a captured tree has no /dev: /dev/%s cannot be looked at", name);
		return;
	}
	copy_str(f->node, sizeof(f->node), path);
	if (env->host && !streq(f->group_name, "vfio-noiommu")) {
		/* The same observation plan and apply make. */
		mode_t mode = 0;
		r = env->host->ops->vfio_node(env->host, f->group, &st.st_uid, &st.st_gid, &mode);
		st.st_mode = mode;
	} else {
		r = stat(path, &st) < 0 ? -errno : 0;
	}
	if (r < 0) {
		snprintf(f->node_why, sizeof(f->node_why), "%s: %s", path, strerror(-r));
		f->node_known = r == -ENOENT; /* known to be missing */
		f->mode = -1;
		return;
	}
	f->node_known = true;
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	f->mode = (int)(st.st_mode & 07777);
}

static void read_bar(const struct homi_check_env *env, struct homi_pair_facts *f)
{
	char buf[2048], *line, *save = NULL;
	int fd = dev_dir(env->sysfs, f->gpu), r;

	r = fd < 0 ? fd : homi_sysfs_read_at(fd, "resource", buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		snprintf(f->bar_why, sizeof(f->bar_why), "%s/resource cannot be read (%s)", f->gpu, strerror(-r));
		return;
	}
	f->bar = -1;
	line = strtok_r(buf, "\n", &save);
	for (int i = 0; line && i < 6; i++, line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, flags;
		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		if ((flags & (IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64)) !=
		    (IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64) || end < start)
			continue;
		uint64_t size = (uint64_t)(end - start + 1);
		if (f->bar < 0 || size > f->bar_size) {
			f->bar = i;
			f->bar_size = size;
			f->bar_start = (flags & IORESOURCE_UNSET) ? 0 : (uint64_t)start;
		}
	}
	if (f->bar < 0) {
		snprintf(f->bar_why, sizeof(f->bar_why), "%s/resource lists no 64-bit prefetchable memory BAR", f->gpu);
		return;
	}
	f->bar_known = true;
}

static void read_gpu(const struct homi_check_env *env, ssize_t gi, struct homi_pair_facts *f)
{
	const struct homi_device *g = &env->t->devices[gi];

	copy_str(f->gpu_driver, sizeof(f->gpu_driver), g->driver);
	f->gpu_vendor = g->vendor;
	f->gpu_group = g->iommu_group;
	f->gpu_numa = g->numa_node;
	copy_str(f->gpu_hb, sizeof(f->gpu_hb), g->host_bridge);
	char name[32];
	read_group(env, f->gpu_group, f->gpu_group_type, name);
	read_bar(env, f);
	if (!homi_sysfs_is_live(env->sysfs))
		snprintf(f->mem_why, sizeof(f->mem_why),
			 "a captured tree cannot tell the GPU's memory size (NVIDIA's management library asks the live GPU)");
	else if (g->vendor != NVIDIA)
		snprintf(f->mem_why, sizeof(f->mem_why), "the memory size of a non-NVIDIA GPU is not read");
	else
		f->mem_known = homi_probe_nvml(g->pci, &f->mem_total, &f->nvml_bar1, f->mem_why, sizeof(f->mem_why));
}

void homi_check_gather_gpu(const struct homi_check_env *env, const char *gpu, struct homi_pair_facts *f)
{
	ssize_t gi = homi_topology_find(env->t, gpu);

	memset(f, 0, sizeof(*f));
	f->group = f->gpu_group = -1;
	f->want_mode = -1;
	f->machine_has_gpu = true;
	if (gi < 0)
		return;
	copy_str(f->gpu, sizeof(f->gpu), gpu);
	copy_str(f->label, sizeof(f->label), gpu);
	read_gpu(env, gi, f);
}

static void read_pairing(const struct homi_check_env *env, const struct homi_check_want *w, struct homi_pair_facts *f,
			 ssize_t pos)
{
	const struct homi_topology *t = env->t;
	const struct homi_want_vf *v = w->want;
	ssize_t best = nearest_gpu(t, (size_t)pos, &f->best_link);

	f->machine_has_gpu = best >= 0;
	if (best >= 0)
		memcpy(f->best_gpu, t->devices[best].pci, HOMI_ADDR_LEN);
	if (!v) {
		f->pairing = HOMI_PAIR_NO_POLICY;
	} else {
		copy_str(f->origin, sizeof(f->origin), v->origin);
		copy_str(f->want_driver, sizeof(f->want_driver), homi_vf_driver_name(v->driver));
		copy_str(f->want_owner, sizeof(f->want_owner), v->owner);
		copy_str(f->want_group, sizeof(f->want_group), v->group);
		f->want_mode = v->mode;
		switch (v->gpu) {
		case HOMI_GPU_ADDR: f->pairing = HOMI_PAIR_NAMED; break;
		case HOMI_GPU_NEAREST: f->pairing = HOMI_PAIR_NEAREST; break;
		case HOMI_GPU_NONE: f->pairing = HOMI_PAIR_NONE; break;
		default: f->pairing = HOMI_PAIR_UNSET; break;
		}
	}
	if (f->pairing == HOMI_PAIR_NAMED) {
		ssize_t g = homi_topology_find(t, v->gpu_addr);
		copy_str(f->named_gpu, sizeof(f->named_gpu), v->gpu_addr);
		if (g >= 0 && t->devices[g].kind == HOMI_KIND_GPU)
			memcpy(f->gpu, v->gpu_addr, HOMI_ADDR_LEN);
	} else if (f->pairing == HOMI_PAIR_NEAREST) {
		copy_str(f->gpu, sizeof(f->gpu), v->gpu_addr); /* nearest to the PF, as the policy resolved it */
	} else if (f->pairing != HOMI_PAIR_NONE && best >= 0) {
		memcpy(f->gpu, t->devices[best].pci, HOMI_ADDR_LEN);
	}
}

int homi_check_gather_pair(const struct homi_check_env *env, const struct homi_check_want *w,
			   struct homi_pair_facts *f)
{
	const struct homi_topology *t = env->t;
	ssize_t pfi = homi_topology_find(t, w->pf), vi = -1, gi, pos;
	const struct homi_device *pf, *vf;
	const char *vaddr;
	int r;

	memset(f, 0, sizeof(*f));
	f->group = f->gpu_group = -1;
	f->want_mode = -1;
	f->vf_numa = f->gpu_numa = -1;
	f->pf_num_vfs = -1;
	if (pfi < 0)
		return -ENODEV;
	pf = &t->devices[pfi];
	memcpy(f->pf, pf->pci, HOMI_ADDR_LEN);
	f->vfn = w->vfn;
	f->pf_num_vfs = pf->sriov.num_vfs;
	vaddr = homi_device_vf_addr(pf, w->vfn);
	if (vaddr)
		vi = homi_topology_find(t, vaddr);
	vf = dev_at(t, vi);
	if (vf) {
		memcpy(f->vf, vf->pci, HOMI_ADDR_LEN);
		snprintf(f->label, sizeof(f->label), "%s", vf->pci);
		copy_str(f->vf_driver, sizeof(f->vf_driver), vf->driver);
		f->group = vf->iommu_group;
		read_group(env, f->group, f->group_type, f->group_name);
		if (f->group >= 0 && (r = read_members(env, f)) < 0)
			return r;
	} else {
		snprintf(f->label, sizeof(f->label), "VF%u of %s", w->vfn, pf->pci);
	}
	pos = vi >= 0 ? vi : pfi; /* a VF sits where its PF sits */
	f->vf_numa = t->devices[pos].numa_node;
	copy_str(f->vf_hb, sizeof(f->vf_hb), t->devices[pos].host_bridge);
	read_pairing(env, w, f, pos);

	gi = f->gpu[0] ? homi_topology_find(t, f->gpu) : -1;
	if (gi >= 0) {
		ssize_t common;
		f->link = homi_topology_affinity(t, (size_t)gi, (size_t)pos, &common);
		if (common >= 0) {
			memcpy(f->common, t->devices[common].pci, HOMI_ADDR_LEN);
			f->common_type = t->devices[common].port_type;
		}
		read_gpu(env, gi, f);
	}
	r = read_ports(env, f, pos, gi);
	if (r < 0)
		return r;
	read_secondary(env, pf, f);
	read_node(env, f);
	return 0;
}

void homi_pair_facts_clear(struct homi_pair_facts *f)
{
	free(f->ports);
	free(f->members);
	f->ports = NULL;
	f->members = NULL;
	f->n_ports = f->n_members = 0;
}
