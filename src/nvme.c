/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <endian.h>
#include <fcntl.h>
#include <libnvme.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "nvme.h"

/* libnvme: 0, a positive NVMe status, or -1 with errno. */
static int map_result(int rc, int *ret_status)
{
	if (ret_status)
		*ret_status = rc > 0 ? rc : 0;
	if (rc == 0)
		return 0;
	if (rc > 0)
		return -EIO;
	return errno ? -errno : -EIO;
}

int homi_nvme_open(const struct homi_sysfs *s, const char *ctrl, int *ret_fd)
{
	char path[256];
	struct stat st;
	int fd, r;

	r = homi_sysfs_dev_path(s, ctrl, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return -ENOTTY;
	}
	*ret_fd = fd;
	return 0;
}

static int identify(int fd, enum nvme_identify_cns cns, uint16_t cntid, void *data, int *ret_status)
{
	struct nvme_identify_args args = {
		.args_size = sizeof(args),
		.fd = fd,
		.timeout = 0,
		.cns = cns,
		.csi = NVME_CSI_NVM,
		.nsid = NVME_NSID_NONE,
		.cntid = cntid,
		.data = data,
	};
	errno = 0;
	return map_result(nvme_identify(&args), ret_status);
}

int homi_nvme_identify_cntlid(int fd, uint16_t *ret_cntlid, int *ret_status)
{
	_cleanup_free_ struct nvme_id_ctrl *id = NULL;
	int r;

	if (posix_memalign((void **)&id, 4096, sizeof(*id)))
		return -ENOMEM;
	r = identify(fd, NVME_IDENTIFY_CNS_CTRL, 0, id, ret_status);
	if (r < 0)
		return r;
	*ret_cntlid = le16toh(id->cntlid);
	return 0;
}

int homi_nvme_primary_caps(int fd, uint16_t cntlid, struct homi_primary_caps *ret, int *ret_status)
{
	_cleanup_free_ struct nvme_primary_ctrl_cap *cap = NULL;
	int r;

	if (posix_memalign((void **)&cap, 4096, sizeof(*cap)))
		return -ENOMEM;
	memset(cap, 0, sizeof(*cap));
	r = identify(fd, NVME_IDENTIFY_CNS_PRIMARY_CTRL_CAP, cntlid, cap, ret_status);
	if (r < 0)
		return r;
	*ret = (struct homi_primary_caps){
		.cntlid = le16toh(cap->cntlid),
		.crt = cap->crt,
		.vqfrt = le32toh(cap->vqfrt),
		.vqrfa = le32toh(cap->vqrfa),
		.vqrfap = le16toh(cap->vqrfap),
		.vqprt = le16toh(cap->vqprt),
		.vqfrsm = le16toh(cap->vqfrsm),
		.vqgran = le16toh(cap->vqgran),
		.vifrt = le32toh(cap->vifrt),
		.virfa = le32toh(cap->virfa),
		.virfap = le16toh(cap->virfap),
		.viprt = le16toh(cap->viprt),
		.vifrsm = le16toh(cap->vifrsm),
		.vigran = le16toh(cap->vigran),
	};
	return 0;
}

