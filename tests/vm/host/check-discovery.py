#!/usr/bin/env python3
"""Host side of the VM scenario "discovery".

Compares, for the phases "before" (no VFs) and "after" (the nvme-cli
sequence of docs/testbed.md with 3 VFs), what homictl printed in the guest
(`homictl -j topology`, `homictl -j device show PF`) with what sysfs said
(vm_sysfs_dump) and what nvme-cli said (primary-ctrl-caps, list-secondary).
Usage: check-discovery.py DIR (the files the guest exported). Exit 1 on any
difference, listing every one.
"""
import json
import os
import re
import sys

PF = "0000:01:00.0"
PCI_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
DEVICE_KEYS = ["pci", "kind", "parent", "host-bridge", "numa-node", "driver",
               "iommu-group", "vendor", "device", "class", "link"]

errors = []


def err(phase, subject, msg):
    errors.append(f"{phase}: {subject}: {msg}")


def diff(got, want, where=""):
    """The first few differences between two JSON values, as text."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for k in list(want) + [k for k in got if k not in want]:
            if k not in got:
                out.append(f"{where}.{k} missing")
            elif k not in want:
                out.append(f"{where}.{k} unexpected")
            else:
                out += diff(got[k], want[k], f"{where}.{k}")
        return out
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in diff(g, w, f"{where}[{i}]")]
    return [] if got == want else [f"{where or 'value'}: {got!r}, expected {want!r}"]


def expect(phase, subject, what, got, want):
    if got != want:
        if isinstance(got, (dict, list)) and isinstance(want, (dict, list)):
            err(phase, subject, f"{what}: homictl differs: " + "; ".join(diff(got, want)[:6]))
        else:
            err(phase, subject, f"{what}: homictl says {got!r}, expected {want!r}")


def load_json(d, name):
    path = os.path.join(d, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"check-discovery: {path}: {e}")


def load_sysfs(d, name):
    """Parse "<pci> <key>=<value>" lines into {pci: {key: value}}."""
    facts = {}
    with open(os.path.join(d, name)) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            pci, _, kv = line.partition(" ")
            key, _, value = kv.partition("=")
            dev = facts.setdefault(pci, {"virtfn": {}, "nvme.nsid": []})
            if key.startswith("virtfn"):
                dev["virtfn"][int(key[6:])] = value
            elif key == "nvme.nsid":
                dev["nvme.nsid"].append(int(value))
            else:
                dev[key] = value
    return facts


def expected_kind(s):
    cls = s["class"]
    if cls == "0x010802":
        if "physfn" in s:
            return "nvme-vf"
        if "sriov_totalvfs" in s:
            return "nvme-pf"
        return "nvme"
    if cls.startswith("0x0604"):
        return "bridge"
    return "other"


def vf_list(s):
    return [s["virtfn"][i] for i in sorted(s["virtfn"])]


def check_device(phase, d, s, sysfs):
    pci = d.get("pci")
    for k in DEVICE_KEYS:
        if k not in d:
            err(phase, pci, f"key {k!r} missing")
    path = s["path"].split("/")
    expect(phase, pci, "host-bridge", d.get("host-bridge"), path[3])
    parent = path[-2] if PCI_RE.match(path[-2]) else None
    expect(phase, pci, "parent", d.get("parent"), parent)
    for k in ("vendor", "device", "class"):
        expect(phase, pci, k, d.get(k), s[k])
    expect(phase, pci, "driver", d.get("driver"), s.get("driver"))
    expect(phase, pci, "iommu-group", d.get("iommu-group"), int(s["iommu_group"]))
    numa = int(s["numa_node"])
    expect(phase, pci, "numa-node", d.get("numa-node"), None if numa < 0 else numa)
    expect(phase, pci, "kind", d.get("kind"), expected_kind(s))
    link = d.get("link")
    if link is not None:
        expect(phase, pci, "link.speed", link.get("speed"), s.get("current_link_speed"))
        expect(phase, pci, "link.width", link.get("width"), int(s.get("current_link_width", "-1")))
    elif "current_link_speed" in s and "Unknown" not in s["current_link_speed"] \
            and s.get("current_link_width", "0") != "0":
        err(phase, pci, f"link is null but sysfs says {s['current_link_speed']} x{s['current_link_width']}")

    kind = expected_kind(s)
    if kind == "nvme-pf":
        want = {"total-vfs": int(s["sriov_totalvfs"]), "num-vfs": int(s["sriov_numvfs"]),
                "vf-offset": int(s["sriov_offset"]), "vf-stride": int(s["sriov_stride"]),
                "drivers-autoprobe": int(s["sriov_drivers_autoprobe"])}
        expect(phase, pci, "sriov", d.get("sriov"), want)
        expect(phase, pci, "vfs", d.get("vfs"), vf_list(s))
    if kind == "nvme-vf":
        pf = s["physfn"]
        expect(phase, pci, "pf", d.get("pf"), pf)
        vfs = vf_list(sysfs[pf])
        expect(phase, pci, "vf", d.get("vf"), vfs.index(pci) + 1 if pci in vfs else None)
    if "nvme.name" in s:
        # sysfs pads model/serial/firmware with spaces (Identify fields);
        # homictl reports them trimmed.
        want = {"name": s["nvme.name"], "model": s["nvme.model"].rstrip(),
                "serial": s["nvme.serial"].rstrip(), "firmware": s["nvme.firmware"].rstrip(),
                "cntlid": int(s["nvme.cntlid"]),
                "namespaces": sorted(set(s["nvme.nsid"]))}
        got = d.get("nvme")
        if not isinstance(got, dict):
            err(phase, pci, f"nvme: homictl says {got!r}, sysfs has controller {s['nvme.name']}")
        else:
            got = {k: got.get(k) for k in want}
            if isinstance(got.get("namespaces"), list):
                got["namespaces"] = sorted(got["namespaces"])
            expect(phase, pci, "nvme", got, want)
    elif d.get("nvme") is not None:
        err(phase, pci, f"nvme: homictl says {d['nvme']!r} but nothing is bound to nvme")


def check_phase(d, phase):
    topo = load_json(d, f"{phase}-topology.json")
    dev = load_json(d, f"{phase}-device.json")
    short = load_json(d, f"{phase}-device-short.json")
    caps = load_json(d, f"{phase}-caps.json")
    sec = load_json(d, f"{phase}-secondary.json")
    sysfs = load_sysfs(d, f"{phase}-sysfs.txt")

    # The document and its first key.
    if next(iter(topo), None) != "homi-topology" or topo["homi-topology"] != 1:
        err(phase, "topology", "first key is not \"homi-topology\": 1")
    devices = topo.get("devices", [])
    seen = [x.get("pci") for x in devices]
    if len(seen) != len(set(seen)):
        err(phase, "topology", "a PCI function is listed twice")
    if set(seen) != set(sysfs):
        err(phase, "topology", f"functions differ from sysfs: only homictl {sorted(set(seen) - set(sysfs))}, "
            f"only sysfs {sorted(set(sysfs) - set(seen))}")
    by_pci = {x.get("pci"): x for x in devices}
    for pci, s in sysfs.items():
        if pci in by_pci:
            check_device(phase, by_pci[pci], s, sysfs)

    # device show PF: the same device object, plus CNS 0x14 and 0x15.
    if next(iter(dev), None) != "homi-device" or dev["homi-device"] != 1:
        err(phase, "device show", "first key is not \"homi-device\": 1")
    expect(phase, "device show", "device", dev.get("device"), by_pci.get(PF))
    expect(phase, "device show 01:00.0", "document", short, dev)
    prim = dev.get("primary") or {}
    for key, field in (("cntlid", "cntlid"),
                       ("vq-flexible-total", "vqfrt"), ("vq-flexible-primary", "vqrfap"),
                       ("vq-private", "vqprt"), ("vq-max-per-vf", "vqfrsm"),
                       ("vi-flexible-total", "vifrt"), ("vi-flexible-primary", "virfap"),
                       ("vi-private", "viprt"), ("vi-max-per-vf", "vifrsm")):
        expect(phase, "primary", key, prim.get(key), caps[field])
    vfs = vf_list(sysfs[PF])
    want = []
    for e in sec["secondary-controllers"]:
        vfn = e["virtual-function-number"]
        want.append({"scid": e["secondary-controller-identifier"], "vf": vfn,
                     "state": "online" if e["secondary-controller-state"] & 1 else "offline",
                     "vq": e["num-virtual-queues"], "vi": e["num-virtual-interrupts"],
                     "pci": vfs[vfn - 1] if 1 <= vfn <= len(vfs) else None})
    got = [{k: x.get(k) for k in ("scid", "vf", "state", "vq", "vi", "pci")}
           for x in dev.get("secondaries") or []]
    if got != want:
        err(phase, "secondaries", "homictl differs from nvme list-secondary + sysfs: "
            + "; ".join(diff(got, want)[:6]))

    # What the provisioning sequence must have produced.
    pf = by_pci.get(PF, {})
    if phase == "before":
        expect(phase, PF, "sriov.num-vfs", (pf.get("sriov") or {}).get("num-vfs"), 0)
        if any(x["state"] != "offline" or x["pci"] is not None for x in got):
            err(phase, "secondaries", "expected all offline without VFs")
    else:
        expect(phase, PF, "sriov.num-vfs", (pf.get("sriov") or {}).get("num-vfs"), 3)
        expect(phase, PF, "sriov.drivers-autoprobe", (pf.get("sriov") or {}).get("drivers-autoprobe"), 0)
        drivers = [by_pci.get(v, {}).get("driver") for v in vfs]
        expect(phase, "VFs", "drivers", drivers, ["vfio-pci", "nvme", None])
        states = [(x["state"], x["vq"], x["vi"]) for x in got[:3]]
        expect(phase, "secondaries", "VF1..3 state/vq/vi", states,
               [("online", 2, 1), ("online", 2, 1), ("offline", 0, 0)])
        vf2 = by_pci.get(vfs[1], {}) if len(vfs) > 1 else {}
        scid2 = got[1]["scid"] if len(got) > 1 else None
        expect(phase, vfs[1] if len(vfs) > 1 else "VF2", "nvme.cntlid",
               (vf2.get("nvme") or {}).get("cntlid"), scid2)
    return len(devices)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-discovery.py DIR")
    counts = [check_phase(sys.argv[1], p) for p in ("before", "after")]
    for e in errors:
        print("FAIL " + e)
    if errors:
        print(f"check-discovery: {len(errors)} difference(s)")
        return 1
    print(f"check-discovery: homictl agrees with sysfs and nvme-cli "
          f"({counts[0]} functions before, {counts[1]} after provisioning)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
