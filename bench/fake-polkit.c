/* SPDX-License-Identifier: MIT */
#include "fake-polkit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>

#include <signal.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "util.h"

typedef struct FakePolkit {
	sd_bus *bus;
	sd_event *event;
	uint64_t delay_usec;
	unsigned asked; /* CheckAuthorization calls received */
} FakePolkit;

static int answer_now(sd_event_source *s, uint64_t usec, void *userdata)
{
	sd_bus_message *call = userdata;

	/* (is_authorized, is_challenge, details); a failed reply shows as vfiod's timeout. */
	(void)sd_bus_reply_method_return(call, "(bba{ss})", 1, 0, 0);
	sd_bus_message_unref(call);
	sd_event_source_disable_unref(s);
	return 0;
}

static int method_check_authorization(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
	FakePolkit *p = userdata;
	int r;

	p->asked++;
	/* The source frees itself and the message when it fires. */
	r = sd_event_add_time_relative(p->event, NULL, CLOCK_MONOTONIC, p->delay_usec, 0,
				       answer_now, sd_bus_message_ref(call));
	if (r < 0) {
		sd_bus_message_unref(call);
		return r;
	}
	return 1;
}

static int method_cancel(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(call, NULL);
}

static const sd_bus_vtable authority_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization,
		  0),
    SD_BUS_METHOD("CancelCheckAuthorization", "s", NULL, method_cancel, 0),
    SD_BUS_VTABLE_END,
};

static int fake_polkit_start(FakePolkit *p, sd_event *event, const char *address,
			     uint64_t delay_usec)
{
	sd_bus *bus = NULL;
	int r;

	*p = (FakePolkit){.event = event, .delay_usec = delay_usec};
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
					     "org.freedesktop.PolicyKit1.Authority",
					     authority_vtable, p);
	if (r >= 0)
		r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
	if (r >= 0)
		r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0) {
		sd_bus_flush_close_unref(bus);
		return r;
	}
	p->bus = bus;
	return 0;
}

static int serve(const char *address, uint64_t delay_usec, int ready_fd)
{
	FakePolkit p;
	sd_event *event = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	r = sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? negative_errno() : sd_event_new(&event);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = fake_polkit_start(&p, event, address, delay_usec);
	if (r < 0) {
		fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
		return 1;
	}
	if (write(ready_fd, "", 1) != 1)
		return 1;
	close(ready_fd);
	r = sd_event_loop(event);
	fprintf(stderr, "fake-polkit: asked %u time(s)\n", p.asked);
	sd_bus_flush_close_unref(p.bus);
	sd_event_unref(event);
	return r < 0 ? 1 : 0;
}

pid_t fake_polkit_spawn(const char *address, uint64_t delay_usec)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		pid = negative_errno();
		close(fds[0]);
		close(fds[1]);
		return pid;
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(serve(address, delay_usec, fds[1]));
	}
	close(fds[1]);
	/* EOF without a byte: the child failed. */
	if (read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ECHILD;
	}
	close(fds[0]);
	return pid;
}