int homi_nvme_secondaries(int fd, struct homi_secondary **ret, size_t *ret_n, int *ret_status)
{
	_cleanup_free_ struct nvme_secondary_ctrl_list *list = NULL;
	_cleanup_free_ struct homi_secondary *out = NULL;
	size_t n = 0, cap = 0;
	uint32_t start = 0;

	if (posix_memalign((void **)&list, 4096, sizeof(*list)))
		return -ENOMEM;
	/* CNTID selects the first SCID returned: page until a short list. */
	while (start <= 0xffff) {
		int r;

		memset(list, 0, sizeof(*list));
		r = identify(fd, NVME_IDENTIFY_CNS_SECONDARY_CTRL_LIST, (uint16_t)start, list, ret_status);
		if (r < 0)
			return r;
		unsigned num = list->num;
		if (num > NVME_ID_SECONDARY_CTRL_MAX)
			num = NVME_ID_SECONDARY_CTRL_MAX;
		uint16_t last = 0;
		for (unsigned i = 0; i < num; i++) {
			const struct nvme_secondary_ctrl *e = &list->sc_entry[i];
			uint16_t scid = le16toh(e->scid);
			if (n && scid <= out[n - 1].scid)
				continue; /* a device that ignores CNTID: stop repeating */
			if (n == cap) {
				cap = cap ? cap * 2 : 32;
				struct homi_secondary *o = realloc(out, cap * sizeof(*o));
				if (!o)
					return -ENOMEM;
				out = o;
			}
			out[n++] = (struct homi_secondary){
				.scid = scid,
				.pcid = le16toh(e->pcid),
				.online = e->scs & 1, /* bit 0 only: pre-standard firmware uses 2 for offline */
				.vfn = le16toh(e->vfn),
				.nvq = le16toh(e->nvq),
				.nvi = le16toh(e->nvi),
			};
			last = scid;
		}
		if (num < NVME_ID_SECONDARY_CTRL_MAX || last == 0 || last == 0xffff)
			break;
		start = (uint32_t)last + 1;
	}
	if (ret_status)
		*ret_status = 0;
	*ret = TAKE_PTR(out);
	*ret_n = n;
	return 0;
}

const char *homi_nvme_status_name(int status)
{
	unsigned sct = ((unsigned)status >> 8) & 7, sc = (unsigned)status & 0xff;

	if (sct == 1) {
		switch (sc) {
		case 0x00: return "Completion Queue Invalid";
		case 0x01: return "Invalid Queue Identifier";
		case 0x02: return "Invalid Queue Size";
		case 0x05: return "Asynchronous Event Request Limit Exceeded";
		case 0x0c: return "Invalid Queue Deletion";
		case 0x0d: return "Feature Identifier Not Saveable";
		case 0x0e: return "Feature Not Changeable";
		case 0x82: return "Attempted Write to Read Only Range";
		case 0x1f: return "Invalid Controller Identifier";
		case 0x20: return "Invalid Secondary Controller State";
		case 0x21: return "Invalid Number of Controller Resources";
		case 0x22: return "Invalid Resource Identifier";
		case 0x18: return "Namespace Already Attached";
		case 0x19: return "Namespace Is Private";
		case 0x1a: return "Namespace Not Attached";
		case 0x1c: return "Controller List Invalid";
		}
	}
	if (sct == 0) {
		switch (sc) {
		case 0x01: return "Invalid Command Opcode";
		case 0x02: return "Invalid Field in Command";
		case 0x03: return "Command ID Conflict";
		case 0x04: return "Data Transfer Error";
		case 0x06: return "Internal Error";
		case 0x07: return "Command Abort Requested";
		case 0x08: return "Command Aborted due to SQ Deletion";
		case 0x0b: return "Invalid Namespace or Format";
		case 0x0c: return "Command Sequence Error";
		case 0x13: return "PRP Offset Invalid";
		case 0x15: return "Operation Denied";
		case 0x20: return "Namespace is Write Protected";
		case 0x80: return "LBA Out of Range";
		case 0x81: return "Capacity Exceeded";
		case 0x82: return "Namespace Not Ready";
		case 0x83: return "Reservation Conflict";
		}
	}
	if (sct == 2) {
		switch (sc) {
		case 0x80: return "Write Fault";
		case 0x81: return "Unrecovered Read Error";
		case 0x85: return "Compare Failure";
		case 0x86: return "Access Denied";
		case 0x87: return "Deallocated or Unwritten Logical Block";
		}
	}
	return "NVMe error";
}

