/* SPDX-License-Identifier: MIT */
/* Judges of the host and the GPU: vfio modules and interfaces, the dma-buf
 * importer modes D and G need, and the GPU's BAR1. Pure functions of the
 * facts. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-facts.h"
#include "macro.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

/* "256 GiB", "16 MiB", or bytes when not a whole MiB. */
static const char *size_str(uint64_t v, char *buf, size_t len)
{
	if (v && v % GiB == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", v / GiB);
	else if (v && v % MiB == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", v / MiB);
	else
		snprintf(buf, len, "%" PRIu64 " bytes", v);
	return buf;
}

/* ---- modules -------------------------------------------------------------- */

static const char *yes_no(int v, const char *yes, const char *no)
{
	return v > 0 ? yes : v == 0 ? no : "unknown";
}

void homi_judge_modules(const struct homi_host_facts *h, struct homi_check_report *r)
{
	const unsigned all = HOMI_MODES_ALL;
	const bool iommu = h->iommu_units > 0;

	if (!h->live) {
		homi_report_add(r, "modules", "host", NULL, all, HOMI_CHECK_UNKNOWN,
				homi_fmt("a captured tree lists drivers (vfio-pci %s) but not the loaded modules or "
					 "device nodes (vfio_iommu_type1, iommufd, /dev/vfio/vfio, /dev/iommu)",
					 h->vfio_pci ? "is registered" : "is not registered"),
				NULL);
		return;
	}
	char *ev = homi_fmt("vfio-pci %s; vfio_iommu_type1 %s, /dev/vfio/vfio %s; iommufd %s, /dev/iommu %s; "
			    "vfio no-IOMMU mode %s",
			    h->vfio_pci ? "registered" : "not registered", yes_no(h->type1, "loaded", "not loaded"),
			    yes_no(h->dev_vfio, "present", "absent"), yes_no(h->iommufd, "loaded", "not loaded"),
			    yes_no(h->dev_iommu, "present", "absent"), yes_no(h->noiommu, "enabled", "off"));
	if (!ev) {
		r->oom = true;
		return;
	}
	if (!h->vfio_pci) {
		homi_report_add(r, "modules", "host", NULL, all, HOMI_CHECK_FAIL,
				homi_fmt("%s: the vfio-pci driver is not loaded, so no VF can be delegated", ev),
				homi_fmt("modprobe vfio-pci, and list it in /etc/modules-load.d/ so that it is there at "
					 "boot"));
	} else if (iommu && h->type1 <= 0 && h->iommufd <= 0) {
		homi_report_add(r, "modules", "host", NULL, all, HOMI_CHECK_FAIL,
				homi_fmt("%s: with the IOMMU on, vfio needs an IOMMU back-end (vfio_iommu_type1 for "
					 "vfio containers, or iommufd) and none is loaded",
					 ev),
				homi_fmt("modprobe vfio_iommu_type1 (or iommufd)"));
	} else if (!iommu && h->noiommu == 0) {
		homi_report_add(r, "modules", "host", NULL, all, HOMI_CHECK_FAIL,
				homi_fmt("%s: without an IOMMU, vfio serves devices only in its no-IOMMU mode, which "
					 "is off",
					 ev),
				homi_fmt("enable the IOMMU, or for a lab set-up: modprobe vfio "
					 "enable_unsafe_noiommu_mode=1"));
	} else {
		homi_report_add(r, "modules", "host", NULL, all, HOMI_CHECK_PASS,
				homi_fmt("%s: vfio-pci can take VFs and %s", ev,
					 iommu ? "user space can map DMA through the IOMMU back-end"
					       : "user space can use them in no-IOMMU mode"),
				NULL);
	}
	free(ev);
}

/* ---- dmabuf-importer ------------------------------------------------------ */

void homi_judge_importer(const struct homi_host_facts *h, struct homi_check_report *r)
{
	const unsigned dg = HOMI_MODE_D | HOMI_MODE_G;
	const char *subject = h->importer_node[0] ? h->importer_node : "host";

	switch (h->importer) {
	case HOMI_IMPORTER_OK:
		homi_report_add(r, "dmabuf-importer", subject, NULL, dg, HOMI_CHECK_PASS,
				homi_fmt("%s: GPU memory exported as a dma-buf (cuMemGetHandleForAddressRange) can be "
					 "turned into DMA addresses; they are valid for the VF only while nothing "
					 "translates its DMA (see iommu-mode)",
					 h->importer_why),
				NULL);
		return;
	case HOMI_IMPORTER_NO_NODE:
	case HOMI_IMPORTER_NO_IOCTL:
		homi_report_add(r, "dmabuf-importer", subject, NULL, dg, HOMI_CHECK_FAIL,
				homi_fmt("%s: modes D and G get the bus addresses of GPU memory from a dma-buf importer "
					 "(gpu-path.md 2.4), and none answers here",
					 h->importer_why),
				homi_fmt("install and load the out-of-tree importer (dmabuf-import DKMS; "
					 "modprobe dmabuf_import), or use mode H"));
		return;
	default:
		homi_report_add(r, "dmabuf-importer", subject, NULL, dg, HOMI_CHECK_UNKNOWN,
				homi_fmt("%s", h->importer_why), NULL);
	}
}

/* ---- gpu-bar1 ------------------------------------------------------------- */

void homi_judge_gpu_bar1(const struct homi_pair_facts *f, struct homi_check_report *r)
{
	const unsigned dg = HOMI_MODE_D | HOMI_MODE_G;
	char size[32], mem[32], nvml[32];

	if (!f->gpu[0]) {
		_cleanup_free_ char *subject = homi_fmt("%s <-> (no GPU)", f->label);
		homi_report_add(r, "gpu-bar1", subject ? subject : f->label, f, dg, HOMI_CHECK_UNKNOWN,
				homi_fmt("no GPU is paired with %s (see check gpu)", f->label), NULL);
		return;
	}
	if (!f->bar_known) {
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_UNKNOWN, homi_fmt("%s", f->bar_why), NULL);
		return;
	}
	size_str(f->bar_size, size, sizeof(size));
	if (!f->bar_start) {
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_FAIL,
				homi_fmt("region %d, its largest 64-bit prefetchable BAR (%s), has no address assigned: "
					 "the firmware or the kernel could not fit it",
					 f->bar, size),
				homi_fmt("enable Above 4G Decoding and Resizable BAR in the firmware (or boot with "
					 "pci=realloc)"));
		return;
	}
	if (f->bar_size <= 256 * MiB) {
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_FAIL,
				homi_fmt("region %d, its largest 64-bit prefetchable BAR, is %s: the legacy window "
					 "(Resizable BAR off), so at most that much GPU memory can be a peer DMA target "
					 "at a time",
					 f->bar, size),
				homi_fmt("enable Resizable BAR and Above 4G Decoding in the firmware (in a VM: give the "
					 "guest a 64-bit MMIO window as large as the BAR)"));
		return;
	}
	if (!f->mem_known) {
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_UNKNOWN,
				homi_fmt("region %d, its largest 64-bit prefetchable BAR (from %s/resource), is %s; "
					 "whether it covers the GPU's memory is unknown: %s",
					 f->bar, f->gpu, size, f->mem_why),
				NULL);
		return;
	}
	size_str(f->mem_total, mem, sizeof(mem));
	size_str(f->nvml_bar1, nvml, sizeof(nvml));
	/* The window a peer can use is the smaller of what the BAR decodes
	 * and what the driver maps into it. */
	if (f->bar_size >= f->mem_total && f->nvml_bar1 >= f->mem_total)
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_PASS,
				homi_fmt("region %d (%s) covers the GPU's %s of memory (NVML; its BAR1 total %s): all "
					 "of GPU memory can be a peer DMA target",
					 f->bar, size, mem, nvml),
				NULL);
	else
		homi_report_add(r, "gpu-bar1", f->gpu, f, dg, HOMI_CHECK_FAIL,
				homi_fmt("region %d (%s; NVML's BAR1 total %s) does not cover the GPU's %s of memory: "
					 "only part of GPU memory can be a peer DMA target, and xNVMe's CUDA heap "
					 "refuses such GPUs",
					 f->bar, size, nvml, mem),
				homi_fmt("enable Resizable BAR in the firmware (NVIDIA datacenter GPUs: the full-BAR1 "
					 "mode), or in a VM a 64-bit MMIO window as large as the GPU's memory"));
}
