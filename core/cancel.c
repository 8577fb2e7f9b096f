/*
 * omv_cancel: the user's request to stop, shared by the thread that asks
 * (often a signal handler) and every thread that runs. A C11 atomic, so
 * worker threads read it without a data race; lock-free, so a signal handler
 * may set it.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "omv_cancel_request() must be async-signal-safe: atomic_int lock-free");

struct omv_cancel {
    atomic_int requested;
};

omv_cancel *omv_cancel_new(void)
{
    omv_cancel *c = malloc(sizeof *c);
    if (c)
        atomic_init(&c->requested, 0);
    return c;
}

void omv_cancel_free(omv_cancel *c)
{
    free(c);
}

void omv_cancel_request(omv_cancel *c)
{
    if (c)
        atomic_store(&c->requested, 1);
}

int omv_cancel_requested(const omv_cancel *c)
{
    return c ? atomic_load((atomic_int *)&c->requested) != 0 : 0;
}

int omvi_cancelled(const omv_cancel *c)
{
    return omv_cancel_requested(c);
}