int homi_nvme_virt_mgmt(int fd, int act, int rt, uint16_t cntlid, uint16_t nr, int *ret_status)
{
	__u32 result = 0;
	struct nvme_virtual_mgmt_args args = {
		.result = &result,
		.args_size = sizeof(args),
		.fd = fd,
		.timeout = 0,
		.act = (enum nvme_virt_mgmt_act)act,
		.rt = (enum nvme_virt_mgmt_rt)rt,
		.cntlid = cntlid,
		.nr = nr,
	};
	errno = 0;
	return map_result(nvme_virtual_mgmt(&args), ret_status);
}

int homi_nvme_ns_attach(int fd, uint32_t nsid, uint16_t cntlid, bool attach, int *ret_status)
{
	_cleanup_free_ struct nvme_ctrl_list *list = NULL;
	__u16 ids[1] = { cntlid };
	int rc;

	if (posix_memalign((void **)&list, 4096, sizeof(*list)))
		return -ENOMEM;
	memset(list, 0, sizeof(*list));
	nvme_init_ctrl_list(list, 1, ids);
	errno = 0;
	rc = attach ? nvme_ns_attach_ctrls(fd, nsid, list) : nvme_ns_detach_ctrls(fd, nsid, list);
	return map_result(rc, ret_status);
}

int homi_nvme_ns_page(const uint32_t *page, size_t max, uint32_t **out, size_t *n)
{
	size_t k;

	for (k = 0; k < max && page[k]; k++) {
		uint32_t nsid = le32toh(page[k]);
		if (*n && nsid <= (*out)[*n - 1])
			return 0; /* not ascending: a device that ignores the starting NSID */
		uint32_t *o = realloc(*out, (*n + 1) * sizeof(*o));
		if (!o)
			return -ENOMEM;
		*out = o;
		(*out)[(*n)++] = nsid;
	}
	return k == max && k > 0 && (*out)[*n - 1] < 0xfffffffe;
}

int homi_nvme_ns_allocated(int fd, uint32_t **ret, size_t *ret_n, int *ret_status)
{
	_cleanup_free_ struct nvme_ns_list *list = NULL;
	_cleanup_free_ uint32_t *out = NULL;
	size_t n = 0;
	uint32_t start = 0;

	if (posix_memalign((void **)&list, 4096, sizeof(*list)))
		return -ENOMEM;
	for (;;) {
		struct nvme_identify_args args = {
			.args_size = sizeof(args), .fd = fd, .cns = NVME_IDENTIFY_CNS_ALLOCATED_NS_LIST,
			.csi = NVME_CSI_NVM, .nsid = start, .data = list,
		};
		int r;

		memset(list, 0, sizeof(*list));
		errno = 0;
		r = map_result(nvme_identify(&args), ret_status);
		if (r < 0)
			return r;
		r = homi_nvme_ns_page(list->ns, NVME_ID_NS_LIST_MAX, &out, &n);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		start = out[n - 1];
	}
	*ret = TAKE_PTR(out);
	*ret_n = n;
	return 0;
}

int homi_nvme_ns_ctrls(int fd, uint32_t nsid, uint16_t **ret, size_t *ret_n, int *ret_status)
{
	_cleanup_free_ struct nvme_ctrl_list *list = NULL;
	uint16_t *out;
	int r;

	if (posix_memalign((void **)&list, 4096, sizeof(*list)))
		return -ENOMEM;
	memset(list, 0, sizeof(*list));
	struct nvme_identify_args args = {
		.args_size = sizeof(args), .fd = fd, .cns = NVME_IDENTIFY_CNS_NS_CTRL_LIST,
		.csi = NVME_CSI_NVM, .nsid = nsid, .cntid = 0, .data = list,
	};
	errno = 0;
	r = map_result(nvme_identify(&args), ret_status);
	if (r < 0)
		return r;
	size_t n = le16toh(list->num);
	if (n > 2047)
		n = 2047;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		out[i] = le16toh(list->identifier[i]);
	*ret = out;
	*ret_n = n;
	return 0;
}
