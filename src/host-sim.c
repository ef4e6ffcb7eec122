/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-sim.h"
#include "macro.h"

#define SC(sct, sc) (0x4000 | ((sct) << 8) | (sc)) /* DNR set, as QEMU does */
#define ST_INVALID_FIELD SC(0, 0x02)
#define ST_INVALID_CTRL_ID SC(1, 0x1f)
#define ST_INVALID_SEC_STATE SC(1, 0x20)
#define ST_INVALID_RESOURCES SC(1, 0x21)
#define ST_INVALID_RESOURCE_ID SC(1, 0x22)
#define ST_NS_ALREADY_ATTACHED SC(1, 0x18)
#define ST_NS_PRIVATE SC(1, 0x19)
#define ST_NS_NOT_ATTACHED SC(1, 0x1a)
#define ST_CTRL_LIST_INVALID SC(1, 0x1c)
#define ST_INVALID_NS SC(0, 0x0b)

struct sim_vf {
	char pci[HOMI_ADDR_LEN];
	char driver[16];   /* "" unbound */
	char override[16];
	bool vfio_open, mounted;
};

struct sim_sec {
	bool online;
	uint16_t nvq, nvi;
};

struct sim_ns {
	struct homi_sim_ns cfg;
	uint16_t ctrls[HOMI_SIM_MAX_VFS + 1];
	size_t n_ctrls;
	bool mounted_on_pf;
};

