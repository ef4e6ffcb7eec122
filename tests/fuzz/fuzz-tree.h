/* SPDX-License-Identifier: MIT */
/* A small sysfs tree from fuzz input, for the sysfs harness. One command a
 * line (at most 256 lines, each at most 4 KiB), fields separated by one
 * space; VALUE is the rest of the line with \n, \t, \\ and \xHH escapes:
 *
 *   dev ADDR PATH             devices/PATH/ADDR, and bus/pci/devices/ADDR
 *                             linking to it (PATH like pci0000:00/0000:00:01.0)
 *   attr ADDR NAME VALUE      file NAME (may contain '/') in ADDR's directory
 *   link ADDR NAME TARGET     symbolic link NAME in ADDR's directory
 *   fifo ADDR NAME            a named pipe
 *   dir ADDR NAME             a directory
 *   file REL VALUE            a file anywhere below the root
 *   ln REL TARGET             a link anywhere below the root
 *
 * ADDR, PATH, NAME and REL never leave the tree: "..", "." and empty
 * components are refused, and nothing is created through a link (every
 * component is opened O_NOFOLLOW). Link targets are text the reader must
 * resolve inside the tree. The root is a fresh directory below /dev/shm (or
 * $TMPDIR), made empty for each input; bus/pci/devices and devices/ always
 * exist. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Builds the tree of DATA; returns its root (static storage) or NULL. */
const char *fuzz_tree_build(const uint8_t *data, size_t size);
