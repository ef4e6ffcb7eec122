/* SPDX-License-Identifier: MIT */
/* Admin commands on the admin queue: Identify, Set Features Number of
 * Queues. */
#include "config.h"

#include <string.h>

#include "nvme-internal.h"

int homi_nvme_identify_ctrl(struct homi_nvme_ctrl *c, struct homi_nvme_ctrl_info *ret, uint16_t *ret_status)
{
	struct homi_nvme_sqe e;
	int r;

	memset(c->scratch.va, 0, HOMI_NVME_PAGE);
	homi_nvme_sqe_identify(&e, 0, HOMI_NVME_CNS_CTRL, 0, c->scratch.iova);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, NULL);
	if (r < 0)
		return r;
	homi_nvme_parse_ctrl(c->scratch.va, homi_nvme_cap_mpsmin(c->cap), ret);
	return 0;
}

int homi_nvme_identify_ns(struct homi_nvme_ctrl *c, uint32_t nsid, struct homi_nvme_ns_info *ret,
			  uint16_t *ret_status)
{
	struct homi_nvme_sqe e;
	int r;

	if (nsid == 0 || nsid == 0xffffffffu)
		return -EINVAL;
	memset(c->scratch.va, 0, HOMI_NVME_PAGE);
	homi_nvme_sqe_identify(&e, 0, HOMI_NVME_CNS_NS, nsid, c->scratch.iova);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, NULL);
	if (r < 0)
		return r;
	return homi_nvme_parse_ns(c->scratch.va, nsid, ret);
}

int homi_nvme_set_num_queues(struct homi_nvme_ctrl *c, uint16_t nsq, uint16_t ncq, uint16_t *ret_nsq,
			     uint16_t *ret_ncq, uint16_t *ret_status)
{
	struct homi_nvme_sqe e;
	uint32_t dw0;
	int r;

	if (nsq == 0 || ncq == 0 || nsq == 0xffff || ncq == 0xffff)
		return -EINVAL;
	homi_nvme_sqe_set_nqueues(&e, 0, nsq, ncq);
	r = homi_nvme_qpair_exec(c->admin, &e, c->timeout_ms, ret_status, &dw0);
	if (r < 0)
		return r;
	/* NSQA and NCQA, 0's based. */
	*ret_nsq = (uint16_t)((dw0 & 0xffff) + 1);
	*ret_ncq = (uint16_t)((dw0 >> 16) + 1);
	return 0;
}