struct sim_node {
	bool exists;
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

struct sim_pf {
	struct homi_sim_pf cfg;
	char driver[16];
	unsigned num_vfs;
	int autoprobe;
	uint16_t vqrfap, virfap;     /* effective */
	uint16_t staged_vq, staged_vi;
	struct sim_sec secs[HOMI_SIM_MAX_VFS];
	struct sim_vf vfs[HOMI_SIM_MAX_VFS];
	struct sim_ns ns[HOMI_SIM_MAX_NS];
};

struct sim {
	struct homi_host host;
	/* The machine below, under this lock: every op holds it for its whole
	 * call, so a reader (sim_reader) sees the state between two ops of a
	 * change, never in the middle of one. Recursive: an op may call another. */
	pthread_mutex_t lock;
	struct homi_sim_config cfg;
	struct sim_pf pfs[HOMI_SIM_MAX_PFS];
	size_t n_pfs;
	struct sim_node nodes[256];
	unsigned blocked;
};

/* A reader (host.h): its own counters, the machine of the sim it was made from. */
struct sim_reader {
	struct homi_host host;
	struct sim *sim;
};

static const struct homi_host_ops sim_ops, sim_reader_ops;

static struct sim *sim_of(struct homi_host *h)
{
	return h->ops == &sim_reader_ops ? ((struct sim_reader *)h)->sim : (struct sim *)h;
}

static bool read_only(struct homi_host *h) { return h->ops == &sim_reader_ops; }

static void sim_unlockp(pthread_mutex_t **m)
{
	if (*m)
		pthread_mutex_unlock(*m);
}

static pthread_mutex_t *sim_lock(struct sim *s)
{
	pthread_mutex_lock(&s->lock);
	return &s->lock;
}

/* Holds the machine's lock until the end of the enclosing block. */
#define SIM_LOCKED(h) _cleanup_(sim_unlockp) pthread_mutex_t *_sim_locked = sim_lock(sim_of(h))

static struct sim_pf *find_pf(struct sim *s, const char *pci)
{
	for (size_t i = 0; i < s->n_pfs; i++)
		if (streq(s->pfs[i].cfg.pci, pci))
			return &s->pfs[i];
	return NULL;
}

static struct sim_vf *find_vf(struct sim *s, const char *pci, struct sim_pf **ret_pf, unsigned *ret_i)
{
	for (size_t p = 0; p < s->n_pfs; p++)
		for (unsigned i = 0; i < s->pfs[p].num_vfs; i++)
			if (streq(s->pfs[p].vfs[i].pci, pci)) {
				if (ret_pf)
					*ret_pf = &s->pfs[p];
				if (ret_i)
					*ret_i = i;
				return &s->pfs[p].vfs[i];
			}
	return NULL;
}

static int vf_group(const struct sim_pf *pf, unsigned i)
{
	return pf->cfg.shared_group ? pf->cfg.iommu_group : pf->cfg.iommu_group + 1 + (int)i;
}

static uint16_t scid_of(const struct sim_pf *pf, unsigned i) { return (uint16_t)(pf->cfg.first_scid + i); }

/* Secondary index of SCID, or -1. */
static int sec_index(const struct sim_pf *pf, uint16_t scid)
{
	if (scid < pf->cfg.first_scid || scid >= pf->cfg.first_scid + pf->cfg.total_vfs)
		return -1;
	return scid - pf->cfg.first_scid;
}

static void vf_addr(const struct sim_pf *pf, unsigned i, char out[HOMI_ADDR_LEN])
{
	unsigned dom, bus, dev, fn;
	sscanf(pf->cfg.pci, "%x:%x:%x.%u", &dom, &bus, &dev, &fn);
	unsigned rid = (bus << 8 | dev << 3 | fn) + 1 + i; /* offset 1, stride 1 (QEMU) */
	snprintf(out, HOMI_ADDR_LEN, "%04x:%02x:%02x.%u", dom, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7);
}

static void offline_all(struct sim_pf *pf)
{
	for (unsigned i = 0; i < pf->cfg.total_vfs; i++)
		pf->secs[i] = (struct sim_sec){ 0 };
}

static bool ns_attached(const struct sim_ns *ns, uint16_t cntlid)
{
	for (size_t i = 0; i < ns->n_ctrls; i++)
		if (ns->ctrls[i] == cntlid)
			return true;
	return false;
}

static void ns_detach_ctrl(struct sim_ns *ns, uint16_t cntlid)
{
	for (size_t i = 0; i < ns->n_ctrls; i++)
		if (ns->ctrls[i] == cntlid) {
			ns->ctrls[i] = ns->ctrls[--ns->n_ctrls];
			return;
		}
}

static void node_update(struct sim *s, int group)
{
	bool any = false;

	for (size_t p = 0; p < s->n_pfs; p++)
		for (unsigned i = 0; i < s->pfs[p].num_vfs; i++)
			any |= vf_group(&s->pfs[p], i) == group && streq(s->pfs[p].vfs[i].driver, "vfio-pci");
	if (group < 0 || group >= (int)ARRAY_SIZE(s->nodes))
		return;
	if (any && !s->nodes[group].exists)
		s->nodes[group] = (struct sim_node){ true, 0, 0, 0600 };
	else if (!any)
		s->nodes[group] = (struct sim_node){ 0 };
}

/* Probing VF I with DRIVER, as the kernel would. */
static void probe_vf(struct sim *s, struct sim_pf *pf, unsigned i, const char *driver)
{
	struct sim_vf *vf = &pf->vfs[i];

	if (streq(driver, "nvme") && !pf->secs[i].online)
		return; /* "Device not ready; aborting initialisation, CSTS=0x2" */
	snprintf(vf->driver, sizeof(vf->driver), "%s", driver);
	if (streq(driver, "vfio-pci"))
		node_update(s, vf_group(pf, i));
	if (streq(driver, "nvme"))
		for (size_t n = 0; n < pf->cfg.n_ns; n++)
			(void)n; /* namespaces appear through attachment, nothing to do */
}

static int set_numvfs(struct sim *s, struct sim_pf *pf, const char *value)
{
	char *end;
	long n = strtol(value, &end, 10);

	if (!*value || (*end && *end != '\n') || n < 0 || n > 65535)
		return -EINVAL;
	if (!pf->driver[0])
		return -ENOENT;
	if (n > pf->cfg.total_vfs)
		return -ERANGE;
	if ((unsigned)n == pf->num_vfs)
		return 0;
	if (n && pf->num_vfs)
		return -EBUSY;
	if (n == 0) {
		for (unsigned i = 0; i < pf->num_vfs; i++)
			if (pf->vfs[i].vfio_open) {
				s->blocked++;
				return -EDEADLK; /* the kernel would block here */
			}
		for (unsigned i = 0; i < pf->num_vfs; i++) {
			int g = vf_group(pf, i);
			for (size_t k = 0; k < pf->cfg.n_ns; k++)
				ns_detach_ctrl(&pf->ns[k], scid_of(pf, i));
			pf->vfs[i] = (struct sim_vf){ 0 };
			node_update(s, g);
		}
		pf->num_vfs = 0;
		offline_all(pf); /* QEMU: VF controllers destroyed */
		return 0;
	}
	pf->num_vfs = (unsigned)n;
	for (unsigned i = 0; i < pf->num_vfs; i++) {
		pf->vfs[i] = (struct sim_vf){ 0 };
		vf_addr(pf, i, pf->vfs[i].pci);
		for (size_t k = 0; k < pf->cfg.n_ns; k++)
			if (pf->ns[k].cfg.auto_attach && !ns_attached(&pf->ns[k], scid_of(pf, i)))
				pf->ns[k].ctrls[pf->ns[k].n_ctrls++] = scid_of(pf, i);
	}
	if (pf->autoprobe)
		for (unsigned i = 0; i < pf->num_vfs; i++)
			probe_vf(s, pf, i, "nvme");
	return 0;
}

static int pf_reset(struct sim_pf *pf)
{
	if (pf->num_vfs) {
		/* Works, but leaves bound VFs in a bad state on QEMU; homi must
		 * never do it. Model it as what it is: an error for tests. */
		return -EBUSY;
	}
	pf->vqrfap = pf->staged_vq;
	pf->virfap = pf->staged_vi;
	offline_all(pf);
	return 0;
}

static int sim_write_attr(struct homi_host *h, const char *addr, const char *attr, const char *value)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct sim_pf *pf = find_pf(s, addr);
	struct sim_vf *vf;

