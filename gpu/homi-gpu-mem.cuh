/* SPDX-License-Identifier: MIT */
/* Memory operations of the device-side queue engine, with the scope and
 * ordering each needs (PTX ISA memory consistency model):
 *   - the doorbell write: st.mmio.relaxed.sys (never merged or split, the
 *     same instruction BaM uses for NVMe doorbells); define
 *     HOMI_GPU_DB_VOLATILE for a plain volatile store instead;
 *   - the fence before a doorbell that covers SQEs written by other
 *     threads: fence.sc.sys (__threadfence_system); defining
 *     HOMI_GPU_NO_SYSTEM_FENCE removes it, for the fence test only;
 *   - CQE polling: ld.relaxed.sys, then one ld.acquire.sys of the word that
 *     matched, so that data the controller wrote before the CQE is visible;
 *   - the loopback responder: acquire/relaxed at gpu scope, which bypass a
 *     stale L1.
 * The GPU never loads from a doorbell. */
#pragma once

#include <stdint.h>

__device__ __forceinline__ uint32_t homi_ld_relaxed_sys(const uint32_t *p)
{
	uint32_t v;
	asm volatile("ld.relaxed.sys.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ uint32_t homi_ld_acquire_sys(const uint32_t *p)
{
	uint32_t v;
	asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ uint32_t homi_ld_acquire_gpu(const uint32_t *p)
{
	uint32_t v;
	asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ uint4 homi_ld_relaxed_gpu_v4(const void *p)
{
	uint4 v;
	asm volatile("ld.relaxed.gpu.global.v4.u32 {%0,%1,%2,%3}, [%4];"
		     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
		     : "l"(p)
		     : "memory");
	return v;
}

/* A load that never hits a stale L1 line: for data the controller wrote. */
__device__ __forceinline__ uint4 homi_ld_volatile_v4(const void *p)
{
	uint4 v;
	asm volatile("ld.volatile.global.v4.u32 {%0,%1,%2,%3}, [%4];"
		     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
		     : "l"(p)
		     : "memory");
	return v;
}

__device__ __forceinline__ void homi_st_relaxed_gpu_v4(void *p, uint4 v)
{
	asm volatile("st.relaxed.gpu.global.v4.u32 [%0], {%1,%2,%3,%4};" ::"l"(p), "r"(v.x), "r"(v.y), "r"(v.z),
		     "r"(v.w)
		     : "memory");
}

__device__ __forceinline__ void homi_db_write(uint32_t *db, uint32_t v)
{
#ifdef HOMI_GPU_DB_VOLATILE
	*(volatile uint32_t *)db = v;
#else
	asm volatile("st.mmio.relaxed.sys.global.u32 [%0], %1;" ::"l"(db), "r"(v) : "memory");
#endif
}

/* Before the SQ doorbell: every SQE of the batch, written by any thread of
 * the group, must reach the controller's view before the new tail does. */
__device__ __forceinline__ void homi_fence_submit(void)
{
#ifndef HOMI_GPU_NO_SYSTEM_FENCE
	__threadfence_system();
#endif
}
