/* SPDX-License-Identifier: MIT */
/* A stand-in for NVIDIA's management library (libnvidia-ml.so.1), built as
 * a shared object for test-check: the functions `check` loads with dlopen,
 * with the ABI NVML has (return 0 = NVML_SUCCESS, 6 = NVML_ERROR_NOT_FOUND).
 * One GPU, 0000:00:06.0, with the H200's 143771 MiB and a 256 GiB BAR1, as
 * NVML reported them on the lent H200 machine. */
#include <string.h>

struct nvml_memory { unsigned long long total, free, used; };

static int started;
static int dev_06;

/* Declared here for -Wmissing-prototypes: the ABI, not a header. */
int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetHandleByPciBusId_v2(const char *bus, void **dev);
int nvmlDeviceGetMemoryInfo(void *dev, struct nvml_memory *m);
int nvmlDeviceGetBAR1MemoryInfo(void *dev, struct nvml_memory *m);
const char *nvmlErrorString(int r);

int nvmlInit_v2(void) { started = 1; return 0; }
int nvmlShutdown(void) { started = 0; return 0; }

int nvmlDeviceGetHandleByPciBusId_v2(const char *bus, void **dev)
{
	if (!started)
		return 1; /* NVML_ERROR_UNINITIALIZED */
	if (strcmp(bus, "0000:00:06.0") != 0 && strcmp(bus, "00:06.0") != 0)
		return 6;
	*dev = &dev_06;
	return 0;
}

int nvmlDeviceGetMemoryInfo(void *dev, struct nvml_memory *m)
{
	if (dev != &dev_06)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	m->total = 143771ULL << 20;
	m->used = 0;
	m->free = m->total;
	return 0;
}

int nvmlDeviceGetBAR1MemoryInfo(void *dev, struct nvml_memory *m)
{
	if (dev != &dev_06)
		return 2;
	m->total = 256ULL << 30;
	m->used = 1ULL << 20;
	m->free = m->total - m->used;
	return 0;
}

const char *nvmlErrorString(int r)
{
	switch (r) {
	case 0: return "Success";
	case 1: return "Uninitialized";
	case 2: return "Invalid Argument";
	case 6: return "Not Found";
	default: return "Unknown Error";
	}
}