	h->counters.sysfs_writes++;
	if (pf) {
		if (streq(attr, "sriov_numvfs"))
			return set_numvfs(s, pf, value);
		if (streq(attr, "sriov_drivers_autoprobe")) {
			if (strcmp(value, "0") && strcmp(value, "1"))
				return -EINVAL;
			pf->autoprobe = value[0] == '1';
			return 0;
		}
		if (streq(attr, "reset")) {
			h->counters.resets++;
			return pf_reset(pf);
		}
		return -EACCES; /* homi has no business with other PF attributes */
	}
	vf = find_vf(s, addr, NULL, NULL);
	if (!vf)
		return -ENOENT;
	if (streq(attr, "driver_override")) {
		snprintf(vf->override, sizeof(vf->override), "%s", value);
		return 0;
	}
	return -EACCES;
}

static int sim_read_attr(struct homi_host *h, const char *addr, const char *attr, char *buf, size_t len)
{
	SIM_LOCKED(h);
	struct sim_vf *vf = find_vf(sim_of(h), addr, NULL, NULL);

	if (!vf)
		return -ENOENT;
	if (!streq(attr, "driver_override"))
		return -EACCES;
	/* The kernel shows "(null)" for an unset override. */
	snprintf(buf, len, "%s", vf->override[0] ? vf->override : "(null)");
	return 0;
}

static int sim_drivers_probe(struct homi_host *h, const char *addr)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct sim_pf *pf;
	unsigned i;
	struct sim_vf *vf = find_vf(s, addr, &pf, &i);

	h->counters.sysfs_writes++;
	if (!vf)
		return -ENODEV;
	if (vf->driver[0])
		return 0;
	/* Success even when nothing binds, as the kernel does. */
	probe_vf(s, pf, i, vf->override[0] ? vf->override : "nvme");
	return 0;
}

static int sim_unbind(struct homi_host *h, const char *addr, const char *driver)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct sim_pf *pf;
	unsigned i;
	struct sim_vf *vf = find_vf(s, addr, &pf, &i);

	h->counters.sysfs_writes++;
	if (!vf)
		return find_pf(s, addr) ? -EPERM : -ENODEV; /* never unbind a PF */
	if (!streq(vf->driver, driver))
		return -ENODEV;
	if (vf->vfio_open) {
		s->blocked++;
		return -EDEADLK;
	}
	vf->driver[0] = '\0';
	node_update(s, vf_group(pf, i));
	return 0;
}

