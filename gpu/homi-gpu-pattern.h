/* SPDX-License-Identifier: MIT */
/* The data pattern of the device tests and of homi-gpu-verify: 32-bit word
 * W (0..1023) of LBA L under SEED, for LBAs of up to 4 KiB. The same
 * function on the host (to write or check a PF's view of a namespace) and
 * on the GPU. */
#pragma once

#include <stdint.h>

#if defined(__CUDACC__)
#define HOMI_PAT_HD __host__ __device__ __forceinline__
#else
#define HOMI_PAT_HD static inline
#endif

HOMI_PAT_HD uint32_t homi_gpu_pattern(uint64_t lba, uint32_t word, uint32_t seed)
{
	uint64_t x = (lba << 10 | word) * 0x9e3779b97f4a7c15ull ^ seed;
	x ^= x >> 29;
	return (uint32_t)(x * 0xbf58476d1ce4e5b9ull >> 32);
}
