/* SPDX-License-Identifier: MIT */
/**
 * @file ioctl_get.c
 *
 * The table's row that every kind shares: DIPC_IOC_GET, the semget, msgget
 * and shmget of the shim.  The caller's node resolves the key itself
 * (op_get in objects.c: the referee, then the owner), so the op is started
 * there rather than routed by id.
 */
#include "ioctl_table.h"

static int get_decode(dipc_ioc_call *call, dipc_op **ret_op)
{
	const struct dipc_ioc_get *g = call->in;
	dipc_op *op = ioc_op_new(call, OP_GET);

	op->get.kind = g->kind;
	op->get.key = g->key;
	op->get.flags = g->flags;
	op->get.size = g->size;
	*ret_op = op;
	return 0;
}

const dipc_ioc_row dipc_ioc_get_rows[] = {
	{ IOC_EXACT(DIPC_IOC_GET, struct dipc_ioc_get),
	  .decode = get_decode, .done = ioc_done_plain, .start = op_get },
};
const size_t dipc_ioc_get_nrows = G_N_ELEMENTS(dipc_ioc_get_rows);