static int sim_virt_mgmt(struct homi_host *h, const char *addr, int act, int rt, uint16_t cntlid, uint16_t nr,
			 int *ret_status)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);
	int st = 0, i;

	*ret_status = 0;
	h->counters.admin_writes++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	if (pf->cfg.fixed)
		st = SC(0, 0x01); /* Invalid Command Opcode */
	else if (rt != HOMI_VM_RT_VQ && rt != HOMI_VM_RT_VI)
		st = ST_INVALID_RESOURCE_ID;
	else if (act == HOMI_VM_ACT_PRIMARY_FLEX) {
		uint32_t total = rt ? pf->cfg.vifrt : pf->cfg.vqfrt;
		uint32_t assigned = 0;
		for (unsigned k = 0; k < pf->cfg.total_vfs; k++)
			assigned += rt ? pf->secs[k].nvi : pf->secs[k].nvq;
		if (cntlid != pf->cfg.cntlid)
			st = ST_INVALID_CTRL_ID;
		else if (nr > total || nr > total - assigned)
			st = ST_INVALID_RESOURCES;
		else if (rt)
			pf->staged_vi = nr;
		else
			pf->staged_vq = nr;
	} else if ((i = sec_index(pf, cntlid)) < 0) {
		st = ST_INVALID_CTRL_ID;
	} else if (act == HOMI_VM_ACT_OFFLINE) {
		pf->secs[i] = (struct sim_sec){ 0 };
	} else if (act == HOMI_VM_ACT_ASSIGN) {
		uint16_t *cur = rt ? &pf->secs[i].nvi : &pf->secs[i].nvq;
		uint32_t total = rt ? pf->cfg.vifrt : pf->cfg.vqfrt;
		uint32_t prim = rt ? pf->virfap : pf->vqrfap, used = 0;
		for (unsigned k = 0; k < pf->cfg.total_vfs; k++)
			used += rt ? pf->secs[k].nvi : pf->secs[k].nvq;
		if (pf->secs[i].online)
			st = ST_INVALID_SEC_STATE;
		else if (nr > (rt ? pf->cfg.vifrsm : pf->cfg.vqfrsm))
			st = ST_INVALID_RESOURCES;
		else if (nr > *cur && (uint32_t)(nr - *cur) > total - prim - used)
			st = ST_INVALID_RESOURCE_ID;
		else
			*cur = nr;
	} else if (act == HOMI_VM_ACT_ONLINE) {
		if (pf->secs[i].nvq < 2 || pf->secs[i].nvi < 1 || (unsigned)i >= pf->num_vfs)
			st = ST_INVALID_SEC_STATE;
		else
			pf->secs[i].online = true;
	} else {
		st = ST_INVALID_FIELD;
	}
	*ret_status = st;
	return st ? -EIO : 0;
}

static struct sim_ns *find_ns(struct sim_pf *pf, uint32_t nsid)
{
	for (size_t k = 0; k < pf->cfg.n_ns; k++)
		if (pf->ns[k].cfg.nsid == nsid)
			return &pf->ns[k];
	return NULL;
}

static int sim_ns_attach(struct homi_host *h, const char *addr, uint32_t nsid, uint16_t cntlid, bool attach,
			 int *ret_status)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);
	struct sim_ns *ns;
	int i, st = 0;

	*ret_status = 0;
	h->counters.admin_writes++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	ns = find_ns(pf, nsid);
	i = sec_index(pf, cntlid);
	if (!ns)
		st = ST_INVALID_NS;
	else if (cntlid != pf->cfg.cntlid && (i < 0 || (unsigned)i >= pf->num_vfs))
		st = ST_CTRL_LIST_INVALID; /* no such controller (VF not enabled) */
	else if (attach && ns_attached(ns, cntlid))
		st = ST_NS_ALREADY_ATTACHED;
	else if (attach && ns->cfg.private_ && ns->n_ctrls)
		st = ST_NS_PRIVATE;
	else if (!attach && !ns_attached(ns, cntlid))
		st = ST_NS_NOT_ATTACHED;
	else if (attach)
		ns->ctrls[ns->n_ctrls++] = cntlid;
	else
		ns_detach_ctrl(ns, cntlid);
	*ret_status = st;
	return st ? -EIO : 0;
}

static int sim_vfio_chown(struct homi_host *h, int group, uid_t uid, gid_t gid, mode_t mode)
{
	if (read_only(h))
		return -EROFS;
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);

	if (group < 0 || group >= (int)ARRAY_SIZE(s->nodes) || !s->nodes[group].exists)
		return -ENOENT;
	s->nodes[group].uid = uid;
	s->nodes[group].gid = gid;
	s->nodes[group].mode = mode & 07777;
	return 0;
}

static int sim_vfio_node(struct homi_host *h, int group, uid_t *uid, gid_t *gid, mode_t *mode)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);

	if (group < 0 || group >= (int)ARRAY_SIZE(s->nodes) || !s->nodes[group].exists)
		return -ENOENT;
	*uid = s->nodes[group].uid;
	*gid = s->nodes[group].gid;
	*mode = s->nodes[group].mode;
	return 0;
}

