/* SPDX-License-Identifier: MIT */
/*
 * hold-device DEVICE: claims a device and holds it in an event loop of its
 * own until vfiod asks for it back (or the claim ends, or Ctrl-C), then
 * releases it. The example of libvfioc(3): keep the two in step.
 */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <vfioc.h>

static volatile sig_atomic_t interrupted;
static bool done;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void on_event(struct vfioc_client *client, const struct vfioc_event *e, void *userdata)
{
	struct vfioc_claim **claim = userdata;

	(void)client;
	switch (e->type) {
	case VFIOC_EVENT_REVOKED:
		/* Asked to give it back: stop using the fds, then release. Calling the
		 * library from here is allowed (except vfioc_client_dispatch()). */
		printf("revoked: %s (%s)\n", e->device, e->reason);
		vfioc_claim_release(*claim);
		*claim = NULL;
		done = true;
		break;
	case VFIOC_EVENT_CLAIM_ENDED:
		printf("claim ended: %s\n", e->reason);
		vfioc_claim_free(*claim);
		*claim = NULL;
		done = true;
		break;
	case VFIOC_EVENT_DEVICE_GONE:
		printf("device gone: %s\n", e->device);
		break;
	case VFIOC_EVENT_LOST:
		printf("%u events lost\n", e->n_lost);
		break;
	}
}

int main(int argc, char **argv)
{
	struct vfioc_client *client = NULL;
	struct vfioc_claim *claim = NULL;
	int r;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: %s DEVICE: claim DEVICE from vfiod and hold it until revoked\n",
			argv[0]);
		return argc == 2 ? 0 : 2;
	}
	signal(SIGINT, on_sigint);

	r = vfioc_connect(NULL, &client);
	if (r < 0) {
		fprintf(stderr, "connect: %s\n", strerror(-r));
		return 1;
	}
	/* Before claiming, so no event is missed. */
	r = vfioc_client_set_event_fn(client, on_event, &claim);
	if (r >= 0)
		r = vfioc_claim(client, (const char *[]){argv[1]}, 1, NULL, &claim);
	if (r < 0) {
		fprintf(stderr, "%s\n", vfioc_client_last_error(client));
		vfioc_client_free(client);
		return 1;
	}
	printf("holding %s (device fd %d)\n", argv[1], vfioc_claim_device_fd(claim, argv[1]));
	fflush(stdout);

	/* The program's own loop: here just poll(), with whatever else it watches. */
	struct pollfd p = {.fd = vfioc_client_get_fd(client), .events = POLLIN};
	while (!done && !interrupted) {
		if (poll(&p, 1, -1) < 0)
			continue; /* EINTR: look at the flags again */
		r = vfioc_client_dispatch(client, 0);
		if (r < 0) {
			fprintf(stderr, "vfiod went away: %s\n", strerror(-r));
			break;
		}
	}

	r = claim ? vfioc_claim_release(claim) : 0;
	vfioc_client_free(client);
	return r < 0 ? 1 : 0;
}
