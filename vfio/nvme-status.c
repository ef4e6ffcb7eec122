/* SPDX-License-Identifier: MIT */
/* NVMe status values and controller states in words. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "nvme-driver.h"
#include "nvme.h"

void homi_nvme_status_format(uint16_t status, char *buf, size_t len)
{
	snprintf(buf, len, "NVMe status 0x%04x (%s%s)", status, homi_nvme_status_name(status),
		 homi_nvme_status_dnr(status) ? ", do not retry" : "");
}

int homi_nvme_status_errno(uint16_t status)
{
	uint8_t sct = homi_nvme_status_sct(status), sc = homi_nvme_status_sc(status);

	if (status == 0)
		return 0;
	if (sct == 0) {
		switch (sc) {
		case 0x01: return -EOPNOTSUPP;    /* Invalid Command Opcode */
		case 0x02: return -EINVAL;        /* Invalid Field in Command */
		case 0x0b: return -ENOENT;        /* Invalid Namespace or Format */
		case 0x20: return -EROFS;         /* Namespace is Write Protected */
		case 0x80: return -ERANGE;        /* LBA Out of Range */
		case 0x81: return -ENOSPC;        /* Capacity Exceeded */
		case 0x15: return -EACCES;        /* Operation Denied */
		}
	}
	if (sct == 1 && sc == 0x82)
		return -EROFS;                    /* Attempted Write to Read Only Range */
	if (sct == 2 && sc == 0x86)
		return -EACCES;                   /* Access Denied */
	return -EIO;
}

const char *homi_nvme_opcode_name(bool admin, uint8_t opc)
{
	if (admin) {
		switch (opc) {
		case HOMI_NVME_ADMIN_DELETE_SQ: return "Delete I/O SQ";
		case HOMI_NVME_ADMIN_CREATE_SQ: return "Create I/O SQ";
		case HOMI_NVME_ADMIN_DELETE_CQ: return "Delete I/O CQ";
		case HOMI_NVME_ADMIN_CREATE_CQ: return "Create I/O CQ";
		case HOMI_NVME_ADMIN_IDENTIFY: return "Identify";
		case HOMI_NVME_ADMIN_SET_FEATURES: return "Set Features";
		case HOMI_NVME_ADMIN_GET_FEATURES: return "Get Features";
		case 0x02: return "Get Log Page";
		case 0x08: return "Abort";
		case 0x0c: return "Asynchronous Event Request";
		}
		return "admin command";
	}
	switch (opc) {
	case HOMI_NVME_CMD_FLUSH: return "Flush";
	case HOMI_NVME_CMD_WRITE: return "Write";
	case HOMI_NVME_CMD_READ: return "Read";
	}
	return "I/O command";
}

void homi_nvme_csts_describe(uint32_t csts, char *buf, size_t len)
{
	if (csts == 0xffffffffu)
		snprintf(buf, len, "CSTS=0xffffffff: registers read all ones, the function is gone "
			 "(surprise removal, or its PF was reset and the VF disabled)");
	else if (csts & HOMI_NVME_CSTS_CFS)
		snprintf(buf, len, "CSTS=0x%08x: Controller Fatal Status (a PF reset takes the VF's secondary "
			 "controller offline)", csts);
	else if (!(csts & HOMI_NVME_CSTS_RDY))
		snprintf(buf, len, "CSTS=0x%08x: the controller is no longer ready (reset under us)", csts);
	else
		snprintf(buf, len, "CSTS=0x%08x: ready", csts);
}