static int sim_lookup(const char *name, unsigned *ret)
{
	static const struct { const char *name; unsigned id; } ids[] = {
		{ "root", 0 }, { "user", 1000 }, { "ml", 1001 }, { "homi-admin", 990 }, { "gpu", 991 },
	};
	char *end;
	unsigned long v = strtoul(name, &end, 10);

	if (*name && !*end) {
		*ret = (unsigned)v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (streq(ids[i].name, name)) {
			*ret = ids[i].id;
			return 0;
		}
	return -ENOENT;
}

static int sim_lookup_user(struct homi_host *h, const char *name, uid_t *ret)
{
	unsigned v;
	int r = sim_lookup(name, &v);
	*ret = v;
	return r;
}

static int sim_lookup_group(struct homi_host *h, const char *name, gid_t *ret)
{
	unsigned v;
	int r = sim_lookup(name, &v);
	*ret = v;
	return r;
}

static int sim_primary_caps(struct homi_host *h, const char *addr, struct homi_primary_caps *ret, int *ret_status)
{
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);

	*ret_status = 0;
	h->counters.admin_reads++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	if (pf->cfg.fixed) {
		*ret_status = ST_INVALID_FIELD;
		return -EIO;
	}
	uint32_t vqa = 0, via = 0;
	for (unsigned k = 0; k < pf->cfg.total_vfs; k++) {
		vqa += pf->secs[k].nvq;
		via += pf->secs[k].nvi;
	}
	*ret = (struct homi_primary_caps){
		.cntlid = pf->cfg.cntlid, .crt = 3,
		.vqfrt = pf->cfg.vqfrt, .vqrfa = vqa, .vqrfap = pf->vqrfap, .vqprt = pf->cfg.vqprt,
		.vqfrsm = pf->cfg.vqfrsm, .vqgran = 1,
		.vifrt = pf->cfg.vifrt, .virfa = via, .virfap = pf->virfap, .viprt = pf->cfg.viprt,
		.vifrsm = pf->cfg.vifrsm, .vigran = 1,
	};
	return 0;
}

static int sim_secondaries(struct homi_host *h, const char *addr, struct homi_secondary **ret, size_t *ret_n,
			   int *ret_status)
{
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);

	*ret_status = 0;
	h->counters.admin_reads++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	if (pf->cfg.fixed) {
		*ret_status = ST_INVALID_FIELD;
		return -EIO;
	}
	struct homi_secondary *a = calloc(pf->cfg.total_vfs ? pf->cfg.total_vfs : 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (unsigned i = 0; i < pf->cfg.total_vfs; i++)
		a[i] = (struct homi_secondary){ .scid = scid_of(pf, i), .pcid = pf->cfg.cntlid, .vfn = (uint16_t)(i + 1),
						.nvq = pf->secs[i].nvq, .nvi = pf->secs[i].nvi,
						.online = pf->secs[i].online };
	*ret = a;
	*ret_n = pf->cfg.total_vfs;
	return 0;
}

static int sim_namespaces(struct homi_host *h, const char *addr, uint32_t **ret, size_t *ret_n, int *ret_status)
{
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);

	*ret_status = 0;
	h->counters.admin_reads++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	uint32_t *a = calloc(pf->cfg.n_ns + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t k = 0; k < pf->cfg.n_ns; k++)
		a[k] = pf->ns[k].cfg.nsid;
	*ret = a;
	*ret_n = pf->cfg.n_ns;
	return 0;
}

static int sim_ns_controllers(struct homi_host *h, const char *addr, uint32_t nsid, uint16_t **ret, size_t *ret_n,
			      int *ret_status)
{
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);
	struct sim_ns *ns;

	*ret_status = 0;
	h->counters.admin_reads++;
	if (!pf || !pf->driver[0])
		return -ENODEV;
	ns = find_ns(pf, nsid);
	if (!ns) {
		*ret_status = ST_INVALID_NS;
		return -EIO;
	}
	uint16_t *a = calloc(ns->n_ctrls + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a, ns->ctrls, ns->n_ctrls * sizeof(*a));
	*ret = a;
	*ret_n = ns->n_ctrls;
	return 0;
}

static int sim_vfio_users(struct homi_host *h, const char *addr, char **ret_who)
{
	SIM_LOCKED(h);
	struct sim_vf *vf = find_vf(sim_of(h), addr, NULL, NULL);

	*ret_who = NULL;
	if (!vf || !vf->vfio_open)
		return 0;
	*ret_who = strdup("pid 4242 (simulated) holds it open through vfio");
	return 1;
}

static int sim_ns_users(struct homi_host *h, const char *addr, uint32_t nsid, char **ret_who)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct sim_pf *pf = find_pf(s, addr);
	struct sim_vf *vf;

	*ret_who = NULL;
	if (pf) {
		for (size_t k = 0; k < pf->cfg.n_ns; k++)
			if (pf->ns[k].mounted_on_pf && (!nsid || pf->ns[k].cfg.nsid == nsid)) {
				if (asprintf(ret_who, "namespace %u is mounted (simulated)", pf->ns[k].cfg.nsid) < 0)
					*ret_who = NULL;
				return 1;
			}
		return 0;
	}
	vf = find_vf(s, addr, NULL, NULL);
	if (vf && vf->mounted && streq(vf->driver, "nvme")) {
		*ret_who = strdup("a namespace of it is mounted (simulated)");
		return 1;
	}
	return 0;
}

