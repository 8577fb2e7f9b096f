#include "legacy_qspi.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

void lqspi_settle(lqspi_chip_t *q, uint64_t now_us)
{
    if (q->erase_pending && now_us >= q->busy_until_us) {
        lflash_erase(q->mem, q->erase_addr, q->erase_len);
        q->erase_pending = false;
    }
}

/* The driver's poll after a command the busy chip ignored: it waits for the
 * running operation, at most poll_us. */
static lqspi_op_t ignored(lqspi_chip_t *q, uint64_t now_us, uint64_t poll_us)
{
    lqspi_op_t op = {.wait_us = min_u64(q->busy_until_us - now_us, poll_us), .dropped = true};
    lqspi_settle(q, now_us + op.wait_us);
    return op;
}

lqspi_op_t lqspi_erase(lqspi_chip_t *q, uint32_t addr, uint32_t len, uint64_t erase_us, uint64_t now_us)
{
    lqspi_settle(q, now_us);
    if (now_us < q->busy_until_us)
        return ignored(q, now_us, LQSPI_ERASE_POLL_US);
    q->erase_pending = true;
    q->erase_addr = addr;
    q->erase_len = len;
    q->busy_until_us = now_us + erase_us;
    lqspi_op_t op = {.wait_us = min_u64(erase_us, LQSPI_ERASE_POLL_US), .dropped = false};
    lqspi_settle(q, now_us + op.wait_us);
    return op;
}

lqspi_op_t lqspi_program(lqspi_chip_t *q, uint32_t addr, const uint8_t *data, uint32_t len,
                         uint64_t program_us, uint64_t now_us, size_t *unerased)
{
    *unerased = 0;
    lqspi_settle(q, now_us);
    if (now_us < q->busy_until_us)
        return ignored(q, now_us, LQSPI_CMD_POLL_US);
    *unerased = lflash_program(q->mem, addr, data, len);
    q->busy_until_us = now_us + program_us;
    lqspi_op_t op = {.wait_us = program_us, .dropped = false};
    return op;
}

bool lqspi_app_reset(lqspi_chip_t *q, uint64_t now_us)
{
    lqspi_settle(q, now_us);
    bool cut = q->erase_pending;
    q->erase_pending = false;
    q->busy_until_us = 0;
    return cut;
}
