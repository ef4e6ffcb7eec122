/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "host.h"
#include "macro.h"
#include "pci.h"
#include "plan-json.h"

static const char *res_name(int rt) { return rt == HOMI_VM_RT_VI ? "vi" : "vq"; }

json_t *homi_step_to_json(const struct homi_step *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string(homi_op_name(s->op)));
	json_object_set_new(o, "pf", json_string(s->pf));
	switch (s->op) {
	case HOMI_OP_DISABLE_VFS:
		break;
	case HOMI_OP_PRIMARY_FLEX:
		json_object_set_new(o, "resource", json_string(res_name(s->resource)));
		json_object_set_new(o, "count", json_integer(s->count));
		break;
	case HOMI_OP_RESET_PF:
		break;
	case HOMI_OP_SET_AUTOPROBE:
		json_object_set_new(o, "value", json_integer(s->value));
		break;
	case HOMI_OP_ENABLE_VFS:
		json_object_set_new(o, "count", json_integer(s->count));
		break;
	case HOMI_OP_SECONDARY_OFFLINE:
	case HOMI_OP_SECONDARY_ONLINE:
		json_object_set_new(o, "cntlid", json_integer(s->cntlid));
		break;
	case HOMI_OP_ASSIGN:
		json_object_set_new(o, "cntlid", json_integer(s->cntlid));
		json_object_set_new(o, "resource", json_string(res_name(s->resource)));
		json_object_set_new(o, "count", json_integer(s->count));
		break;
	case HOMI_OP_ATTACH_NS:
	case HOMI_OP_DETACH_NS:
		json_object_set_new(o, "nsid", json_integer(s->nsid));
		json_object_set_new(o, "cntlid", json_integer(s->cntlid));
		break;
	case HOMI_OP_BIND:
		json_object_set_new(o, "vf-pci", json_string(s->vf_pci));
		json_object_set_new(o, "driver", json_string(s->driver));
		break;
	case HOMI_OP_UNBIND:
		json_object_set_new(o, "vf-pci", json_string(s->vf_pci));
		json_object_set_new(o, "driver", json_string(s->driver)); /* extension: the driver it leaves */
		break;
	case HOMI_OP_SET_VFIO_OWNER:
		json_object_set_new(o, "vf-pci", json_string(s->vf_pci));
		json_object_set_new(o, "owner", s->owner[0] ? json_string(s->owner) : json_null());
		json_object_set_new(o, "group", s->group[0] ? json_string(s->group) : json_null());
		if (s->mode >= 0) {
			char m[16];
			snprintf(m, sizeof(m), "%04o", (unsigned)s->mode & 07777u);
			json_object_set_new(o, "mode", json_string(m));
		} else {
			json_object_set_new(o, "mode", json_null());
		}
		json_object_set_new(o, "uid", s->uid == (uid_t)-1 ? json_null() : json_integer(s->uid));
		json_object_set_new(o, "gid", s->gid == (gid_t)-1 ? json_null() : json_integer(s->gid));
		break;
	default:
		break;
	}
	if (s->vf)
		json_object_set_new(o, "vf", json_integer(s->vf));
	return o;
}

static int get_int(const json_t *j, const char *key, int *ret)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v))
		return -EINVAL;
	*ret = (int)json_integer_value(v);
	return 0;
}

static int get_str(const json_t *j, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(j, key);
	if (json_is_null(v) || !v) {
		buf[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return -EINVAL;
	memcpy(buf, json_string_value(v), strlen(json_string_value(v)) + 1);
	return 0;
}

static bool canonical_addr(const char *s)
{
	char canon[HOMI_ADDR_LEN];
	return homi_pci_parse_addr(s, canon) == 0 && streq(canon, s);
}

/* A driver's name as sysfs shows it ("", "nvme", "vfio-pci", "pci-stub"). */
static bool plain_name(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

int homi_step_from_json(const json_t *j, struct homi_step *ret)
{
	struct homi_step s = { .mode = -1, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	const char *op = json_string_value(json_object_get(j, "op"));
	char res[8] = "", mode[8] = "";
	int v, r = 0;

	if (!op || (v = homi_op_from_name(op)) < 0)
		return -EINVAL;
	s.op = (enum homi_op)v;
	r |= get_str(j, "pf", s.pf, sizeof(s.pf));
	r |= get_str(j, "vf-pci", s.vf_pci, sizeof(s.vf_pci));
	r |= get_str(j, "driver", s.driver, sizeof(s.driver));
	r |= get_str(j, "owner", s.owner, sizeof(s.owner));
	r |= get_str(j, "group", s.group, sizeof(s.group));
	r |= get_str(j, "resource", res, sizeof(res));
	r |= get_str(j, "mode", mode, sizeof(mode));
	if (r)
		return -EINVAL;
	s.resource = streq(res, "vi") ? HOMI_VM_RT_VI : HOMI_VM_RT_VQ;
	if (mode[0])
		s.mode = (int)strtol(mode, NULL, 8);
	if (get_int(j, "count", &v) == 0)
		s.count = v;
	if (get_int(j, "value", &v) == 0)
		s.value = v;
	if (get_int(j, "cntlid", &v) == 0)
		s.cntlid = (uint16_t)v;
	if (get_int(j, "nsid", &v) == 0)
		s.nsid = (uint32_t)v;
	if (get_int(j, "vf", &v) == 0)
		s.vf = (unsigned)v;
	if (get_int(j, "uid", &v) == 0)
		s.uid = (uid_t)v;
	if (get_int(j, "gid", &v) == 0)
		s.gid = (gid_t)v;
	if (!s.pf[0])
		return -EINVAL;
	/* A journal drives writes as root at the next start: a step names
	 * functions by canonical address and drivers by plain names, never a
	 * path ("../../"), whatever the file says. */
	if (!canonical_addr(s.pf) || (s.vf_pci[0] && !canonical_addr(s.vf_pci)) || !plain_name(s.driver))
		return -EINVAL;
	*ret = s;
	return 0;
}

json_t *homi_plan_to_json(const struct homi_plan *p)
{
	json_t *o = json_object(), *steps = json_array(), *notes = json_array();

	json_object_set_new(o, "homi-plan", json_integer(1));
	for (size_t i = 0; i < p->n_steps; i++)
		json_array_append_new(steps, homi_step_to_json(&p->steps[i]));
	json_object_set_new(o, "steps", steps);
	for (size_t i = 0; i < p->n_notes; i++)
		json_array_append_new(notes, json_string(p->notes[i]));
	json_object_set_new(o, "notes", notes);
	return o;
}
