/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for polkitd on a private bus: owns org.freedesktop.PolicyKit1
 * and answers every CheckAuthorization with "authorized", but only after a
 * delay - what a user typing a password into an authentication agent looks
 * like to vfiod. For the concurrency benchmark only.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/*
 * Forks a process that connects to the bus at address, takes the name and
 * serves until SIGTERM (then prints how often it was asked on stderr).
 * Returns its pid once the name is taken, or a negative errno.
 */
pid_t fake_polkit_spawn(const char *address, uint64_t delay_usec);
