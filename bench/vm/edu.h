/* SPDX-License-Identifier: MIT */
/* QEMU's edu device (docs/specs/edu.rst): the BAR0 registers the benchmarks use. */
#pragma once

#include <stdint.h>

#define EDU_BAR0_SIZE  (1u << 20)
#define EDU_ID	       0x00 /* reads 0x010000ed */
#define EDU_LIVENESS   0x04 /* reads back the bitwise inverse of what was written */
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE  0x60 /* sets the written bits in IRQ status and raises the IRQ */
#define EDU_IRQ_ACK    0x64 /* clears the written bits; lowers INTx when none is left */

static inline uint32_t edu_read(volatile void *bar0, unsigned off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)bar0 + off);
}

static inline void edu_write(volatile void *bar0, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)((volatile uint8_t *)bar0 + off) = v;
}
