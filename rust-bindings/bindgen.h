/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What rmpage's module-local bindgen run reads: the headers that
 * kernel::bindings lacks, and our C helpers. See rust-bindings/Kbuild.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/buffer_head.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include "helpers.h"
