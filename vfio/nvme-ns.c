/* SPDX-License-Identifier: MIT */
/* Namespaces: their format, the delegation's read-only flag, and Read,
 * Write and Flush commands with PRPs. */
#include "config.h"

#include <string.h>

#include "nvme-internal.h"

int homi_nvme_ns_open(struct homi_nvme_ctrl *c, uint32_t nsid, bool read_only, struct homi_nvme_ns *ret,
		      uint16_t *ret_status)
{
	struct homi_nvme_ns ns = { .read_only = read_only };
	uint32_t blocks;
	int r = homi_nvme_identify_ns(c, nsid, &ns.info, ret_status);

	if (r < 0)
		return r;
	if (ns.info.ms)
		return -EOPNOTSUPP; /* metadata (extended LBAs, MPTR) is not handled */
	blocks = homi_nvme_ctrl_max_xfer(c) / ns.info.lba_size;
	ns.max_blocks = blocks > 65536 ? 65536 : blocks; /* NLB is 16 bits, 0's based */
	if (ns.max_blocks == 0)
		return -EOPNOTSUPP; /* blocks larger than one transfer */
	*ret = ns;
	return 0;
}

int homi_nvme_ns_rw(const struct homi_nvme_ns *ns, uint32_t page, struct homi_nvme_sqe *sqe, uint8_t opc,
		    uint64_t lba, uint32_t nblocks, uint64_t buf_iova, uint64_t *prp_list, uint64_t prp_list_iova)
{
	uint64_t prp1, prp2;

	if (opc == HOMI_NVME_CMD_FLUSH) {
		homi_nvme_sqe_flush(sqe, 0, ns->info.nsid);
		return 0;
	}
	if (opc != HOMI_NVME_CMD_READ && opc != HOMI_NVME_CMD_WRITE)
		return -EINVAL;
	if (opc == HOMI_NVME_CMD_WRITE && ns->read_only)
		return -EROFS;
	if (nblocks == 0 || lba >= ns->info.nsze || nblocks > ns->info.nsze - lba)
		return -ERANGE;
	if (nblocks > ns->max_blocks)
		return -E2BIG;
	if (!prp_list && homi_nvme_prp_pages(buf_iova, nblocks * ns->info.lba_size, page) > 2)
		return -EINVAL;
	if (homi_nvme_prp_build_contig(buf_iova, nblocks * ns->info.lba_size, page, prp_list, prp_list_iova, &prp1, &prp2) < 0)
		return -E2BIG;
	homi_nvme_sqe_rw(sqe, opc, 0, ns->info.nsid, lba, nblocks, prp1, prp2);
	return 0;
}