static int sim_holds_root_fs(struct homi_host *h, const char *addr)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	return s->cfg.root_fs_on && streq(s->cfg.root_fs_on, addr);
}

static void add_nvme(struct homi_device *d, const char *name, uint16_t cntlid, const struct sim_pf *pf,
		     const char *serial, const char *model)
{
	d->has_nvme = true;
	snprintf(d->nvme.name, sizeof(d->nvme.name), "%s", name);
	d->nvme.cntlid = cntlid;
	d->nvme.serial = strdup(serial);
	d->nvme.model = strdup(model);
	d->nvme.firmware = strdup("1.0");
	d->nvme.namespaces = calloc(HOMI_SIM_MAX_NS, sizeof(uint32_t));
	for (size_t k = 0; k < pf->cfg.n_ns && d->nvme.namespaces; k++)
		if (ns_attached(&pf->ns[k], cntlid))
			d->nvme.namespaces[d->nvme.n_namespaces++] = pf->ns[k].cfg.nsid;
}

static int sim_topology(struct homi_host *h, struct homi_topology **ret)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct homi_topology *t = calloc(1, sizeof(*t));
	size_t n = s->cfg.n_statics, k = 0;
	int r;

	if (!t)
		return -ENOMEM;
	for (size_t p = 0; p < s->n_pfs; p++)
		n += 1 + s->pfs[p].num_vfs;
	t->devices = calloc(n ? n : 1, sizeof(*t->devices));
	if (!t->devices) {
		free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cfg.n_statics; i++) {
		const struct homi_sim_static *st = &s->cfg.statics[i];
		struct homi_device *d = &t->devices[k++];
		homi_device_init(d, st->pci);
		snprintf(d->parent, sizeof(d->parent), "%s", st->parent ? st->parent : "");
		snprintf(d->host_bridge, sizeof(d->host_bridge), "%s", st->host_bridge);
		d->numa_node = st->numa_node;
		d->iommu_group = st->iommu_group;
		d->driver = st->driver ? strdup(st->driver) : NULL;
		snprintf(d->vendor_str, sizeof(d->vendor_str), "%s", st->vendor);
		snprintf(d->device_str, sizeof(d->device_str), "%s", st->device);
		snprintf(d->class_str, sizeof(d->class_str), "%s", st->class_);
		d->vendor = (unsigned)strtoul(st->vendor, NULL, 16);
		d->device = (unsigned)strtoul(st->device, NULL, 16);
		d->class_ = (unsigned)strtoul(st->class_, NULL, 16);
		d->have_ids = true;
	}
	for (size_t p = 0; p < s->n_pfs; p++) {
		struct sim_pf *pf = &s->pfs[p];
		struct homi_device *d = &t->devices[k++];
		char name[32];

		homi_device_init(d, pf->cfg.pci);
		snprintf(d->parent, sizeof(d->parent), "%s", pf->cfg.parent ? pf->cfg.parent : "");
		snprintf(d->host_bridge, sizeof(d->host_bridge), "%s", pf->cfg.host_bridge);
		d->numa_node = pf->cfg.numa_node;
		d->iommu_group = pf->cfg.iommu_group;
		d->driver = pf->driver[0] ? strdup(pf->driver) : NULL;
		snprintf(d->vendor_str, sizeof(d->vendor_str), "%s", pf->cfg.vendor ? pf->cfg.vendor : "0x1b36");
		snprintf(d->device_str, sizeof(d->device_str), "%s", pf->cfg.device ? pf->cfg.device : "0x0010");
		snprintf(d->class_str, sizeof(d->class_str), "0x010802");
		d->vendor = (unsigned)strtoul(d->vendor_str, NULL, 16);
		d->device = (unsigned)strtoul(d->device_str, NULL, 16);
		d->class_ = 0x010802, d->have_ids = true;
		d->is_pf = true;
		d->sriov = (struct homi_sriov){ pf->cfg.total_vfs, (int)pf->num_vfs, 1, 1, pf->autoprobe };
		d->vfs = calloc(pf->num_vfs ? pf->num_vfs : 1, sizeof(*d->vfs));
		for (unsigned i = 0; i < pf->num_vfs && d->vfs; i++)
			memcpy(d->vfs[d->n_vfs++], pf->vfs[i].pci, HOMI_ADDR_LEN);
		snprintf(name, sizeof(name), "nvme%zu", p);
		if (pf->driver[0])
			add_nvme(d, name, pf->cfg.cntlid, pf, pf->cfg.serial, pf->cfg.model);
		for (unsigned i = 0; i < pf->num_vfs; i++) {
			struct sim_vf *vf = &pf->vfs[i];
			struct homi_device *v = &t->devices[k++];
			homi_device_init(v, vf->pci);
			memcpy(v->parent, d->parent, sizeof(v->parent));
			memcpy(v->host_bridge, d->host_bridge, sizeof(v->host_bridge));
			v->numa_node = d->numa_node;
			v->iommu_group = vf_group(pf, i);
			v->driver = vf->driver[0] ? strdup(vf->driver) : NULL;
			memcpy(v->vendor_str, d->vendor_str, sizeof(v->vendor_str));
			memcpy(v->device_str, d->device_str, sizeof(v->device_str));
			memcpy(v->class_str, d->class_str, sizeof(v->class_str));
			v->vendor = d->vendor, v->device = d->device, v->class_ = d->class_, v->have_ids = true;
			memcpy(v->pf, pf->cfg.pci, HOMI_ADDR_LEN);
			if (streq(vf->driver, "nvme")) {
				snprintf(name, sizeof(name), "nvme%zu", 10 + p * HOMI_SIM_MAX_VFS + i);
				add_nvme(v, name, scid_of(pf, i), pf, pf->cfg.serial, pf->cfg.model);
			}
		}
	}
	t->n_devices = k;
	r = homi_topology_finish(t, NULL);
	if (r < 0) {
		homi_topology_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static void sim_free(struct homi_host *h)
{
	pthread_mutex_destroy(&sim_of(h)->lock);
	free(sim_of(h));
}

static void sim_reader_free(struct homi_host *h) { free(h); }

static int sim_reader(struct homi_host *h, struct homi_host **ret)
{
	struct sim_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->host.ops = &sim_reader_ops;
	r->sim = sim_of(h);
	*ret = &r->host;
	return 0;
}

/* What the simulated host and its reader share: the reader's change ops
 * are these too, and fail with -EROFS on a reader. */
#define SIM_OPS                                                                                                    \
	.name = "simulated", .topology = sim_topology, .primary_caps = sim_primary_caps,                              \
	.secondaries = sim_secondaries, .namespaces = sim_namespaces, .ns_controllers = sim_ns_controllers,           \
	.vfio_users = sim_vfio_users, .ns_users = sim_ns_users, .holds_root_fs = sim_holds_root_fs,                   \
	.vfio_node = sim_vfio_node, .read_attr = sim_read_attr, .lookup_user = sim_lookup_user,                       \
	.lookup_group = sim_lookup_group, .write_attr = sim_write_attr, .drivers_probe = sim_drivers_probe,           \
	.unbind = sim_unbind, .virt_mgmt = sim_virt_mgmt, .ns_attach = sim_ns_attach, .vfio_chown = sim_vfio_chown

static const struct homi_host_ops sim_ops = { SIM_OPS, .reader = sim_reader, .free = sim_free };

/* The same ops on the same machine; the change ops fail with -EROFS. */
static const struct homi_host_ops sim_reader_ops = { SIM_OPS, .free = sim_reader_free };

int homi_host_sim(const struct homi_sim_config *cfg, struct homi_host **ret)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (cfg->n_pfs > HOMI_SIM_MAX_PFS) {
		free(s);
		return -EINVAL;
	}
	s->host.ops = &sim_ops;
	s->cfg = *cfg;
	s->n_pfs = cfg->n_pfs;
	for (size_t p = 0; p < cfg->n_pfs; p++) {
		struct sim_pf *pf = &s->pfs[p];
		pf->cfg = cfg->pfs[p];
		if (pf->cfg.total_vfs > HOMI_SIM_MAX_VFS || pf->cfg.n_ns > HOMI_SIM_MAX_NS) {
			free(s);
			return -EINVAL;
		}
		snprintf(pf->driver, sizeof(pf->driver), "nvme");
		pf->autoprobe = 1;
		pf->vqrfap = pf->staged_vq = pf->cfg.vqrfap;
		pf->virfap = pf->staged_vi = pf->cfg.virfap;
		for (size_t k = 0; k < pf->cfg.n_ns; k++) {
			pf->ns[k].cfg = pf->cfg.ns[k];
			if (!pf->cfg.ns[k].detached)
				pf->ns[k].ctrls[pf->ns[k].n_ctrls++] = pf->cfg.cntlid;
		}
	}
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	*ret = &s->host;
	return 0;
}

