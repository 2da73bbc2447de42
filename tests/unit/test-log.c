/* SPDX-License-Identifier: MIT */
/* A log line reaches stderr whole, in one write(2): <level>message, and %m is the error. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "tap.h"

/* stderr as a SOCK_SEQPACKET socket: every write(2) arrives as one packet. */
static void check_line(int sock, const char *expected)
{
	char buf[256];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	CHECK_STREQ(buf, expected);
}

int main(void)
{
	int pair[2], saved;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
	saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	CHECK(saved >= 0 && dup2(pair[0], STDERR_FILENO) == STDERR_FILENO);

	log_set_max_level(LOG_INFO);
	log_info("claim %d of %s", 3, "0000:00:02.0");
	check_line(pair[1], "<6>claim 3 of 0000:00:02.0\n");
	CHECK(log_error_errno(-ENOENT, "cannot open %s: %m", "x") == -ENOENT);
	check_line(pair[1], "<3>cannot open x: No such file or directory\n");
	log_debug("not shown");
	check_line(pair[1], "");

	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pair[0]);
	close(pair[1]);
	return test_exit();
}
