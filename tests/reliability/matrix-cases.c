/* SPDX-License-Identifier: MIT */
/* The machines and starting states of the fault matrix. */
#include "config.h"

#include "macro.h"
#include "matrix.h"

const char *matrix_start_name(enum matrix_start s)
{
	static const char *const names[] = {
		[START_FRESH] = "fresh",
		[START_PRIMARY_HOLDS] = "primary holds resources",
		[START_TEARDOWN] = "teardown",
		[START_CONTROLLER_RESET] = "drift: controller reset",
		[START_UNBOUND] = "drift: VFs unbound",
		[START_FOREIGN_NS] = "drift: foreign namespace",
	};
	return s < _START_MAX ? names[s] : "?";
}

void matrix_config(const char *name, struct homi_sim_config *c, enum matrix_start s)
{
	if (streq(name, "server"))
		homi_sim_config_server(c);
	else
		homi_sim_config_testbed(c);
	if (s != START_PRIMARY_HOLDS)
		return;
	for (size_t i = 0; i < c->n_pfs; i++) {
		/* the primary keeps most of the pool: the VFs need some back,
		 * which takes a PF function-level reset */
		c->pfs[i].vqrfap = (uint16_t)(c->pfs[i].vqfrt - 2);
		c->pfs[i].virfap = (uint16_t)(c->pfs[i].vifrt - 2);
	}
}