void homi_sim_config_testbed(struct homi_sim_config *c)
{
	*c = (struct homi_sim_config){ 0 };
	c->statics[c->n_statics++] = (struct homi_sim_static){
		.pci = "0000:00:00.0", .host_bridge = "pci0000:00", .vendor = "0x8086", .device = "0x29c0",
		.class_ = "0x060000", .numa_node = -1, .iommu_group = 0 };
	c->statics[c->n_statics++] = (struct homi_sim_static){
		.pci = "0000:00:01.0", .host_bridge = "pci0000:00", .vendor = "0x1b36", .device = "0x000c",
		.class_ = "0x060400", .driver = "pcieport", .numa_node = -1, .iommu_group = 1 };
	c->pfs[c->n_pfs++] = (struct homi_sim_pf){
		.pci = "0000:01:00.0", .parent = "0000:00:01.0", .host_bridge = "pci0000:00", .numa_node = -1,
		.serial = "HOMI0000", .model = "QEMU NVMe Ctrl", .total_vfs = 4, .cntlid = 0, .first_scid = 1,
		.vqfrt = 8, .vifrt = 4, .vqprt = 5, .viprt = 4, .vqfrsm = 2, .vifrsm = 1, .iommu_group = 3,
		.ns = { { .nsid = 1, .auto_attach = true }, { .nsid = 2, .detached = true } }, .n_ns = 2,
	};
}

int homi_sim_set_vfio_open(struct homi_host *h, const char *addr, bool open)
{
	SIM_LOCKED(h);
	struct sim_vf *vf = find_vf(sim_of(h), addr, NULL, NULL);
	if (!vf || !streq(vf->driver, "vfio-pci"))
		return -ENODEV;
	vf->vfio_open = open;
	return 0;
}

int homi_sim_set_mounted(struct homi_host *h, const char *addr, uint32_t nsid, bool mounted)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	struct sim_pf *pf = find_pf(s, addr);
	struct sim_vf *vf;

	if (pf) {
		struct sim_ns *ns = find_ns(pf, nsid);
		if (!ns)
			return -ENOENT;
		ns->mounted_on_pf = mounted;
		return 0;
	}
	vf = find_vf(s, addr, NULL, NULL);
	if (!vf)
		return -ENODEV;
	vf->mounted = mounted;
	return 0;
}

int homi_sim_controller_reset(struct homi_host *h, const char *addr)
{
	SIM_LOCKED(h);
	struct sim_pf *pf = find_pf(sim_of(h), addr);
	if (!pf)
		return -ENODEV;
	offline_all(pf);
	/* nvme on a VF finds its controller dead and lets the device go
	 * (nvme_remove_dead_ctrl); vfio-pci keeps its VFs */
	for (unsigned i = 0; i < pf->num_vfs; i++)
		if (streq(pf->vfs[i].driver, "nvme"))
			pf->vfs[i].driver[0] = '\0';
	return 0;
}

unsigned homi_sim_blocked(struct homi_host *h)
{
	SIM_LOCKED(h);
	return sim_of(h)->blocked;
}

char *homi_sim_snapshot(struct homi_host *h)
{
	SIM_LOCKED(h);
	struct sim *s = sim_of(h);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t p = 0; p < s->n_pfs; p++) {
		struct sim_pf *pf = &s->pfs[p];
		fprintf(f, "pf %s driver=%s numvfs=%u autoprobe=%d vqrfap=%u virfap=%u staged=%u/%u\n", pf->cfg.pci,
			pf->driver, pf->num_vfs, pf->autoprobe, pf->vqrfap, pf->virfap, pf->staged_vq, pf->staged_vi);
		for (unsigned i = 0; i < pf->cfg.total_vfs; i++)
			fprintf(f, "  sec %u online=%d nvq=%u nvi=%u\n", i + 1, pf->secs[i].online, pf->secs[i].nvq,
				pf->secs[i].nvi);
		for (unsigned i = 0; i < pf->num_vfs; i++)
			fprintf(f, "  vf %s driver=%s override=%s\n", pf->vfs[i].pci, pf->vfs[i].driver,
				pf->vfs[i].override);
		for (size_t k = 0; k < pf->cfg.n_ns; k++) {
			fprintf(f, "  ns %u ctrls", pf->ns[k].cfg.nsid);
			/* order-independent */
			for (unsigned c = 0; c <= 0xffff && c < 4096; c++)
				if (ns_attached(&pf->ns[k], (uint16_t)c))
					fprintf(f, " %u", c);
			fprintf(f, "\n");
		}
	}
	for (size_t g = 0; g < ARRAY_SIZE(s->nodes); g++)
		if (s->nodes[g].exists)
			fprintf(f, "node /dev/vfio/%zu %u:%u %04o\n", g, s->nodes[g].uid, s->nodes[g].gid,
				s->nodes[g].mode);
	fclose(f);
	return buf;
}
